"""connect, listen, serve, wrap_ssl: the few lines every green server or client starts with."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from greenlet import GreenletExit

from runtime.green import socket
from runtime.greenpool import GreenPool
from runtime.greenthread import GreenThread, getcurrent, kill

__all__ = ["StopServe", "connect", "listen", "serve", "wrap_ssl"]


def connect(addr: Any, family: int = socket.AF_INET, bind: Any = None) -> socket.socket:
    """A green TCP socket connected to `addr` (bound to `bind` first, if given)."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if bind is not None:
            sock.bind(bind)
        sock.connect(addr)
    except BaseException:
        sock.close()
        raise
    return sock


def listen(
    addr: Any,
    family: int = socket.AF_INET,
    backlog: int = 50,
    reuse_addr: bool = True,
    reuse_port: bool | None = None,
) -> socket.socket:
    """A green socket listening on `addr`; SO_REUSEADDR by default (not on Windows),
    SO_REUSEPORT when `reuse_port` is true."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if reuse_addr and sys.platform != "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(addr)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


class StopServe(Exception):
    """Raise it in a handler to end `serve` quietly."""


def serve(sock: socket.socket, handle: Callable[[socket.socket, Any], Any], concurrency: int = 1000) -> None:
    """Accept connections on `sock` forever, running ``handle(conn, addr)`` for each in a
    GreenPool of `concurrency` (accepting waits while the pool is full).

    A handler that raises stops the server: `serve` raises that exception. A handler
    that raises `StopServe` ends `serve` quietly.
    """
    pool = GreenPool(concurrency, name=f"serve {sock.getsockname()}")
    server = getcurrent()
    serving = True

    def stop_on_error(gt: GreenThread) -> None:
        nonlocal serving
        try:
            gt.wait()
        except GreenletExit:
            pass  # killed from outside: not the handler's failure
        except BaseException as e:
            if serving:  # once serve() has ended, its caller has moved on: leave it alone
                serving = False
                kill(server, e)

    try:
        while True:
            conn, addr = sock.accept()
            pool.spawn(handle, conn, addr).link(stop_on_error)
    except StopServe:
        return
    finally:
        serving = False


def wrap_ssl(sock: socket.socket, *args: Any, **kwargs: Any) -> Any:
    """`runtime.green.ssl.wrap_socket` (a green SSL socket); imported on first use."""
    from runtime.green import ssl

    return ssl.wrap_socket(sock, *args, **kwargs)

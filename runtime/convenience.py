"""connect, listen, serve, wrap_ssl: the few lines every green server or client starts with; and
`accept_into`, the one accept loop under `serve` and `runtime.wsgi.server`."""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable
from functools import partial
from typing import Any

from greenlet import GreenletExit

from runtime.green import socket
from runtime.greenpool import GreenPool
from runtime.greenthread import GreenThread, getcurrent, kill, sleep
from runtime.hubs import IOClosed

__all__ = ["StopServe", "accept_into", "connect", "listen", "serve", "wrap_ssl"]

_LISTENER_GONE = {errno.EBADF, errno.EINVAL, errno.ENOTSOCK}
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_ACCEPT_RETRY_SECONDS = 0.1  # after running out of file descriptors or memory


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
    """A green socket listening on `addr`; SO_REUSEADDR by default (not on Windows), and, as eventlet's,
    SO_REUSEPORT on a TCP port given (not 0: a port the system picks is never meant to be shared) unless
    `reuse_port` is False."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if reuse_addr and sys.platform != "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port is None:
            reuse_port = family in (socket.AF_INET, socket.AF_INET6) and addr[1] != 0
        if reuse_port and hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(addr)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


class StopServe(Exception):
    """Raise it in a handler to end `serve` quietly."""


def _print_error(message: str) -> None:
    print(message, file=sys.stderr)


def accept_into(
    pool: GreenPool,
    sock: socket.socket,
    handle: Callable[[socket.socket, Any], Any],
    link: Callable[[GreenThread], Any] | None = None,
    report: Callable[[str], Any] = _print_error,
) -> None:
    """Accept connections on the listening `sock` until it is closed, running ``handle(conn, addr)``
    for each in `pool` (accepting waits while the pool is full); `link`, if given, is linked to each
    handler's GreenThread.

    A TLS listener's connections are handed over wrapped but before their handshake, which the
    handler's first read or write does: a slow client never holds up the others. A connection lost
    before it was accepted, or a timeout of the listener, is skipped; running out of file descriptors
    or memory is reported (a line to `report`) and accepting goes on 0.1 s later.
    """
    tls = getattr(sock, "context", None) if hasattr(sock, "do_handshake") else None
    accept = sock.accept if tls is None else partial(socket.socket.accept, sock)
    while True:
        try:
            conn, addr = accept()
        except OSError as e:
            if isinstance(e, IOClosed) or sock.fileno() < 0 or e.errno in _LISTENER_GONE:
                return
            if e.errno in _OUT_OF_RESOURCES:
                report(f"accept on {sock.getsockname()} failed ({e}); trying again in {_ACCEPT_RETRY_SECONDS} s")
                sleep(_ACCEPT_RETRY_SECONDS)
            continue
        try:
            if tls is not None:
                conn = tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
            if link is None:
                pool.spawn_n(handle, conn, addr)
            else:
                pool.spawn(handle, conn, addr).link(link)
        except BaseException:
            conn.close()
            raise


def serve(sock: socket.socket, handle: Callable[[socket.socket, Any], Any], concurrency: int = 1000) -> None:
    """Accept connections on `sock` until it is closed, running ``handle(conn, addr)`` for each in a
    GreenPool of `concurrency` (accepting waits while the pool is full); returning from `handle`
    closes the connection.

    A handler that raises stops the server: `serve` raises that exception. A handler
    that raises `StopServe` ends `serve` quietly.
    """
    where = sock.getsockname()  # the pool is named after it: "serve 127.0.0.1:6000" (or a path)
    pool = GreenPool(concurrency, name=f"serve {where[0]}:{where[1]}" if isinstance(where, tuple) else f"serve {where}")
    server = getcurrent()
    serving = True

    def handle_then_close(conn: socket.socket, addr: Any) -> None:
        try:
            handle(conn, addr)
        finally:
            conn.close()

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
        accept_into(pool, sock, handle_then_close, stop_on_error)
    except StopServe:
        return
    finally:
        serving = False


def wrap_ssl(sock: socket.socket, *args: Any, **kwargs: Any) -> Any:
    """`runtime.green.ssl.wrap_socket` (a green SSL socket); imported on first use."""
    from runtime.green import ssl

    return ssl.wrap_socket(sock, *args, **kwargs)

"""A green `ssl` module: TLS over green sockets; a call that would block parks the greenthread.

The green `SSLSocket` is the stdlib's `ssl.SSLSocket` over a green socket (it inherits from
both, in that order), so everything the stdlib does stays as it is; only the calls into
OpenSSL that may want more I/O (handshake, read, write, shutdown) are retried: on
`SSLWantReadError` the greenthread parks until the fd is readable, on `SSLWantWriteError`
until it is writable. A green `SSLContext` makes green sockets from ``wrap_socket``.

    ctx = runtime.green.ssl.create_default_context()
    tls = ctx.wrap_socket(runtime.green.socket.create_connection((host, 443)), server_hostname=host)
"""

from __future__ import annotations

import ssl as _stdlib
from collections.abc import Callable
from ssl import *  # noqa: F403 -- the constants and the rest of the stdlib's API
from typing import Any

from runtime.green import socket as _gsocket

# The stdlib's own functions, taken now: monkey_patch may put ours in their place later.
_stdlib_create_default_context = _stdlib.create_default_context
_stdlib_create_unverified_context = _stdlib._create_unverified_context


class SSLSocket(_stdlib.SSLSocket, _gsocket.socket):
    """The stdlib's SSLSocket over a green socket. Made by `SSLContext.wrap_socket`."""

    def _retry(self, call: Callable[..., Any], *args: Any) -> Any:
        timeout = self.gettimeout()
        while True:
            try:
                return call(*args)
            except _stdlib.SSLWantReadError:
                if timeout == 0.0:
                    raise
                self._wait(False, timeout)
            except _stdlib.SSLWantWriteError:
                if timeout == 0.0:
                    raise
                self._wait(True, timeout)

    def do_handshake(self, block: bool = False) -> None:
        self._check_connected()
        self._retry(self._sslobj.do_handshake)

    def read(self, len: int = 1024, buffer: Any = None) -> Any:
        return self._retry(super().read, len, buffer)

    def write(self, data: Any) -> int:
        return self._retry(super().write, data)

    def send(self, data: Any, flags: int = 0) -> int:
        return self._retry(super().send, data, flags)

    def unwrap(self) -> _gsocket.socket:
        if self._sslobj is None:
            raise ValueError(f"No SSL wrapper around {self}")
        self._retry(self._sslobj.shutdown)
        self._sslobj = None
        return self


class SSLContext(_stdlib.SSLContext):
    """The stdlib's SSLContext, whose `wrap_socket` makes green SSL sockets (from green or
    plain sockets)."""

    sslsocket_class = SSLSocket  # type: ignore[assignment]

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> SSLSocket:  # type: ignore[override]
        if not isinstance(sock, _gsocket.socket):
            sock = _gsocket._green(sock)
        return super().wrap_socket(sock, *args, **kwargs)  # type: ignore[return-value]


def _green_context(ctx: _stdlib.SSLContext) -> SSLContext:
    ctx.__class__ = SSLContext  # same C layout: only wrap_socket changes
    return ctx  # type: ignore[return-value]


def create_default_context(*args: Any, **kwargs: Any) -> SSLContext:
    """`ssl.create_default_context`, green."""
    return _green_context(_stdlib_create_default_context(*args, **kwargs))


def _create_unverified_context(*args: Any, **kwargs: Any) -> SSLContext:
    return _green_context(_stdlib_create_unverified_context(*args, **kwargs))


_create_default_https_context = create_default_context


def wrap_socket(
    sock: Any,
    keyfile: str | None = None,
    certfile: str | None = None,
    server_side: bool = False,
    cert_reqs: int = CERT_NONE,  # noqa: F405
    ssl_version: int | None = None,
    ca_certs: str | None = None,
    do_handshake_on_connect: bool = True,
    suppress_ragged_eofs: bool = True,
    ciphers: str | None = None,
    server_hostname: str | None = None,
) -> SSLSocket:
    """Wrap `sock` in TLS with a context made from these arguments (the old `ssl.wrap_socket`,
    which eventlet's `wrap_ssl` takes)."""
    if ssl_version is None:
        ssl_version = PROTOCOL_TLS_SERVER if server_side else PROTOCOL_TLS_CLIENT  # noqa: F405
    ctx = SSLContext(ssl_version)
    if not server_side:
        ctx.check_hostname = False
    ctx.verify_mode = cert_reqs
    if ca_certs:
        ctx.load_verify_locations(ca_certs)
    if certfile:
        ctx.load_cert_chain(certfile, keyfile)
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx.wrap_socket(
        sock,
        server_side=server_side,
        do_handshake_on_connect=do_handshake_on_connect,
        suppress_ragged_eofs=suppress_ragged_eofs,
        server_hostname=server_hostname,
    )

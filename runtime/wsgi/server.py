"""`server`: a WSGI application served on a listening green socket until the socket is closed."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from runtime.convenience import accept_into
from runtime.event import Event
from runtime.green import socket as gsocket
from runtime.greenpool import GreenPool
from runtime.greenthread import kill
from runtime.timeout import Timeout
from runtime.wsgi.connection import Connection
from runtime.wsgi.dates import log_date
from runtime.wsgi.parse import DEFAULT_LIMITS, Limits

DEFAULT_MAX_SIZE = 1000
DEFAULT_SOCKET_TIMEOUT = 60.0
DEFAULT_SHUTDOWN_TIMEOUT = 10.0
#: Keys: client_ip, client_port, date_time, request_line, status_code, body_length, wall_seconds.
DEFAULT_LOG_FORMAT = (
    '%(client_ip)s - - [%(date_time)s] "%(request_line)s" %(status_code)s %(body_length)s %(wall_seconds).6f'
)
_KILLED_GRACE_SECONDS = 1.0  # after the shutdown timeout, how long killed connections get to end


@dataclass(frozen=True)
class ServerOptions:
    """How `server` serves its connections (its keywords of the same names)."""

    keepalive: bool = True
    socket_timeout: float | None = DEFAULT_SOCKET_TIMEOUT
    limits: Limits = field(default=DEFAULT_LIMITS)
    log_output: bool = True
    log_format: str = DEFAULT_LOG_FORMAT
    shutdown_timeout: float | None = DEFAULT_SHUTDOWN_TIMEOUT


class Server:
    """What every connection of one `server` call shares, and the call's accept loop and stop."""

    def __init__(
        self,
        sock: gsocket.socket,
        app: Callable[..., Iterable[bytes]],
        options: ServerOptions,
        log: TextIO | None,
        environ: dict[str, Any] | None,
        pool: GreenPool,
    ) -> None:
        self.sock = sock
        self.app = app
        self.options = options
        self.limits = options.limits
        self.keepalive = options.keepalive
        self.log_output = options.log_output
        self.log = log if log is not None else sys.stderr
        self.pool = pool
        self.conns: set[Connection] = set()
        self.stopping = False
        self.drained: Event | None = None
        self.tls = hasattr(sock, "do_handshake")
        try:
            name = sock.getsockname()
        except OSError:
            name = ""
        if isinstance(name, tuple):
            server_name, server_port = str(name[0]), str(name[1])
        else:
            server_name, server_port = str(name), ""
        env: dict[str, Any] = {
            "SERVER_SOFTWARE": "greenscope.wsgi",
            "SERVER_NAME": server_name,
            "SERVER_PORT": server_port,
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SCRIPT_NAME": "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https" if self.tls else "http",
            "wsgi.input_terminated": True,
            "wsgi.errors": self.log,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        if environ:
            env.update(environ)
        self.env_base = env

    def access(self, conn: Connection, status: int, length: int, seconds: float) -> None:
        """Write one access log line."""
        line = self.options.log_format % {
            "client_ip": conn.client_ip,
            "client_port": conn.client_port,
            "date_time": log_date(),
            "request_line": conn.request_line,
            "status_code": status,
            "body_length": length,
            "wall_seconds": seconds,
        }
        self._write(line + "\n")

    def log_exception(self, exc: BaseException, where: str) -> None:
        """Write a traceback to the log."""
        self._write(f"{where}:\n{''.join(traceback.format_exception(type(exc), exc, exc.__traceback__))}")

    def _write(self, text: str) -> None:
        try:
            self.log.write(text)
        except Exception:
            pass  # a broken log must not break the server

    def handle(self, sock: gsocket.socket, addr: Any) -> None:
        """A pool member: serve one connection."""
        Connection(self, sock, addr).run()

    def serve_forever(self) -> None:
        """Accept and serve connections until the listener is closed; then stop."""
        try:
            accept_into(self.pool, self.sock, self.handle, report=lambda line: self._write(line + "\n"))
        finally:
            self._stop()

    def _stop(self) -> None:
        # Close idle connections; give the others shutdown_timeout seconds, then kill them.
        self.stopping = True
        for conn in list(self.conns):
            if conn.idle:
                conn.stop_idle()
        if not self.conns:
            return
        self.drained = Event()
        try:
            with Timeout(self.options.shutdown_timeout, False):
                self.drained.wait()
        finally:
            if self.conns:
                for conn in list(self.conns):
                    if conn.glet is not None:
                        kill(conn.glet)
                if self.conns:
                    with Timeout(_KILLED_GRACE_SECONDS, False):
                        self.drained.wait()


def server(
    sock: gsocket.socket,
    site: Callable[..., Iterable[bytes]],
    log: TextIO | None = None,
    environ: dict[str, Any] | None = None,
    max_size: int | None = DEFAULT_MAX_SIZE,
    *,
    custom_pool: GreenPool | None = None,
    keepalive: bool = True,
    socket_timeout: float | None = DEFAULT_SOCKET_TIMEOUT,
    max_header_bytes: int = DEFAULT_LIMITS.max_header_bytes,
    max_body_bytes: int = DEFAULT_LIMITS.max_body_bytes,
    url_length_limit: int = DEFAULT_LIMITS.url_length_limit,
    log_output: bool = True,
    log_format: str = DEFAULT_LOG_FORMAT,
    shutdown_timeout: float | None = DEFAULT_SHUTDOWN_TIMEOUT,
) -> None:
    """Serve the WSGI application `site` on the listening green socket `sock`.

    Returns when `sock` is closed (or raises GreenletExit when this greenthread is killed),
    after the connections ended: idle ones at once, those in the middle of a request within
    `shutdown_timeout` seconds (None: no limit), after which they are killed.

    - `log`: a text file for the access log and tracebacks (default ``sys.stderr``); it is
      also ``wsgi.errors``. `log_output` False turns the access log off; `log_format` is a
      %-format over client_ip, client_port, date_time, request_line, status_code,
      body_length and wall_seconds.
    - `environ`: extra keys for every request's environ.
    - `max_size`: connections served at once (a GreenPool); or pass `custom_pool`.
    - `keepalive`: False closes every connection after one response.
    - `socket_timeout`: seconds a connection may wait for the client (idle between
      requests, or in a read or write) before it is dropped; None waits forever.
    - `max_header_bytes`: request line and headers larger than this get 431;
      `url_length_limit`: a longer request line gets 414.
    - `max_body_bytes`: a request body larger than this gets 413 (a chunked one when
      ``wsgi.input`` reaches the limit: it raises `RequestTooLarge`).
    """
    options = ServerOptions(
        keepalive=keepalive,
        socket_timeout=socket_timeout,
        limits=Limits(max_header_bytes, url_length_limit, max_body_bytes),
        log_output=log_output,
        log_format=log_format,
        shutdown_timeout=shutdown_timeout,
    )
    pool = custom_pool if custom_pool is not None else GreenPool(max_size or DEFAULT_MAX_SIZE)
    Server(sock, site, options, log, environ, pool).serve_forever()

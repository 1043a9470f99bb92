"""`server`: a WSGI application served on a listening green socket until the socket is closed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from runtime.convenience import accept_into
from runtime.event import Event
from runtime.green import socket as gsocket
from runtime.greenpool import GreenPool
from runtime.greenthread import kill
from runtime.timeout import Timeout
from runtime.wsgi.connection import Connection
from runtime.wsgi.log import ServerLog, socket_url
from runtime.wsgi.parse import DEFAULT_LIMITS, Limits
from runtime.wsgi.response import head_style

if TYPE_CHECKING:
    import logging

DEFAULT_MAX_SIZE = 1024
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

    keepalive: bool | float = True
    socket_timeout: float | None = DEFAULT_SOCKET_TIMEOUT
    limits: Limits = field(default=DEFAULT_LIMITS)
    log_output: bool = True
    log_format: str = DEFAULT_LOG_FORMAT
    shutdown_timeout: float | None = DEFAULT_SHUTDOWN_TIMEOUT
    debug: bool = True
    log_x_forwarded_for: bool = True
    max_http_version: str = "HTTP/1.1"
    minimum_chunk_size: int | None = None
    capitalize_response_headers: bool = True

    def __post_init__(self) -> None:
        if self.max_http_version not in ("HTTP/1.0", "HTTP/1.1"):
            raise ValueError(f"max_http_version must be 'HTTP/1.0' or 'HTTP/1.1', not {self.max_http_version!r}")


class Server:
    """What every connection of one `server` call shares, and the call's accept loop and stop."""

    def __init__(
        self,
        sock: gsocket.socket,
        app: Callable[..., Iterable[bytes]],
        options: ServerOptions,
        log: TextIO | logging.Logger | None,
        environ: dict[str, Any] | None,
        pool: GreenPool,
    ) -> None:
        self.sock = sock
        self.app = app
        self.options = options
        self.limits = options.limits
        self.http10_only = options.max_http_version == "HTTP/1.0"
        self.keepalive = bool(options.keepalive) and not self.http10_only
        # a number as `keepalive` (not 0: no keep-alive): how long a connection may wait for its next request
        numeric = self.keepalive and not isinstance(options.keepalive, bool)
        self.keepalive_timeout = float(options.keepalive) if numeric else None
        self.head_style = head_style(options.max_http_version, options.capitalize_response_headers)
        self.log_output = options.log_output
        self.log = ServerLog(log, options.log_format, options.debug, options.log_x_forwarded_for)
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
            "wsgi.errors": self.log.file,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        if self.tls:
            env["HTTPS"] = "on"
        if environ:
            env.update(environ)
        self.env_base = env

    def handle(self, sock: gsocket.socket, addr: Any) -> None:
        """A pool member: serve one connection."""
        Connection(self, sock, addr).run()

    def serve_forever(self) -> None:
        """Accept and serve connections until the listener is closed (or Ctrl-C); then stop."""
        log = self.log
        if self.log_output:
            log.info(f"({log.pid}) wsgi starting up on {socket_url(self.sock)}")
        try:
            accept_into(self.pool, self.sock, self.handle, report=log.info)
        except KeyboardInterrupt:
            if self.log_output:
                log.info("wsgi exiting")
        finally:
            self._stop()
            if self.log_output:
                log.info(f"({log.pid}) wsgi exited, is_accepting=True")  # eventlet's words
            self.sock.close()

    def _stop(self) -> None:
        # Close idle connections; give the others shutdown_timeout seconds, then kill them.
        self.stopping = True
        for conn in list(self.conns):
            if conn.idle or conn.switched:  # a websocket ends when its reads do
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
    log: TextIO | logging.Logger | None = None,
    environ: dict[str, Any] | None = None,
    max_size: int | None = DEFAULT_MAX_SIZE,
    max_http_version: str = "HTTP/1.1",
    protocol: None = None,
    server_event: Any = None,
    minimum_chunk_size: int | None = None,
    log_x_forwarded_for: bool = True,
    custom_pool: GreenPool | None = None,
    keepalive: bool | float = True,
    log_output: bool = True,
    log_format: str = DEFAULT_LOG_FORMAT,
    url_length_limit: int = DEFAULT_LIMITS.url_length_limit,
    debug: bool = True,
    socket_timeout: float | None = DEFAULT_SOCKET_TIMEOUT,
    capitalize_response_headers: bool = True,
    *,
    max_header_bytes: int = DEFAULT_LIMITS.max_header_bytes,
    max_body_bytes: int = DEFAULT_LIMITS.max_body_bytes,
    shutdown_timeout: float | None = DEFAULT_SHUTDOWN_TIMEOUT,
) -> None:
    """Serve the WSGI application `site` on the listening green socket `sock` (eventlet's
    ``wsgi.server``, its arguments in its order, and three more keywords).

    Returns when `sock` is closed, or on Ctrl-C (KeyboardInterrupt: "wsgi exiting"), or raises
    GreenletExit when this greenthread is killed; in each case after the connections ended: idle ones
    at once, those in the middle of a request within `shutdown_timeout` seconds (None: no limit),
    after which they are killed. `sock` is closed then.

    - `log`: a text file for the server's lines and tracebacks (default ``sys.stderr``; it is also
      ``wsgi.errors``), or a `logging.Logger`. `log_output` False writes no lines but tracebacks;
      `log_format` is a %-format over client_ip, client_port, date_time, request_line, status_code,
      body_length and wall_seconds; `debug` False leaves out the "accepted" lines;
      `log_x_forwarded_for` puts a request's X-Forwarded-For addresses before its client_ip.
    - `environ`: extra keys for every request's environ.
    - `max_size`: connections served at once (a GreenPool); or pass `custom_pool`.
    - `max_http_version`: "HTTP/1.0" answers every request as HTTP/1.0, and closes the connection.
    - `protocol`: None only (eventlet's BaseHTTPRequestHandler subclasses do not apply here).
    - `server_event`: an Event sent the `Server` once it is set up.
    - `minimum_chunk_size`: an iterable body's chunks are gathered until they make this many bytes
      before they are sent (None: each is sent as it comes, as PEP 3333 asks).
    - `keepalive`: False closes every connection after one response; a number is how many seconds a
      connection may wait for its next request.
    - `socket_timeout`: seconds a connection may wait for the client (between requests, unless
      `keepalive` says otherwise, or in a read or write) before it is dropped; None waits forever.
    - `capitalize_response_headers`: header names go out as ``Content-Type`` whatever their case.
    - `max_header_bytes`: request line and headers larger than this get 431;
      `url_length_limit`: a longer request line gets 414.
    - `max_body_bytes`: a request body larger than this gets 413 (a chunked one when
      ``wsgi.input`` reaches the limit: it raises `RequestTooLarge`).
    """
    if protocol is not None:
        raise TypeError(
            "wsgi.server(protocol=...) is not supported: runtime.wsgi is not built on http.server's"
            " BaseHTTPRequestHandler; leave it out"
        )
    options = ServerOptions(
        keepalive=keepalive,
        socket_timeout=socket_timeout,
        limits=Limits(max_header_bytes, url_length_limit, max_body_bytes),
        log_output=log_output,
        log_format=log_format,
        shutdown_timeout=shutdown_timeout,
        debug=debug,
        log_x_forwarded_for=log_x_forwarded_for,
        max_http_version=max_http_version,
        minimum_chunk_size=minimum_chunk_size,
        capitalize_response_headers=capitalize_response_headers,
    )
    named = f"wsgi.server {socket_url(sock).split('//', 1)[-1]}"  # after where it listens: wsgi.server 127.0.0.1:8080
    pool = custom_pool if custom_pool is not None else GreenPool(max_size or DEFAULT_MAX_SIZE, name=named)
    it = Server(sock, site, options, log, environ, pool)
    if server_event is not None:
        server_event.send(it)
    it.serve_forever()

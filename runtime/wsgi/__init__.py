"""A WSGI (PEP 3333) HTTP/1.1 server on green sockets: ``runtime.wsgi.server(sock, app)``.

    import runtime
    from runtime import wsgi

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello\\n"]

    wsgi.server(runtime.listen(("127.0.0.1", 8080)), app)

Each connection is served by one greenthread of a GreenPool (at most `max_size` at once;
accepting waits while the pool is full). Requests on a connection are read in order
(keep-alive and pipelining), from one buffer that each ``recv`` appends to.

Request bodies come from ``Content-Length`` or ``Transfer-Encoding: chunked``;
``wsgi.input`` yields the decoded body and answers ``Expect: 100-continue`` on its first
read. A response without a Content-Length gets one when the application returns a list;
otherwise it is chunked on HTTP/1.1 and close-delimited on HTTP/1.0.

Errors stay with their connection: a malformed request gets 400, oversized headers 431,
an oversized body 413 (declared, or found while reading a chunked body), an unknown
transfer coding 501, each with its reason in the body; an application that raises before
its headers were sent gets a 500 (the traceback goes to the log), after them the
connection is closed. A client that sends nothing for `socket_timeout` seconds is dropped.

The server stops when its listening socket is closed or its greenthread is killed:
idle keep-alive connections are closed, requests in flight get `shutdown_timeout`
seconds to finish, and then their greenthreads are killed.

It behaves as eventlet's ``wsgi.server`` (its keywords, its log lines, ASCII str bodies,
``environ['eventlet.input']``, Ctrl-C ending it quietly); the README lists where it differs.

The modules, one job each: `parse` (the request head, from bytes: no I/O), `stream` (a
connection's socket and buffer), `body` (``wsgi.input``), `response` (``start_response``
and the framing), `connection` (the request loop), `server` (options, accept and stop),
`log` (its lines), `dates`, `errors`.
"""

from __future__ import annotations

from runtime.wsgi.errors import BadRequest, ClientDisconnected, RequestError, RequestTooLarge
from runtime.wsgi.parse import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_HEADER_BYTES, DEFAULT_URL_LENGTH_LIMIT
from runtime.wsgi.server import (
    DEFAULT_LOG_FORMAT,
    DEFAULT_MAX_SIZE,
    DEFAULT_SHUTDOWN_TIMEOUT,
    DEFAULT_SOCKET_TIMEOUT,
    ServerOptions,
    server,
)

__all__ = [
    "DEFAULT_LOG_FORMAT",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_HEADER_BYTES",
    "DEFAULT_MAX_SIZE",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "DEFAULT_SOCKET_TIMEOUT",
    "DEFAULT_URL_LENGTH_LIMIT",
    "BadRequest",
    "ClientDisconnected",
    "RequestError",
    "RequestTooLarge",
    "ServerOptions",
    "server",
]

"""The HTTP server `greenscope serve` runs: Werkzeug's threaded one, bounded.

At most `MAX_CONNECTIONS` connections at once (past them, a new one is closed at once),
and each socket times out after `TIMEOUT` seconds without progress, so connections that
send nothing (or a byte at a time) cannot hold the server's threads for ever. Socket.IO's
websockets are pinged every 25 s: a live one is never that quiet. A websocket's frames are
sent whole, however large (see `_WholeSends`), and every connection sends its writes at once
(TCP_NODELAY): viewers get what happens without Nagle's wait.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

__all__ = ["MAX_CONNECTIONS", "TIMEOUT", "make_server"]

MAX_CONNECTIONS = 256
TIMEOUT = 60.0


class _Handler(WSGIRequestHandler):
    timeout = TIMEOUT  # socketserver sets it on the connection

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        environ["werkzeug.socket"] = _WholeSends(self.connection)  # the websocket's (simple-websocket takes it)
        # No permessage-deflate (simple-websocket accepts any offer): zlib at level 6 over every batch, ~0.7 µs an
        # event, was half the server's work streaming a 10M-event recording to the page (8 of 16 s of CPU), for
        # batches already coded compactly, on a loopback connection
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return environ


class _WholeSends:
    """A connection whose `send` sends all it is given. simple-websocket writes each frame with one `send`: on a
    socket with a timeout that may take only part of a large frame (a batch of 100k events), and the rest would
    be lost — the page would wait for the end of a frame that never comes."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def send(self, data: bytes, flags: int = 0) -> int:
        self._sock.sendall(data, flags)
        return len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _Server(ThreadedWSGIServer):
    def __init__(self, host: str, port: int, app: Any, fd: int) -> None:
        super().__init__(host, port, app, handler=_Handler, fd=fd)
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self.refused = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            self.refused += 1
            self.shutdown_request(request)
            return
        try:
            # small writes go out at once: a batch written right after another would otherwise wait for the
            # browser's delayed ACK (40 ms on Linux)
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().process_request(request, client_address)
        except Exception:  # no thread took the request: its slot is free again
            self.slots.release()
            raise
        # (a signal's SystemExit may land after the thread started, which frees the slot itself: it passes on
        # untouched, and the server stops; releasing here too raised instead, and the stop was lost)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


def make_server(host: str, port: int, app: Any) -> ThreadedWSGIServer:
    """A threaded server for `app`, bound to ``host:port`` (OSError if it cannot be: Werkzeug itself
    would print two lines and exit)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.create_server((host, port), family=family, backlog=128) as sock:
        return _Server(host, sock.getsockname()[1], app, sock.fileno())  # it keeps a copy of the socket

"""A web site for clients under test to fetch from: the stdlib's threaded HTTP server on 127.0.0.1.

It serves from OS threads of the process that starts it; in a monkey-patched program, from
greenthreads. A test proves that its client's requests overlap by what the site saw, not by how
long they took: with ``together=n``, each GET waits until n are in flight at once, and
`most_in_flight` says the most there were.
"""

from __future__ import annotations

import http.server
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager

WAIT = 10.0
"""How long a held request waits for the others before it is answered anyway (the test then fails on
`most_in_flight`, not on a hang)."""


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, for the clients that ask for it
    server: _Server

    def do_GET(self) -> None:
        with self.server.site.in_flight():  # until it is answered: the client can send its next one only after
            body = f"GET {self.path} on port {self.server.server_address[1]}".encode()
        self._send(body)

    def do_POST(self) -> None:
        self._send(self.rfile.read(int(self.headers["Content-Length"])).upper())

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128  # a pool's worth of connects at once
    daemon_threads = False  # server_close() waits for every request's thread

    def __init__(self, site: Site) -> None:
        self.site = site
        super().__init__(("127.0.0.1", 0), _Handler)


class Site:
    """`ports` threaded HTTP servers on 127.0.0.1 (`context`: over TLS). A GET answers ``GET PATH on
    port PORT`` (also to an HTTP/0.9 request, ``GET /``, which gets no status line); a POST, its body in
    capitals. Each GET waits until `together` of them, on any of the ports, are in flight at once."""

    def __init__(self, ports: int = 1, together: int = 1, context: ssl.SSLContext | None = None) -> None:
        self.most_in_flight = 0
        self._now_in_flight = 0
        self._lock = threading.Lock()
        self._all_here = threading.Barrier(together, timeout=WAIT)
        self.servers = [_Server(self) for _ in range(ports)]
        if context is not None:
            for server in self.servers:
                server.socket = context.wrap_socket(server.socket, server_side=True)
        self.ports = [server.server_address[1] for server in self.servers]
        self.url = f"{'https' if context else 'http'}://127.0.0.1:{self.ports[0]}"
        """The first server's."""
        self._threads = [
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}) for server in self.servers
        ]
        for thread in self._threads:
            thread.start()

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Count a request in flight until its answer leaves; first, wait for the others (`together`)."""
        with self._lock:
            self._now_in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self._now_in_flight)
        try:
            try:
                self._all_here.wait()
            except threading.BrokenBarrierError:  # they did not come: answer anyway
                pass
            yield
        finally:
            with self._lock:
                self._now_in_flight -= 1

    def close(self) -> None:
        """Stop serving, and wait for every request in flight."""
        for server in self.servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> Site:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

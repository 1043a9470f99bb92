"""Network scenarios: a TCP echo server and a WSGI server, each loaded by a generator in another process.

The server runs in the worker process, on the implementation under test. The load comes from a plain-Python
client (one thread, a `selectors` loop; no greenlets) in a separate process, so the numbers are the server's: it
is started on a worker's first run and reused by the next (its start-up is never timed), takes one command per
run on stdin and answers on stdout when the run is over; the server side waits for that answer without blocking
its own hub. Every client is strictly request/response: it sends its next request only once the previous
response has fully arrived.

Importing this module registers the scenarios in `benchmarks.core.SCENARIOS` (``benchmarks/__init__.py`` does).
"""

from __future__ import annotations

import atexit
import os
import re
import selectors
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from benchmarks.core import SCENARIOS, Scenario, Target, implements, tracing
from benchmarks.harness import ROOT

CLIENTS = 50
"""Concurrent connections the load generator keeps open."""

LINE = b"x" * 63 + b"\n"
"""One echo request: 64 bytes."""

HTTP_REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
HTTP_BODY = b"hello"
BACKLOG = 1024

for _scenario in (
    Scenario(
        "echo",
        f"TCP echo server, {CLIENTS} clients x 2,000 lines of {len(LINE)} bytes, request/response,"
        " load from another process",
        n=CLIENTS * 2_000,
        unit="us/line",
        targets=(
            Target("eventlet", "runtime at least 1.2x faster than eventlet", min_ratio=1.2),
            Target("gevent", "runtime at least 1.1x faster than gevent", min_ratio=1.1),
            Target("runtime-traced", "tracing on at most 1.08x slower", max_ratio=1.08),
        ),
    ),
    Scenario(
        "wsgi",
        f"WSGI server, {CLIENTS} keep-alive clients x 400 GETs of a {len(HTTP_BODY)}-byte response,"
        " load from another process",
        n=CLIENTS * 400,
        unit="us/request",
        targets=(Target("eventlet", "runtime at least 1.2x faster than eventlet", min_ratio=1.2),),
    ),
):
    SCENARIOS[_scenario.name] = _scenario


# ---------------------------------------------------------------- the load generator (its own process)


def _echo_length(buf: bytearray) -> int | None:
    """The length of the echoed line at the start of `buf`, or None while it is incomplete."""
    if len(buf) < len(LINE):
        return None
    if buf[: len(LINE)] != LINE:
        raise ValueError(f"echo mismatch: {bytes(buf[: len(LINE)])!r}")
    return len(LINE)


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)


def _http_length(buf: bytearray) -> int | None:
    """The length of the HTTP response at the start of `buf` (it must be a 200 with `HTTP_BODY`), or None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buf[:end])
    if not head.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")):
        raise ValueError(f"unexpected response: {head[:80]!r}")
    found = _CONTENT_LENGTH.search(head)
    if found is None:
        raise ValueError("the response has no Content-Length (a chunked or close-delimited body is not expected)")
    total = end + 4 + int(found.group(1))
    if len(buf) < total:
        return None
    if buf[end + 4 : total] != HTTP_BODY:
        raise ValueError(f"unexpected body: {bytes(buf[end + 4 : total])!r}")
    return total


def _drive(port: int, clients: int, count: int, request: bytes, length: Callable[[bytearray], int | None]) -> float:
    """Open `clients` connections and do `count` request/response rounds on each; return the seconds it took."""
    sel = selectors.DefaultSelector()
    conns: list[socket.socket] = []
    try:
        for _ in range(clients):
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            conns.append(sock)
        start = time.perf_counter()
        for sock in conns:
            sock.send(request)  # a few bytes into an empty buffer: always whole
            sel.register(sock, selectors.EVENT_READ, [count, bytearray()])
        active = clients
        deadline = time.monotonic() + 300
        while active:
            events = sel.select(timeout=max(0.0, deadline - time.monotonic()))
            if not events:
                raise TimeoutError(f"no response for the last {active} clients")
            for key, _ in events:
                sock, state = key.fileobj, key.data
                data = sock.recv(65536)  # type: ignore[union-attr]
                if not data:
                    raise ConnectionError("the server closed a connection")
                buf = state[1]
                buf += data
                done = length(buf)
                if done is None:
                    continue
                if done != len(buf):
                    raise ValueError("more bytes than one response: the server answered before the request")
                buf.clear()
                state[0] -= 1
                if state[0]:
                    sock.send(request)  # type: ignore[union-attr]
                else:
                    sel.unregister(sock)
                    active -= 1
        return time.perf_counter() - start
    finally:
        sel.close()
        for sock in conns:
            sock.close()


_LOADS: dict[str, tuple[bytes, Callable[[bytearray], int | None]]] = {
    "echo": (LINE, _echo_length),
    "http": (HTTP_REQUEST, _http_length),
}


def loadgen_main(lines: Iterable[str] = sys.stdin) -> None:
    """The load generator: for each command ``KIND PORT CLIENTS COUNT`` print ``ok SECONDS`` or ``error MESSAGE``."""
    for command in lines:
        try:
            kind, port, clients, count = command.split()
            request, length = _LOADS[kind]
            reply = f"ok {_drive(int(port), int(clients), int(count), request, length):.6f}"
        except Exception as exc:
            reply = f"error {type(exc).__name__}: {exc}".replace("\n", " ")
        print(reply, flush=True)


# ---------------------------------------------------------------- the server side (the worker process)

_generator: subprocess.Popen[bytes] | None = None


def _start_generator() -> subprocess.Popen[bytes]:
    """The load generator process of this worker, started on first use and stopped at exit."""
    global _generator
    if _generator is None:
        cmd = [sys.executable, "-c", "from benchmarks.net import loadgen_main; loadgen_main()"]
        _generator = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert _generator.stdout is not None
        os.set_blocking(_generator.stdout.fileno(), False)
        atexit.register(_stop_generator)
    return _generator


def _stop_generator() -> None:
    global _generator
    if _generator is not None:
        assert _generator.stdin is not None and _generator.stdout is not None
        _generator.stdin.close()  # end of commands: it exits
        _generator.wait(timeout=10)
        _generator.stdout.close()
        _generator = None


def _run_load(kind: str, port: int, n: int, wait_readable: Callable[[int], Any]) -> float:
    """Have the generator make `n` requests of `kind` to `port` (spread over `CLIENTS` connections) and wait for
    it through `wait_readable` (the implementation's green wait for an fd); return the generator's own time."""
    gen = _start_generator()
    assert gen.stdin is not None and gen.stdout is not None
    gen.stdin.write(f"{kind} {port} {CLIENTS} {max(1, n // CLIENTS)}\n".encode())
    gen.stdin.flush()
    fd = gen.stdout.fileno()
    reply = b""
    while not reply.endswith(b"\n"):
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            wait_readable(fd)
            continue
        if not data:
            raise RuntimeError("the load generator exited")
        reply += data
    status, _, detail = reply.decode().strip().partition(" ")
    if status != "ok":
        raise RuntimeError(f"load generator: {detail}")
    return float(detail)


def _echo_handler(sock: Any, address: Any) -> None:
    """The handler of eventlet's echo server example: readline, write, flush, until the client leaves."""
    with sock, sock.makefile("rw") as f:
        while True:
            line = f.readline()
            if not line:
                break
            f.write(line)
            f.flush()


def _hello_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """A trivial WSGI application."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(HTTP_BODY)))])
    return [HTTP_BODY]


def _runtime_wait(fd: int) -> None:
    from runtime.hubs import trampoline

    trampoline(fd, read=True)


def _eventlet_wait(fd: int) -> None:
    from eventlet.hubs import trampoline

    trampoline(fd, read=True)


def _gevent_wait(fd: int) -> None:
    from gevent.socket import wait_read

    wait_read(fd)


@implements("echo", "runtime")
def echo_runtime(n: int) -> None:
    import runtime

    sock = runtime.listen(("127.0.0.1", 0), backlog=BACKLOG)
    server = runtime.spawn(runtime.serve, sock, _echo_handler)
    try:
        _run_load("echo", sock.getsockname()[1], n, _runtime_wait)
    finally:
        server.kill()
        sock.close()


@implements("echo", "runtime-traced")
def echo_runtime_traced(n: int) -> None:
    with tracing(record=True):
        echo_runtime(n)


@implements("echo", "eventlet")
def echo_eventlet(n: int) -> None:
    import eventlet

    sock = eventlet.listen(("127.0.0.1", 0), backlog=BACKLOG)
    server = eventlet.spawn(eventlet.serve, sock, _echo_handler)
    try:
        _run_load("echo", sock.getsockname()[1], n, _eventlet_wait)
    finally:
        server.kill()
        sock.close()


@implements("echo", "gevent")
def echo_gevent(n: int) -> None:
    from gevent.server import StreamServer

    server = StreamServer(("127.0.0.1", 0), _echo_handler, backlog=BACKLOG)
    server.start()
    try:
        _run_load("echo", server.server_port, n, _gevent_wait)
    finally:
        server.close()


# No gevent version of wsgi: gevent.pywsgi writes a keep-alive response's headers and body in two sends without
# TCP_NODELAY, so each request waits out the client's delayed ACK (~40 ms): that measures Nagle, not the server.


@implements("wsgi", "runtime")
def wsgi_runtime(n: int) -> None:
    import runtime
    from runtime import wsgi

    sock = runtime.listen(("127.0.0.1", 0), backlog=BACKLOG)
    server = runtime.spawn(wsgi.server, sock, _hello_app, log_output=False)
    try:
        _run_load("http", sock.getsockname()[1], n, _runtime_wait)
    finally:
        server.kill()
        sock.close()


@implements("wsgi", "eventlet")
def wsgi_eventlet(n: int) -> None:
    import eventlet
    import eventlet.wsgi

    sock = eventlet.listen(("127.0.0.1", 0), backlog=BACKLOG)
    server = eventlet.spawn(eventlet.wsgi.server, sock, _hello_app, log_output=False)
    try:
        _run_load("http", sock.getsockname()[1], n, _eventlet_wait)
    finally:
        server.kill()
        sock.close()

"""The programs in examples/eventlet_style/, written as eventlet's examples are (wsgi.py, websocket.py,
websocket_chat.py, chat_server.py, echoserver.py, webcrawler.py, connect.py), run as they are run: each in its
own process on the poller this test runs on, on 127.0.0.1, driven by real clients (urllib, websocket-client, raw
and green sockets) or fetching from a real site (`tests.support.httpd`). The servers listen on a port the system
picks and are stopped by Ctrl-C (SIGINT), after which they must say goodbye and exit with status 0.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import websocket as websocket_client  # the websocket-client package

import runtime
from runtime.hubs import Hub
from tests.support.httpd import Site

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "eventlet_style"
TIMEOUT = 20.0


class Program:
    """An example in a subprocess (on the poller the test runs on, warnings as errors); its output, stdout
    and stderr together, is read line by line by an OS thread."""

    def __init__(self, name: str, poller: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-W", "error", "-u", str(EXAMPLES / name), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "GREENSCOPE_HUB": poller},
        )
        self.seen: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def expect(self, pattern: str) -> re.Match[str]:
        """The next line of output that matches `pattern`."""
        while True:
            try:
                line = self._lines.get(timeout=TIMEOUT)
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r}; output:\n" + "\n".join(self.seen)) from None
            if line is None:
                self._lines.put(None)
                raise AssertionError(f"the program ended before {pattern!r}; output:\n" + "\n".join(self.seen))
            self.seen.append(line)
            if found := re.search(pattern, line):
                return found

    def ctrl_c(self) -> int:
        """Send SIGINT and return the exit status."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=TIMEOUT)

    def finish(self) -> int:
        """Wait for the program to end by itself and return its exit status; `seen` holds all its output."""
        status = self.proc.wait(timeout=TIMEOUT)
        while (line := self._lines.get(timeout=TIMEOUT)) is not None:
            self.seen.append(line)
        self._lines.put(None)
        return status


@pytest.fixture
def run(hub: Hub) -> Iterator[Callable[..., Program]]:
    """``run(name, *args)``: start examples/eventlet_style/`name` with `args` (a server's: its port, 0 for
    one the system picks); killed at the end of the test."""
    programs: list[Program] = []

    def start(name: str, *args: str) -> Program:
        programs.append(Program(name, hub.poller.name, *args))
        return programs[-1]

    yield start
    for program in programs:
        if program.proc.poll() is None:
            program.proc.kill()
        program.proc.wait(timeout=TIMEOUT)
        assert program.proc.stdout is not None
        program.proc.stdout.close()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.read().decode()


def test_hello_wsgi(run):
    program = run("hello_wsgi.py", "0")
    port = int(program.expect(r"^\(\d+\) wsgi starting up on http://127\.0\.0\.1:(\d+)$")[1])
    assert _get(f"http://127.0.0.1:{port}/") == (200, "Hello, World!\r\n")
    program.expect(r"^\(\d+\) accepted \('127\.0\.0\.1', \d+\)$")
    program.expect(r'^127\.0\.0\.1 - - \[.*\] "GET / HTTP/1\.1" 200 15 \d+\.\d{6}$')
    assert _get(f"http://127.0.0.1:{port}/elsewhere") == (404, "Not Found\r\n")
    program.expect(r'"GET /elsewhere HTTP/1\.1" 404 11 ')
    assert program.ctrl_c() == 0
    program.expect(r"^wsgi exiting$")
    program.expect(r"^\(\d+\) wsgi exited")


def test_websocket_echo(run):
    program = run("websocket_echo.py", "0")
    port = int(program.expect(r"Visit http://localhost:(\d+)/")[1])
    status, page = _get(f"http://127.0.0.1:{port}/")
    assert status == 200 and "new WebSocket(" in page
    echo = websocket_client.create_connection(f"ws://127.0.0.1:{port}/echo", timeout=TIMEOUT)
    echo.send("hello")
    echo.send_binary(b"\x00\xff")
    assert [echo.recv(), echo.recv()] == ["hello", b"\x00\xff"]
    echo.close()
    data = websocket_client.create_connection(f"ws://127.0.0.1:{port}/data", timeout=TIMEOUT)
    numbers = [re.fullmatch(r"0 (\d+) 0\.\d+\n", data.recv()) for _ in range(3)]
    assert [int(n[1]) for n in numbers if n] == [0, 1, 2]
    data.close(timeout=0)  # /data never reads: no answer to the closing handshake will come
    assert program.ctrl_c() == 0
    program.expect(r"^wsgi exiting$")


def test_websocket_chat(run):
    program = run("websocket_chat.py", "0")
    port = int(program.expect(r"Visit http://localhost:(\d+)/")[1])
    status, page = _get(f"http://127.0.0.1:{port}/")
    assert status == 200 and f"ws://localhost:{port}/chat" in page
    a, b, c = (websocket_client.create_connection(f"ws://127.0.0.1:{port}/chat", timeout=TIMEOUT) for _ in range(3))
    a.send("hi from a")
    assert [a.recv(), b.recv(), c.recv()] == ["hi from a"] * 3  # everyone, the sender too
    b.close()
    c.send("after b left")
    assert [a.recv(), c.recv()] == ["after b left"] * 2
    assert program.ctrl_c() == 0  # with a and c still in the room: the server closes their websockets
    for left in (a, c):
        assert left.recv() == ""  # the close frame
        left.shutdown()
    program.expect(r"^wsgi exiting$")


class LineClient:
    """A TCP client that speaks in lines."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.file = self.sock.makefile("rb")

    def send(self, line: bytes) -> None:
        self.sock.sendall(line)

    def line(self) -> bytes:
        return self.file.readline()

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def test_chat_server(run):
    program = run("chat_server.py", "0")
    port = int(program.expect(r"^ChatServer starting up on port (\d+)$")[1])
    a, b, c = (LineClient(port) for _ in range(3))
    for _ in range(3):
        program.expect(r"^Participant joined chat\.$")
    a.send(b"hello from a\n")
    assert b.line() == c.line() == b"hello from a\n"
    b.send(b"from b\n")
    assert a.line() == b"from b\n"  # the first line a gets: its own was not echoed back
    program.expect(r"^Chat: hello from a$")
    b.close()
    program.expect(r"^Participant left chat\.$")
    c.send(b"c is still here\n")
    assert a.line() == b"c is still here\n"
    program.expect(r"^Chat: c is still here$")  # Ctrl-C while everyone waits for a line
    assert program.ctrl_c() == 0
    program.expect(r"^ChatServer exiting\.$")
    a.close()
    c.close()


def test_echo_server_serves_its_clients_at_once(run):
    program = run("echo_server.py", "0")
    port = int(program.expect(r"^server socket listening on port (\d+)$")[1])
    clients = [LineClient(port) for _ in range(20)]  # all connected before any is answered
    for i, client in reversed(list(enumerate(clients))):  # the last to connect speaks first
        client.send(b"line %d\n" % i)
    assert [client.line() for client in reversed(clients)] == [b"line %d\n" % i for i in reversed(range(20))]
    for client in clients:
        client.close()
    for _ in range(20):
        program.expect(r"^client disconnected$")
    last = LineClient(port)
    last.send(b"still serving\n")
    assert last.line() == b"still serving\n"  # Ctrl-C while its handler waits for a line
    assert program.ctrl_c() == 0
    last.close()


CLIENTS = 50
LINES = 20


def test_echo_server_echoes_every_line_of_50_concurrent_clients(run):
    program = run("echo_server.py", "0")
    port = int(program.expect(r"^server socket listening on port (\d+)$")[1])
    first_echoes: list[int] = []
    all_connected = runtime.Event()

    def client(i: int) -> int:
        with runtime.connect(("127.0.0.1", port)) as sock:
            sock.settimeout(10)
            f = sock.makefile("rw", encoding="ascii", newline="\n")
            for j in range(LINES):
                line = f"client {i} line {j} " + "x" * (i + j) + "\n"
                f.write(line)
                f.flush()
                assert f.readline() == line
                if j == 0:
                    # every client holds its connection open until all 50 are being served at once
                    first_echoes.append(i)
                    if len(first_echoes) == CLIENTS:
                        all_connected.send(True)
                    assert all_connected.wait(10), "the 50 clients were not all served at once"
            f.close()
        return i

    threads = [runtime.spawn(client, i) for i in range(CLIENTS)]
    assert [gt.wait() for gt in threads] == list(range(CLIENTS))
    assert all_connected.ready()
    while program.seen.count("client disconnected") < CLIENTS:
        program.expect(r"^client disconnected$")
    out = program.seen
    assert sum(line.startswith("accepted ('127.0.0.1', ") for line in out) == CLIENTS
    assert out.count("client connected") == CLIENTS
    echoed = sorted(line for line in out if line.startswith("echoed "))
    expected = sorted(f"echoed client {i} line {j} " + "x" * (i + j) for i in range(CLIENTS) for j in range(LINES))
    assert echoed == expected


def test_echo_server_serves_clients_that_come_after_others_left(run):
    # The example never closes new_sock: each one is freed with its file, and a later connection gets its fd number.
    program = run("echo_server.py", "0")
    port = int(program.expect(r"^server socket listening on port (\d+)$")[1])

    def client(i: int) -> str:
        with runtime.connect(("127.0.0.1", port)) as sock:
            sock.settimeout(1)
            with sock.makefile("rw", encoding="ascii", newline="\n") as f:
                for j in range(3):
                    f.write(f"{i} {j}\n")
                    f.flush()
                    try:
                        assert f.readline() == f"{i} {j}\n"
                    except TimeoutError:
                        return f"client {i}: no echo of line {j}"
        return "ok"

    for wave in range(1, 4):
        assert [gt.wait() for gt in [runtime.spawn(client, i) for i in range(5)]] == ["ok"] * 5, f"wave {wave}"
        while program.seen.count("client disconnected") < 5 * wave:
            program.expect(r"^client disconnected$")


def test_greenpile_fetch_fetches_from_every_server_at_once(run):
    with Site(ports=10, together=10) as site:
        program = run("greenpile_fetch.py", *(f"localhost:{port}" for port in site.ports))
        assert program.finish() == 0, "\n".join(program.seen)
    assert site.most_in_flight == 10  # the pile's greenthreads were all waiting for an answer at once
    out = program.seen
    assert sorted(line for line in out if line.endswith(" connected")) == sorted(
        f"localhost:{port} connected" for port in site.ports
    )
    # the pile gives the results in spawn order, whichever server answered first
    assert [line for line in out if line.startswith("b'")] == [repr(b"GET / on port %d" % p) for p in site.ports]


def test_crawler_fetches_twenty_pages_at_once(run):
    pages = 20
    with Site(together=pages) as site:
        urls = [f"{site.url}/page/{n}" for n in range(pages)]
        program = run("crawler.py", *urls)
        assert program.finish() == 0, "\n".join(program.seen)
    assert site.most_in_flight == pages  # the pool's greenthreads were all waiting for a page at once
    got = [line for line in program.seen if line.startswith("got body from ")]
    body = "GET /page/{n} on port {port}"
    assert got == [  # every page, in order
        f"got body from {url} of length {len(body.format(n=n, port=site.ports[0]))}" for n, url in enumerate(urls)
    ]

"""The seed's echo server and GreenPile fetch, run as real programs in subprocesses with real peers.

Each program is eventlet's example, unchanged but for ``import runtime as eventlet``, Python 3 syntax, and the
few lines that tell the test where it listens (or where to fetch from). The child runs on the poller this test
runs on (``GREENSCOPE_HUB``). Its output is read off the hub, so the test's own greenthreads keep running.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import runtime
from runtime import tpool
from runtime.hubs import Hub, get_hub, trampoline

ECHO_SERVER = """
import sys

import runtime as eventlet

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 0


def handle(fd):
    print("client connected")
    while True:
        # pass through every non-eof line
        x = fd.readline()
        if not x:
            break
        fd.write(x)
        fd.flush()
        print("echoed", x, end="")
    print("client disconnected")


server = eventlet.listen(("127.0.0.1", PORT))
print("listening on", server.getsockname()[1])
pool = eventlet.GreenPool(200)
while True:
    new_sock, address = server.accept()
    print("accepted", address)
    pool.spawn_n(handle, new_sock.makefile("rw"))
"""

FETCH = """
import sys
import time

import runtime as eventlet
from runtime.green import socket


def geturl(url):
    host, port = url.split(":")
    c = socket.socket()
    ip = socket.gethostbyname(host)
    c.connect((ip, int(port)))
    print("%s connected" % url)
    c.sendall(b"GET /\\r\\n\\r\\n")
    return c.recv(1024)


urls = ["localhost:%s" % port for port in sys.argv[1:]]
start = time.perf_counter()
pile = eventlet.GreenPile()
for x in urls:
    pile.spawn(geturl, x)

# note that the pile acts as a collection of return values from the functions
# if any exceptions are raised by the function they'll get raised here
for x in pile:
    print(x)
print("elapsed", time.perf_counter() - start)
"""

SLOW_HTTP = """
\"\"\"Threaded stdlib servers on N ports of 127.0.0.1; each answers a request after DELAY seconds.\"\"\"
import socketserver
import sys
import threading
import time

DELAY = float(sys.argv[2])


class Slow(socketserver.BaseRequestHandler):
    def handle(self):
        request = b""
        while b"\\r\\n\\r\\n" not in request:
            chunk = self.request.recv(1024)
            if not chunk:
                return
            request += chunk
        time.sleep(DELAY)
        port = self.server.server_address[1]
        self.request.sendall(b"HTTP/1.0 200 OK\\r\\n\\r\\nhello from %d" % port)


ports = []
for _ in range(int(sys.argv[1])):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ports.append(server.server_address[1])
print("listening on", *ports, flush=True)
threading.Event().wait()
"""


class Child:
    """A Python program in a subprocess; its stdout and stderr are read line by line without blocking the hub."""

    def __init__(self, program: Path, *args: str, poller: str) -> None:
        env = {**os.environ, "GREENSCOPE_HUB": poller}
        cmd = [sys.executable, "-u", str(program), *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        assert self.proc.stdout is not None
        self._fd = self.proc.stdout.fileno()
        os.set_blocking(self._fd, False)
        self._lines: runtime.Queue = runtime.Queue()
        self.output: list[str] = []  # every line taken by `expect` so far
        self._reader = runtime.spawn(self._read)

    def _read(self) -> None:
        """Queue each line of output; None at the end of the output."""
        pending = b""
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                trampoline(self._fd, read=True)
                continue
            if not data:
                break
            *lines, pending = (pending + data).split(b"\n")
            for line in lines:
                self._lines.put(line.decode())
        if pending:
            self._lines.put(pending.decode())
        self._lines.put(None)

    def expect(self, predicate: Callable[[str], bool], timeout: float = 10.0) -> str:
        """Wait for the next line that `predicate` accepts and return it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except runtime.queue.Empty:
                raise AssertionError(f"no such line within {timeout}s; output so far:\n" + self.text()) from None
            if line is None:
                self._lines.put(None)
                raise AssertionError(f"the program ended (exit code {self.proc.poll()}); output:\n" + self.text())
            self.output.append(line)
            if predicate(line):
                return line

    def text(self) -> str:
        return "\n".join(self.output)

    def stop(self) -> None:
        """Kill the program, read the rest of its output, and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self._reader.wait()  # the pipe reaches its end once the program is gone
        get_hub().notify_close(self._fd)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
        tpool.execute(self.proc.wait, timeout=10)
        while (line := self._lines.get()) is not None:
            self.output.append(line)


@pytest.fixture
def start(tmp_path: Path, hub: Hub) -> Iterator[Callable[..., Child]]:
    """``start(source, *args)``: run `source` as a program in a subprocess; killed at the end of the test."""
    children: list[Child] = []

    def start_(source: str, *args: str) -> Child:
        program = tmp_path / f"program{len(children)}.py"
        program.write_text(textwrap.dedent(source).lstrip())
        child = Child(program, *args, poller=hub.poller.name)
        children.append(child)
        return child

    yield start_
    for child in children:
        child.stop()


def _listening_ports(child: Child) -> list[int]:
    return [int(word) for word in child.expect(lambda line: line.startswith("listening on")).split()[2:]]


CLIENTS = 50
LINES = 20


def test_seed_echo_server_echoes_every_line_of_50_concurrent_clients(start):
    server = start(ECHO_SERVER, "0")
    (port,) = _listening_ports(server)
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

    def disconnected() -> int:
        return server.output.count("client disconnected")

    while disconnected() < CLIENTS:
        server.expect(lambda line: line == "client disconnected")
    out = server.output
    assert sum(line.startswith("accepted ('127.0.0.1', ") for line in out) == CLIENTS
    assert out.count("client connected") == CLIENTS
    echoed = sorted(line for line in out if line.startswith("echoed "))
    expected = sorted(f"echoed client {i} line {j} " + "x" * (i + j) for i in range(CLIENTS) for j in range(LINES))
    assert echoed == expected


def test_seed_greenpile_fetches_concurrently(start):
    count, delay = 10, 0.2
    servers = start(SLOW_HTTP, str(count), str(delay))
    ports = _listening_ports(servers)
    assert len(ports) == count

    fetch = start(FETCH, *map(str, ports))
    fetch.expect(lambda line: line.startswith("elapsed"), timeout=20)
    out = fetch.output
    assert sorted(line for line in out if line.endswith(" connected")) == sorted(
        f"localhost:{port} connected" for port in ports
    )
    results = [line for line in out if line.startswith("b'")]
    # the pile gives the results in spawn order, whichever server answered first
    assert results == [repr(b"HTTP/1.0 200 OK\r\n\r\nhello from %d" % port) for port in ports]
    elapsed = float(out[-1].split()[1])
    assert delay <= elapsed < count * delay / 3, f"{count} fetches of {delay}s each took {elapsed:.2f}s"


def test_seed_echo_server_serves_clients_that_come_after_others_left(start):
    # The seed never closes new_sock: each one is freed with its file, and a later connection gets its fd number.
    server = start(ECHO_SERVER, "0")
    (port,) = _listening_ports(server)

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
        while server.output.count("client disconnected") < 5 * wave:
            server.expect(lambda line: line == "client disconnected")

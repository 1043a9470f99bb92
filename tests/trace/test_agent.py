"""The agent against real listeners on 127.0.0.1: what it sends, and that it never blocks the program."""

from __future__ import annotations

import itertools
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import runtime
from runtime.agent import Agent, SocketSink, parse_address, process_info
from runtime.trace.codec import COMMAND, END, EVENTS, HELLO, MAGIC, Decoder, encode_frame
from runtime.trace.events import DROPPED
from runtime.trace.recorder import Recorder


class Dashboard:
    """A listener that records the frames each connection sends (an OS thread per connection)."""

    def __init__(self, read: bool = True) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.read = read
        self.connections: list[list[tuple[int, object]]] = []
        self.conns: list[socket.socket] = []
        self.got_end = threading.Event()
        self.connected = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            frames: list[tuple[int, object]] = []
            self.connections.append(frames)
            self.conns.append(conn)
            self.connected.set()
            if self.read:
                threading.Thread(target=self._read, args=(conn, frames), daemon=True).start()

    def _read(self, conn: socket.socket, frames: list) -> None:
        decoder = Decoder()
        try:
            while data := conn.recv(65536):
                for frame in decoder.feed(data):
                    frames.append(frame)
                    if frame[0] == END:
                        self.got_end.set()
        except OSError:  # closed by close()
            pass

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


def busy_program(n: int = 2000) -> None:
    def worker():
        for _ in range(n):
            runtime.sleep(0)

    for gt in [runtime.spawn(worker) for _ in range(2)]:
        gt.wait()


def test_parse_address():
    assert parse_address("127.0.0.1:5001") == (socket.AF_INET, ("127.0.0.1", 5001))
    assert parse_address("[::1]:80") == (socket.AF_INET6, ("::1", 80))
    assert parse_address("/tmp/gs.sock") == (socket.AF_UNIX, "/tmp/gs.sock")
    for bad in ("nohost", "host:", ":80", "host:99999", "host:http"):
        with pytest.raises(ValueError, match="not an agent address"):
            parse_address(bad)


def test_the_agent_says_who_it_is_then_streams_events_then_ends():
    dash = Dashboard()
    rec = Recorder().install()
    agent = Agent(rec, [SocketSink(dash.address)], process_info("prog.py", ["prog.py", "-x"]), interval=0.01).start()
    try:
        busy_program()
    finally:
        rec.uninstall()
        agent.stop()
    assert dash.got_end.wait(10)
    dash.close()
    frames = dash.connections[0]
    assert frames[0][0] == HELLO
    assert frames[0][1]["process"]["argv"] == ["prog.py", "-x"]
    assert frames[0][1]["schema"]["version"] == 1
    events = [e for kind, payload in frames if kind == EVENTS for e in payload]
    assert sum(1 for e in events if e[0] == 2) >= 4000  # every switch of the busy program
    assert frames[-1] == (END, {"dropped": 0})


def test_a_dashboard_that_does_not_read_never_blocks_the_program():
    dash = Dashboard(read=False)
    rec = Recorder().install()
    sink = SocketSink(dash.address, max_backlog=4 << 10)
    agent = Agent(rec, [sink], process_info("prog.py"), interval=0.005).start()
    backlog = []

    def watch():
        for _ in range(400):
            backlog.append(sink.backlog)
            runtime.sleep(0)

    try:
        watcher = runtime.spawn(watch)
        busy_program(20000)  # with nobody reading: the kernel's buffers fill, then the agent's
        watcher.wait()
    finally:
        rec.uninstall()
        agent.stop()
        dash.close()
    assert dash.connected.is_set()
    assert max(backlog) <= 4 << 10  # bounded: what does not fit is dropped and counted


def test_losses_are_reported_once_the_dashboard_reads_again():
    rec = Recorder(clock=itertools.count(1).__next__)  # events at ts 1, 2, ...
    sink = SocketSink("127.0.0.1:1")  # nobody there: every batch is lost
    agent = Agent(rec, [sink], process_info("prog.py"))
    rec.timers_fired(1)  # one `timers` event, at ts 1
    agent.ship()
    assert sink.lost == 1
    dash = Dashboard()
    sink.family, sink.address = parse_address(dash.address)
    sink._next_try = 0.0
    sink.hello(encode_frame(HELLO, {"schema": {}, "process": {}}))
    rec.timers_fired(1)  # at ts 2
    agent.ship()
    sink.close()
    assert dash.connected.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sum(1 for f in dash.connections[0] if f[0] == EVENTS) < 2:
        time.sleep(0.01)
    events = [e for kind, payload in dash.connections[0] if kind == EVENTS for e in payload]
    assert events[0] == (DROPPED, 2, 1)  # the earlier loss, said first
    assert events[1] == (8, 2, 1)
    dash.close()


def test_the_stop_command_ends_the_program(tmp_path: Path):
    listener = socket.create_server(("127.0.0.1", 0))
    prog = tmp_path / "forever.py"
    prog.write_text("import runtime\nwhile True:\n    runtime.sleep(0.01)\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "visualizer",
            "record",
            "--connect",
            f"127.0.0.1:{listener.getsockname()[1]}",
            str(prog),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    conn = None
    try:
        listener.settimeout(30)
        conn, _ = listener.accept()
        decoder = Decoder()
        conn.settimeout(30)
        while not any(kind == HELLO for kind, _ in decoder.feed(conn.recv(65536))):
            pass
        conn.sendall(MAGIC + encode_frame(COMMAND, {"command": "nonsense"}))  # ignored
        conn.sendall(encode_frame(COMMAND, {"command": "stop"}))
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM  # unwound by SystemExit: the recording ends
    finally:
        proc.kill()
        proc.wait()
        listener.close()
        if conn is not None:
            conn.close()


def test_garbage_from_the_dashboard_only_drops_that_connection():
    dash = Dashboard()
    rec = Recorder().install()
    sink = SocketSink(dash.address)
    agent = Agent(rec, [sink], process_info("prog.py"), interval=0.005).start()
    try:
        assert dash.connected.wait(10)
        dash.conns[0].sendall(MAGIC + b"\x00\x00\x00\x05\x09junk")  # an unknown frame type
        busy_program()
    finally:
        rec.uninstall()
        agent.stop()
        dash.close()


def test_the_agent_reconnects_and_says_hello_again():
    dash = Dashboard()
    rec = Recorder().install()
    agent = Agent(rec, [SocketSink(dash.address)], process_info("prog.py"), interval=0.01).start()
    try:
        assert dash.connected.wait(10)
        dash.connected.clear()
        dash.conns[0].close()  # the dashboard hangs up
        deadline = time.monotonic() + 20
        while not dash.connected.is_set() and time.monotonic() < deadline:
            busy_program(200)  # the program goes on; the agent notices, then reconnects
        assert dash.connected.wait(10)
        while len(dash.connections[1]) < 2 and time.monotonic() < deadline:
            busy_program(200)
    finally:
        rec.uninstall()
        agent.stop()
        dash.close()
    second = dash.connections[1]
    assert second[0][0] == HELLO and second[0][1]["process"]["program"] == "prog.py"
    assert any(kind == EVENTS for kind, _ in second[1:])

"""The seed's three examples, recorded with `greenscope record`: their events keep the timeline's invariants."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

from runtime.trace.codec import read_recording
from runtime.trace.events import KIND_NAMES
from runtime.trace.states import WAITING, check, intervals
from tests.runtime.test_seed_crawler import CRAWLER, SERVER
from tests.runtime.test_seed_examples import ECHO_SERVER, FETCH, SLOW_HTTP


def start(code: str, *args: str) -> tuple[subprocess.Popen, str]:
    """A helper server in a subprocess; returns it and the first line it prints."""
    proc = subprocess.Popen([sys.executable, "-u", "-c", code, *args], stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()  # type: ignore[union-attr]


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(10)
    if proc.stdout:
        proc.stdout.close()


def recorded(tmp_path: Path, name: str, program: str, *args: str) -> list[tuple]:
    path = tmp_path / f"{name}.py"
    path.write_text(program)
    out = tmp_path / f"{name}.gsc"
    result = subprocess.run(
        [sys.executable, "-m", "visualizer", "record", "-o", str(out), str(path), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    _, events, complete = read_recording(out.read_bytes())
    assert complete
    return events


def spawned_funcs(events: list[tuple]) -> list[str]:
    return [e[4] for e in events if KIND_NAMES[e[0]] == "spawn"]


def test_the_crawler_recording_keeps_the_invariants(tmp_path: Path):
    server, port = start(SERVER)
    try:
        urls = [f"http://127.0.0.1:{port}/page/{n}" for n in range(20)]
        events = recorded(tmp_path, "crawler", CRAWLER.format(urls=urls))
    finally:
        stop(server)
    assert check(events) == []
    assert spawned_funcs(events).count("fetch") == 20
    blocked_on = {iv.detail for ivs in intervals(events).values() for iv in ivs if iv.state in WAITING}
    assert {"io_read", "join"} <= blocked_on


def test_the_greenpile_recording_keeps_the_invariants(tmp_path: Path):
    servers, line = start(SLOW_HTTP, "5", "0.1")
    try:
        ports = line.split()[2:]
        events = recorded(tmp_path, "pile", FETCH, *ports)
    finally:
        stop(servers)
    assert check(events) == []
    assert spawned_funcs(events).count("geturl") == 5
    causes = {e[3] for e in events if KIND_NAMES[e[0]] == "wake"}
    assert {"fd_ready", "thread"} <= causes  # sockets, and gethostbyname in an OS thread


def test_the_echo_server_recording_keeps_the_invariants(tmp_path: Path):
    program = tmp_path / "echo.py"
    program.write_text(ECHO_SERVER)
    out = tmp_path / "echo.gsc"
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "visualizer", "record", "-o", str(out), str(program), "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        port = int(proc.stdout.readline().split()[-1])  # type: ignore[union-attr]
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
        for round_ in range(3):
            for i, c in enumerate(clients):
                c.sendall(b"line %d %d\n" % (round_, i))
            for i, c in enumerate(clients):
                assert c.recv(100) == b"line %d %d\n" % (round_, i)
        for c in clients:
            c.close()
    finally:
        proc.terminate()  # the server runs forever: stop it, as the dashboard does
        assert proc.wait(30) == 128 + signal.SIGTERM
        proc.stdout.close()  # type: ignore[union-attr]
    _, events, complete = read_recording(out.read_bytes())
    assert complete  # SIGTERM unwinds the program, and the recording is closed cleanly
    assert check(events) == []
    assert spawned_funcs(events).count("handle") == 5

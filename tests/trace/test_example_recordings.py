"""Three of eventlet's classic examples (examples/eventlet_style/: the crawler, the GreenPile fetch, the echo
server), recorded with `greenscope record`: their events keep the timeline's invariants."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from runtime.trace.codec import read_recording
from runtime.trace.events import KIND_NAMES
from runtime.trace.states import WAITING, check, intervals
from tests.support.httpd import Site

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "eventlet_style"


def recorded(tmp_path: Path, name: str, *args: str) -> list[tuple]:
    """The events of the example `name` run to its end under ``greenscope record``."""
    out = tmp_path / f"{name}.gsc"
    result = subprocess.run(
        [sys.executable, "-m", "visualizer", "record", "-o", str(out), str(EXAMPLES / name), *args],
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
    with Site(together=20) as site:
        events = recorded(tmp_path, "crawler.py", *(f"{site.url}/page/{n}" for n in range(20)))
    assert check(events) == []
    assert spawned_funcs(events).count("fetch") == 20
    blocked_on = {iv.detail for ivs in intervals(events).values() for iv in ivs if iv.state in WAITING}
    assert {"io_read", "join"} <= blocked_on


def test_the_greenpile_recording_keeps_the_invariants(tmp_path: Path):
    with Site(ports=5, together=5) as site:
        events = recorded(tmp_path, "greenpile_fetch.py", *(f"localhost:{port}" for port in site.ports))
    assert check(events) == []
    assert spawned_funcs(events).count("geturl") == 5
    causes = {e[3] for e in events if KIND_NAMES[e[0]] == "wake"}
    assert {"fd_ready", "thread"} <= causes  # sockets, and gethostbyname in an OS thread


def test_the_echo_server_recording_keeps_the_invariants(tmp_path: Path):
    out = tmp_path / "echo.gsc"
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "visualizer", "record", "-o", str(out), str(EXAMPLES / "echo_server.py"), "0"],
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
        # The server runs forever: stop it as the dashboard does. SIGTERM raises SystemExit in the program,
        # which leaves its accept loop as eventlet's example does on Ctrl-C, and ends (status 0).
        proc.terminate()
        assert proc.wait(30) == 0
        proc.stdout.close()  # type: ignore[union-attr]
    _, events, complete = read_recording(out.read_bytes())
    assert complete  # the recording is closed cleanly
    assert check(events) == []
    assert spawned_funcs(events).count("handle") == 5

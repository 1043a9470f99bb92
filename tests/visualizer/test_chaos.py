"""Chaos, in subprocesses: a dashboard killed mid-stream, stopped while a program exits, killed with its
workloads running, started on a busy port. What reached it is kept, what did not is said, nothing outlives it."""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runtime.trace.codec import read_recording
from runtime.trace.states import check
from tests.support.dashboard import Server, running, wait_until
from tests.support.events import tally

BUSY = textwrap.dedent(
    """
    import sys
    import runtime

    def work():
        for _ in range(int(sys.argv[1])):  # a switch event each: how many, not for how long
            runtime.sleep(0)

    workers = [runtime.spawn(work) for _ in range(8)]
    for w in workers:
        w.wait()
    """
)


# BUSY's events compress to about a byte each; these to about five (a block, a wake and switches a sleep, its timeout
# random): the bytes that fill the sockets' buffers
NOISY = BUSY.replace("import sys", "import random, sys").replace("sleep(0)", "sleep(random.random() * 1e-6)")


@pytest.fixture
def busy(tmp_path: Path) -> Path:
    path = tmp_path / "busy.py"
    path.write_text(BUSY)
    return path


@pytest.fixture
def noisy(tmp_path: Path) -> Path:
    path = tmp_path / "noisy.py"
    path.write_text(NOISY)
    return path


def traced(server: Server, program: Path, seconds: float, *args: str, **kw) -> subprocess.Popen:
    """`program` run by ``greenscope record --connect`` to `server` (and `args`), its stderr piped."""
    command = [
        sys.executable,
        "-m",
        "visualizer",
        "record",
        "--connect",
        server.agent,
        *args,
        str(program),
        str(seconds),
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **kw)


def reap(program: subprocess.Popen) -> None:
    """`program` stopped (killed if it still runs: a test that failed midway) and waited for, its pipe closed."""
    if program.poll() is None:
        program.kill()
    program.wait()
    program.stderr.close()


def session_of(server: Server, pid: int) -> dict:
    return wait_until(lambda: next((s for s in server.get("api/sessions").json() if s["pid"] == pid), None))


def test_a_server_killed_mid_stream_keeps_every_event_that_reached_it(tmp_path: Path, busy: Path):
    """Once: the server dying lost every session (they were in memory only)."""
    server = Server(log=tmp_path / "serve.log")
    program = traced(server, busy, 10**9, "-o", str(tmp_path / "all.gsc"))  # until it is stopped
    try:
        session = session_of(server, program.pid)
        seen = wait_until(lambda: (n := server.get(f"api/sessions/{session['id']}").json()["events"]) > 5000 and n)
        server.proc.kill()  # SIGKILL: no chance to save anything
        server.proc.wait(10)
    finally:
        program.terminate()
        program.wait(30)
        reap(program)
        server.close()
    again = Server(log=tmp_path / "serve.log", data=server.data)  # the same data directory
    try:
        [listed] = again.get("api/sessions").json()
        assert listed["id"] == session["id"] and listed["state"] == "crashed" and listed["events"] >= seen
        assert "dashboard stopped" in listed["error"]
        _, kept, complete = read_recording(again.get(f"api/sessions/{listed['id']}/recording").content)
        _, everything, _ = read_recording((tmp_path / "all.gsc").read_bytes())
        assert not complete and len(kept) == listed["events"] and kept == everything[: len(kept)]
    finally:
        again.close()


def test_a_dashboard_stopped_while_a_program_exits_loses_nothing_unsaid(tmp_path: Path, noisy: Path):
    """Once: 229k of 2.0M events went missing with lost=0, the session "crashed" though the program exited 0.
    Now: what the dashboard got + what the program saved for it + what was counted lost = what it produced."""
    server = Server(log=tmp_path / "serve.log")
    fallback = tmp_path / "unsent.gsc"
    flags = ["-o", str(tmp_path / "all.gsc"), "--fallback", str(fallback), "--flush-timeout", "0.5"]
    program = traced(server, noisy, 100_000, *flags)  # 2.6M events, 13 MB: more than the sockets' buffers hold
    try:
        session = session_of(server, program.pid)
        wait_until(lambda: server.get(f"api/sessions/{session['id']}").json()["events"] > 1000)
        server.proc.send_signal(signal.SIGSTOP)
        try:
            assert program.wait(60) == 0  # the program's own status, whatever became of its dashboard
            note = program.stderr.read()
        finally:
            server.proc.send_signal(signal.SIGCONT)
        url = f"api/sessions/{session['id']}"
        wait_until(lambda: server.get(url).json()["state"] != "running")
        got = server.get(url + "/recording").content
    finally:
        reap(program)
        server.close()
    assert fallback.exists(), (note, (tmp_path / "all.gsc").stat().st_size, len(got))
    received, received_lost = tally(got)
    saved, saved_lost = tally(fallback.read_bytes())
    produced, produced_lost = tally((tmp_path / "all.gsc").read_bytes())
    assert received + received_lost + saved + saved_lost == produced + produced_lost
    assert saved > 0 and f"did not take {saved + saved_lost} events in 0.5 s: they are in {fallback}" in note


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGHUP], ids=["SIGKILL", "SIGHUP"])
def test_no_traced_child_outlives_its_server(tmp_path: Path, signum: int):
    """Once: traced children of a server killed by SIGKILL (20/20) or SIGHUP (10/10) ran on as orphans."""
    server = Server(log=tmp_path / "serve.log")
    try:
        pids = [server.launch("saturation", duration=120.0)["pid"] for _ in range(2)]
        for pid in pids:
            wait_until(
                lambda pid=pid: any(
                    s["pid"] == pid and s["state"] == "running" for s in server.get("api/sessions").json()
                )
            )
        server.proc.send_signal(signum)
        server.proc.wait(20)
        wait_until(lambda: not any(running(pid) for pid in pids), timeout=5, what="the children to stop")
    finally:
        for pid in pids:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
        server.close()


def test_a_demo_is_never_launched_by_a_server_that_cannot_listen(tmp_path: Path):
    """Once: `serve --demo` on a busy port launched the demo, then failed, and left it orphaned."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        data = tmp_path / "data"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "visualizer",
                "serve",
                "--port",
                str(port),
                "--data-dir",
                str(data),
                "--demo",
                "saturation",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2 and "cannot listen" in result.stderr and result.stderr.count("\n") == 1
    assert not [p for p in data.iterdir() if p.suffix == ".json"]  # no session: nothing was launched


def test_a_full_disk_stops_a_sessions_recording_not_the_session(tmp_path: Path, busy: Path):
    """The dashboard's own disk full (a file-size limit here): the recording stops at its last whole frame and
    says so; the session streams on in memory."""

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    server = Server(log=tmp_path / "serve.log", preexec_fn=small_files)
    program = traced(server, busy, 20_000)
    try:
        session = session_of(server, program.pid)
        url = f"api/sessions/{session['id']}"
        stopped = wait_until(lambda: (s := server.get(url).json())["error"] and s)
        assert "File too large" in stopped["error"]
        assert program.wait(60) == 0
        done = wait_until(lambda: (s := server.get(url).json())["state"] == "ended" and s)
        _, kept, _ = read_recording(server.get(url + "/recording").content)  # whole frames, all readable
        # the session went on after its recording stopped: it holds every event, the file those before the limit
        assert 0 < len(kept) < done["events"] and done["complete"]
    finally:
        reap(program)
        server.close()


def test_what_a_launched_workload_could_not_send_is_taken_into_its_session(tmp_path: Path):
    """A launched workload exits while its dashboard is stopped: its agent saves the rest in the data directory,
    and the dashboard, going on, takes it into the session, which ends complete."""
    env = {**os.environ, "GREENSCOPE_FLUSH_TIMEOUT": "0.3"}
    server = Server(log=tmp_path / "serve.log", env=env)
    try:
        params = {"producers": 4, "consumers": 4, "items": 40_000, "maxsize": 10, "produce": 0.0, "work": 0.0}
        session = server.launch("pipeline", **params)  # ~1.2M events, ~3 MB: more than the sockets' buffers hold
        url = f"api/sessions/{session['id']}"
        wait_until(lambda: server.get(url).json()["events"] > 1000)
        server.proc.send_signal(signal.SIGSTOP)
        try:
            wait_until(lambda: not running(session["pid"]), timeout=60, what="the workload's exit")
            assert (server.data / f"{session['id']}.unsent.gsc").exists()
        finally:
            server.proc.send_signal(signal.SIGCONT)
        done = wait_until(lambda: (s := server.get(url).json())["state"] != "running" and s)
        assert done["state"] == "ended" and done["complete"] and done["error"] is None, done
        _, events, complete = read_recording(server.get(url + "/recording").content)
        assert complete and len(events) == done["events"] and check(events) == []
        assert not (server.data / f"{session['id']}.unsent.gsc").exists()
    finally:
        server.close()

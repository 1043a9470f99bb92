"""`greenscope record` and `greenscope export`, run as a user would: real subprocesses, real files."""

from __future__ import annotations

import itertools
import json
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from runtime.trace.codec import EVENTS, MAGIC, encode_frame, read_recording
from runtime.trace.events import KIND_NAMES
from runtime.trace.states import check

PROGRAM = textwrap.dedent(
    """
    import runtime as eventlet

    q = eventlet.Queue(2, name="jobs")
    pool = eventlet.GreenPool(3, name="workers")

    def work(i):
        eventlet.sleep(0.001 * i)
        q.put(i)
        return i

    def consume():
        for _ in range(10):
            q.get()
            eventlet.sleep(0.001)

    c = eventlet.spawn(consume)
    print(sum(pool.imap(work, range(10))))
    c.wait()
    """
)


def greenscope(*args: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "visualizer", *args], capture_output=True, text=True, timeout=timeout, **kw
    )


@pytest.fixture
def program(tmp_path: Path) -> Path:
    path = tmp_path / "prog.py"
    path.write_text(PROGRAM)
    return path


def test_record_then_export_round_trip(program: Path, tmp_path: Path):
    rec, chrome = tmp_path / "t.gsc", tmp_path / "t.json"
    result = greenscope("record", "-o", str(rec), str(program))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "45"
    process, events, complete = read_recording(rec.read_bytes())
    assert complete and process["program"] == "prog.py" and process["argv"] == [str(program)]
    kinds = {KIND_NAMES[e[0]] for e in events}
    assert {"spawn", "switch", "block", "wake", "exit", "resource", "pool", "queue"} <= kinds
    assert check(events) == []

    result = greenscope("export", str(rec), "--chrome", str(chrome))
    assert result.returncode == 0, result.stderr
    trace = json.loads(chrome.read_text())["traceEvents"]
    phases = {e["ph"] for e in trace}
    assert {"M", "X", "b", "e", "s", "f", "C", "i"} <= phases
    thread_names = {e["args"]["name"] for e in trace if e["ph"] == "M" and e["name"] == "thread_name"}
    assert "hub" in thread_names and any(name.endswith("work") for name in thread_names)
    counters = {e["name"] for e in trace if e["ph"] == "C"}
    assert {"pool workers", "queue jobs"} <= counters


def test_record_with_chrome_does_both(program: Path, tmp_path: Path):
    chrome = tmp_path / "out.json"
    result = greenscope("record", "--chrome", str(chrome), str(program), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "prog.gsc").is_file()
    assert json.loads(chrome.read_text())["traceEvents"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a greenscope recording"),
        (b"PK\x03\x04 a zip file", "bad magic bytes"),
        (MAGIC + b"\x00\x00\x00\x09\x02garbage!", "damaged compressed data"),
        (MAGIC + encode_frame(EVENTS, [])[:7], "truncated"),
        (MAGIC + encode_frame(EVENTS, []), "does not start with a hello frame"),
    ],
)
def test_export_refuses_bad_files_in_one_line(tmp_path: Path, content: bytes, message: str):
    bad = tmp_path / "bad.gsc"
    bad.write_bytes(content)
    result = greenscope("export", str(bad), "--chrome", str(tmp_path / "x.json"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert message in result.stderr and "bad.gsc" in result.stderr
    assert not (tmp_path / "x.json").exists()


def test_export_of_a_missing_file(tmp_path: Path):
    result = greenscope("export", str(tmp_path / "nope.gsc"), "--chrome", str(tmp_path / "x.json"))
    assert result.returncode == 2 and "No such file" in result.stderr and "Traceback" not in result.stderr


def test_a_crashed_program_leaves_a_readable_recording(tmp_path: Path):
    prog = tmp_path / "crash.py"
    prog.write_text(
        textwrap.dedent(
            """
            import os, runtime as eventlet
            def worker():
                for _ in range(200):
                    eventlet.sleep(0.001)
            gts = [eventlet.spawn(worker) for _ in range(3)]
            eventlet.sleep(0.15)   # the agent ships batches meanwhile
            os._exit(3)            # no clean stop: no END frame
            """
        )
    )
    rec = tmp_path / "crash.gsc"
    result = greenscope("record", "-o", str(rec), str(prog))
    assert result.returncode == 3
    _, events, complete = read_recording(rec.read_bytes())
    assert not complete and len(events) > 100
    exported = greenscope("export", str(rec), "--chrome", str(tmp_path / "c.json"))
    assert exported.returncode == 0 and "no end mark" in exported.stderr


def test_a_program_whose_dashboard_is_unreachable_runs_at_normal_speed(program: Path, tmp_path: Path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    result = greenscope("record", "--connect", f"127.0.0.1:{port}", str(program), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "45"
    assert time.monotonic() - start < 20


def test_record_of_a_missing_program(tmp_path: Path):
    result = greenscope("record", str(tmp_path / "nope.py"))
    assert result.returncode == 2 and "no such program" in result.stderr


def test_the_chrome_trace_is_well_formed(program: Path, tmp_path: Path):
    chrome = tmp_path / "t.json"
    assert greenscope("record", "--chrome", str(chrome), str(program), cwd=tmp_path).returncode == 0
    trace = json.loads(chrome.read_text())["traceEvents"]
    for e in trace:
        assert {"ph", "pid", "tid", "name"} <= e.keys(), e
        if e["ph"] != "M":
            assert e["ts"] >= 0, e
        if e["ph"] == "X":
            assert e["dur"] >= 0, e
    begins = {(e["cat"], e["id"]) for e in trace if e["ph"] == "b"}
    ends = {(e["cat"], e["id"]) for e in trace if e["ph"] == "e"}
    assert begins == ends  # every blocked span is closed
    starts = {e["id"]: e["ts"] for e in trace if e["ph"] == "s"}
    for f in (e for e in trace if e["ph"] == "f"):
        assert f["id"] in starts and starts[f["id"]] <= f["ts"]  # an arrow goes forward in time
    running = sorted((e["ts"], e["ts"] + e["dur"]) for e in trace if e["ph"] == "X" and e["tid"] != 0)
    for (_, end), (start, _) in itertools.pairwise(running):
        assert start >= end - 1e-3  # one greenthread runs at a time (to the nanosecond)

"""`greenscope record` and `greenscope export`, run as a user would: real subprocesses, real files."""

from __future__ import annotations

import itertools
import json
import os
import re
import resource
import socket
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest

from runtime.trace.codec import EVENTS, HELLO, MAGIC, encode_frame, read_recording
from runtime.trace.events import KIND_NAMES, describe
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


def _hand_made(n: int, columns: list, blob: bytes, kinds: bytes) -> bytes:
    head = json.dumps({"n": n, "columns": columns}).encode()
    body = zlib.compress(struct.pack(">I", len(head)) + head + kinds + blob, 9)
    return struct.pack(">IB", len(body) + 1, EVENTS) + body


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (_hand_made(2, [[7, 0, "i", 16], [7, 1, "j", 7]], bytes(16) + b'["a",1]', bytes([7, 7])), "holds str"),
        (
            _hand_made(1, [[2, 0, "i", 8], [2, 1, "j", 4], [2, 2, "i", 8]], bytes(8) + b"[[]]" + bytes(8), b"\x02"),
            "list",
        ),
        (
            _hand_made(
                15_000_000,
                [[7, 0, "i", 120_000_000], [7, 1, "i", 120_000_000]],
                bytes(240_000_000),
                b"\x07" * 15_000_000,
            ),
            "expands past",
        ),
    ],
    ids=["string-nready", "list-gid", "bomb"],
)
def test_export_refuses_crafted_recordings_in_one_line(tmp_path: Path, frame: bytes, message: str):
    bad = tmp_path / "crafted.gsc"
    hello = encode_frame(
        HELLO, {"schema": describe(), "process": {"pid": 1, "argv": [], "program": "p", "version": ""}}
    )
    bad.write_bytes(MAGIC + hello + frame * 4)
    result = greenscope("export", str(bad), "--chrome", str(tmp_path / "x.json"))
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr and message in result.stderr
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


def test_a_program_whose_dashboard_is_unreachable_runs_and_says_what_it_lost(program: Path, tmp_path: Path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GREENSCOPE_SECRET": "s3cret"}
    result = greenscope("record", "--connect", f"127.0.0.1:{port}", str(program), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "45"
    assert re.fullmatch(rf"greenscope: \d+ events did not reach the dashboard at 127.0.0.1:{port}\n", result.stderr)


def test_connecting_to_no_dashboard_of_yours_is_a_one_line_error(program: Path):
    result = greenscope("record", "--connect", "127.0.0.1:9", str(program))
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "no dashboard of yours takes agents at 127.0.0.1:9" in result.stderr


def test_a_file_size_limit_stops_the_recording_at_its_last_whole_frame(tmp_path: Path):
    """Once: the agent thread died, the file ended mid-frame, all of it was refused, and `record` had rc 1."""
    prog = tmp_path / "long.py"
    prog.write_text(
        "import runtime\nfor _ in range(20):\n    runtime.spawn(lambda: [runtime.sleep(0.001) for _ in range(500)])\n"
        "runtime.sleep(1.0)\nraise SystemExit(7)\n"
    )
    out = tmp_path / "long.gsc"
    limit = 60_000

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = greenscope("record", "-o", str(out), str(prog), preexec_fn=small_files)
    assert result.returncode == 7  # the program's, untouched
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"cannot write {out}: File too large; the recording stops at its last whole frame" in result.stderr
    process, events, complete = read_recording(out.read_bytes())  # every frame in it is whole
    assert process["program"] == "long.py" and events and not complete and out.stat().st_size <= limit


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

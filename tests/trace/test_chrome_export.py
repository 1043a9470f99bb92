"""`greenscope export --chrome` streams the trace out: a real subprocess on a recording of several frames gives
valid JSON with the trace the exporter gave before it streamed (``chrome_expected.json``), and its memory does not
grow with the recording."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from runtime.trace.chrome import to_chrome
from runtime.trace.codec import END, EVENTS, HELLO, MAGIC, encode_frame, read_recording
from runtime.trace.events import (
    BLOCK,
    CLOCK,
    DROPPED,
    EXIT,
    HUB_WAIT,
    HUB_WAKE,
    POOL,
    QUEUE,
    RESOURCE,
    SPAWN,
    STALL,
    SWITCH,
    TIMERS,
    WAKE,
    Batch,
    describe,
)

EXPECTED = Path(__file__).with_name("chrome_expected.json")
PROCESS = {"pid": 77, "argv": ["app.py"], "program": "app.py", "version": "0.1.0", "runtime": "greenscope"}
POOL_ID, QUEUE_ID = 0x7F00_0000_0010, 0x7F00_0000_0020
# every kind the exporter turns into something, in three frames: a wake's flow and a blocked span cross frames
FRAMES = [
    [
        (RESOURCE, 1_000, POOL_ID, "GreenPool", "workers", 2),
        (RESOURCE, 1_000, QUEUE_ID, "Queue", "jobs", 4),
        (SPAWN, 1_500, 2, 1, "fetch", "app.py:10 in main", POOL_ID),
        (SPAWN, 1_700, 3, 1, 'say "hi"', None, None),
        (POOL, 1_800, POOL_ID, 2, 2, 0),
        (SWITCH, 2_000, 1, 0),
        (SWITCH, 2_100, 0, 2),
        (BLOCK, 2_600, 2, "io_read", None, "10.0.0.1:443", "app.py:12 in fetch"),
        (SWITCH, 2_700, 2, 0),
        (SWITCH, 2_800, 0, 3),
        (BLOCK, 3_000, 3, "queue_get", QUEUE_ID, None, "app.py:20 in consume"),
        (QUEUE, 3_050, QUEUE_ID, 0, 4, 0, 1),
        (SWITCH, 3_100, 3, 0),
        (HUB_WAIT, 3_200, 0, 0.5),
    ],
    [
        (HUB_WAKE, 9_000, 0, 1),
        (WAKE, 9_100, 2, "fd_ready", 0, 0),
        (SWITCH, 9_300, 0, 2),
        (STALL, 9_300, 2, 25_000, ["app.py:13 in fetch", "json/__init__.py:346 in loads"]),
        (QUEUE, 40_000, QUEUE_ID, 1.0, 4, 0, 0),
        (WAKE, 40_100, 3, "put", 2, 0),
        (BLOCK, 40_200, 2, "sleep", None, 0.25, "app.py:14 in fetch"),
        (SWITCH, 40_300, 2, 0),
        (TIMERS, 40_400, 0, 1, 300),
        (HUB_WAIT, 40_500, -1, None),
        (HUB_WAKE, 41_000, -1, 0),
    ],
    [
        (SWITCH, 50_000, 0, 3),
        (EXIT, 50_200, 3, "error", "ValueError: bad\nline"),
        (SWITCH, 50_300, 3, 0),
        (DROPPED, 50_400, 12),
        (WAKE, 60_000, 2, "timer", 0, 700),
        (SWITCH, 60_100, 0, 2),
        (EXIT, 60_200, 2, "ok", None),
        (SWITCH, 60_300, 2, 1),
        (CLOCK, 61_000),
    ],
]


def write_recording(path: Path, frames: list[list[tuple]] | list[Batch], end: bool = True) -> None:
    with path.open("wb") as f:
        f.write(MAGIC + encode_frame(HELLO, {"schema": describe(), "process": PROCESS}))
        for events in frames:
            f.write(encode_frame(EVENTS, events))
        if end:
            f.write(encode_frame(END, {"dropped": 0}))


def export(recording: Path, out: Path) -> tuple[subprocess.CompletedProcess, int]:
    """``greenscope export --chrome`` in a child process: its result, and its peak RSS in KiB (wait4: this child's
    own, whatever other children did)."""
    command = [sys.executable, "-m", "visualizer", "export", str(recording), "--chrome", str(out)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()  # type: ignore[union-attr]
    proc.stderr.close()  # type: ignore[union-attr]
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr), usage.ru_maxrss


def canonical(trace: dict) -> dict:
    """`trace` with its events in a set-like order (their order in the file is free: the viewers sort them) and
    each blocked span's ``b``/``e`` pair taken together without its id (the ids number the spans in the order
    they are written)."""
    pairs: dict[int, dict] = {}
    events = []
    for event in trace["traceEvents"]:
        if event["ph"] in ("b", "e"):
            pairs.setdefault(event["id"], {})[event["ph"]] = {k: v for k, v in event.items() if k != "id"}
        else:
            events.append(event)
    assert all(set(pair) == {"b", "e"} for pair in pairs.values())  # each id: one begin, one end
    items = [json.dumps(e, sort_keys=True) for e in events] + [json.dumps(p, sort_keys=True) for p in pairs.values()]
    return {**trace, "traceEvents": sorted(items)}


def test_the_streamed_export_is_valid_json_with_the_trace_of_before(tmp_path: Path):
    rec, out = tmp_path / "app.gsc", tmp_path / "app.json"
    write_recording(rec, FRAMES)
    result, _ = export(rec, out)
    assert result.returncode == 0 and result.stderr == ""
    trace = json.loads(out.read_text(encoding="utf-8"))
    assert canonical(trace) == json.loads(EXPECTED.read_text())
    process, events, _ = read_recording(rec.read_bytes())
    assert canonical(to_chrome(process, events)) == canonical(trace)  # the dict form: the same trace
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.gsc", "app.json"]  # no partial file left


def test_a_recording_without_an_end_is_exported_with_a_note(tmp_path: Path):
    rec, out = tmp_path / "cut.gsc", tmp_path / "cut.json"
    write_recording(rec, FRAMES[:2], end=False)
    result, _ = export(rec, out)
    assert result.returncode == 0 and "has no end mark" in result.stderr
    assert {"M", "X", "b", "e", "s", "f", "C", "i"} <= {e["ph"] for e in json.loads(out.read_text())["traceEvents"]}


def test_a_recording_damaged_midway_leaves_no_trace_behind(tmp_path: Path):
    rec, out = tmp_path / "bad.gsc", tmp_path / "bad.json"
    write_recording(rec, FRAMES)
    whole = rec.read_bytes()
    rec.write_bytes(whole[: len(whole) - 20])  # the last frame cut: what came before was already written out
    result, _ = export(rec, out)
    assert result.returncode == 2 and "truncated" in result.stderr and result.stderr.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.gsc"]


def _busy(frames: int, greenthreads: int = 2_000) -> list[Batch]:
    """`frames` frames of 65,536 events of the same `greenthreads` running, blocking and being woken in turn."""
    cycle: list[tuple] = []
    for gid in range(2, greenthreads + 2):
        cycle += [
            (WAKE, 0, gid, "fd_ready", 0, 0),
            (SWITCH, 0, 0, gid),
            (BLOCK, 0, gid, "io_read", None, "10.0.0.1:443", "app.py:12 in fetch"),
            (SWITCH, 0, gid, 0),
        ]
    template = (cycle * (65_536 // len(cycle) + 1))[:65_536]
    batches = []
    for frame in range(frames):  # each a frame's events later, so time goes on
        at = frame * 65_536
        batches.append(Batch.of([(ev[0], (at + i) * 1_000, *ev[2:]) for i, ev in enumerate(template)]))
    return batches


def test_the_export_memory_does_not_grow_with_the_recording(tmp_path: Path):
    """Before it streamed, the exporter held every event and every trace event: 1M events took ~0.8 GB. Now 8
    times the events take about the same memory (the same greenthreads, the same frames)."""
    peaks = []
    batches = _busy(8)
    for frames in (1, 8):
        rec, out = tmp_path / f"busy{frames}.gsc", tmp_path / f"busy{frames}.json"
        write_recording(rec, batches[:frames])
        result, peak = export(rec, out)
        assert result.returncode == 0, result.stderr
        assert out.stat().st_size > frames * 65_536 * 50
        peaks.append(peak)
    assert peaks[1] - peaks[0] < 20 * 1024, peaks  # KiB: 7 more frames (458,752 events) add next to nothing

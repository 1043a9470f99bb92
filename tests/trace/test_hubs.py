"""A program with two OS threads, each running its own hub (examples/timeline/two_hubs.py), traced end to end:
events that know their hub, the invariants per hub, the Chrome export's tracks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from runtime.trace.chrome import to_chrome
from runtime.trace.codec import read_recording
from runtime.trace.events import HUB_WAIT, SPAWN
from runtime.trace.states import check, hubs, intervals

ROOT = Path(__file__).resolve().parents[2]


def test_two_hubs_in_two_threads(tmp_path: Path):
    out = tmp_path / "two.gsc"
    program = ROOT / "examples" / "timeline" / "two_hubs.py"
    cmd = [sys.executable, "-m", "visualizer", "record", "--no-patch", "-o", str(out), str(program)]
    subprocess.run(cmd, check=True, capture_output=True)
    process, events, complete = read_recording(out.read_bytes())
    assert complete
    assert {ev[2] for ev in events if ev[0] == HUB_WAIT} == {0, -1}  # the main thread's hub, and the other's
    hub_of = hubs(events)
    workers = [ev[2] for ev in events if ev[0] == SPAWN and ev[4] == "worker"]
    assert sorted(hub_of[g] for g in workers) == [-1, -1, -1, 0, 0]  # 3 in the other thread, 2 in main's
    assert set(intervals(events)) >= set(workers)
    assert check(events) == []  # greenthreads of two hubs run at once, one at a time on each
    tracks = {e["args"]["name"] for e in to_chrome(process, events)["traceEvents"] if e["name"] == "thread_name"}
    assert {"hub", "hub -1"} <= tracks

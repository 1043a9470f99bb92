"""Recordings of schema version 1 (tests/corpus/recordings, made by greenscope before version 2) still load:
their events come out in this version's shape, with the same state intervals, and export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime.trace.chrome import to_chrome
from runtime.trace.codec import read_recording
from runtime.trace.events import BLOCK, FIELDS, HUB_WAIT, VERSION, WAKE
from runtime.trace.states import check, intervals

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "recordings"
OLD = sorted(CORPUS.glob("v1-*.gsc"))


@pytest.mark.parametrize("path", OLD, ids=[p.stem for p in OLD])
def test_a_version_1_recording_loads_as_this_version(path: Path):
    assert VERSION == 2
    process, events, complete = read_recording(path.read_bytes())
    saved = json.loads(path.with_suffix(".intervals.json").read_text())
    assert complete and len(events) == saved["events"]
    assert all(len(ev) == 2 + len(FIELDS[ev[0]]) for ev in events)  # every field there
    assert all(ev[6] is None for ev in events if ev[0] == BLOCK)  # no code location then
    assert all(ev[5] == 0 for ev in events if ev[0] == WAKE)  # nor lateness
    assert all(ev[2] == 0 for ev in events if ev[0] == HUB_WAIT)  # one hub: the first
    assert {str(g): [list(iv) for iv in lane] for g, lane in intervals(events).items()} == saved["intervals"]
    assert check(events) == []
    assert to_chrome(process, events)["traceEvents"]

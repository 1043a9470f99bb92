"""From events to per-greenthread state intervals: what the timeline draws.

`intervals(events)` is a pure function, shared by the dashboard, the exporter and the
tests. Each greenthread's life becomes back-to-back intervals ``(start, end, state,
detail)``:

- ``running``: between the hub's switch into it and its switch back;
- ``ready``: spawned, or woken (or yielded), and not yet switched into — the scheduler
  latency; `detail` is the wake's cause (``spawn`` for a new greenthread);
- ``blocked``: parked; `detail` is the reason (``io_read``, ``queue_get``, ``sleep``, ...);
- ``done``: after it ended (a zero-length interval at the end; `detail` the outcome).

A greenthread seen first doing something (the main one, or any after a gap) is taken to
have been running since the start of the events. `check(events)` tests the invariants
the timeline relies on and returns the violations it finds.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import NamedTuple

from runtime.trace.events import BLOCK, DROPPED, EXIT, SPAWN, SWITCH, WAKE

__all__ = ["Interval", "check", "intervals"]

RUNNING, READY, BLOCKED, DONE = "running", "ready", "blocked", "done"


class Interval(NamedTuple):
    start: int
    end: int
    state: str
    detail: str | None


class _Life:
    __slots__ = ("detail", "exited", "out", "pending", "since", "state")

    def __init__(self, since: int, state: str, detail: str | None) -> None:
        self.since = since
        self.state = state
        self.detail = detail
        self.pending: tuple[str, str | None] | None = None  # what it becomes when switched out
        self.exited: str | None = None
        self.out: list[Interval] = []

    def move(self, ts: int, state: str, detail: str | None) -> None:
        if ts > self.since or self.state != state:
            self.out.append(Interval(self.since, ts, self.state, self.detail))
        self.since, self.state, self.detail = ts, state, detail


def intervals(events: Iterable[tuple]) -> dict[int, list[Interval]]:
    """Per greenthread id (the hub excluded), its state intervals in time order."""
    lives: dict[int, _Life] = {}
    first_ts: int | None = None
    last_ts = 0

    def life(gid: int, ts: int) -> _Life:
        lv = lives.get(gid)
        if lv is None:  # first seen acting: running since the beginning
            lv = lives[gid] = _Life(first_ts if first_ts is not None else ts, RUNNING, None)
        return lv

    for ev in events:
        kind, ts = ev[0], ev[1]
        if first_ts is None:
            first_ts = ts
        last_ts = ts
        if kind == SWITCH:  # from -> hub -> to, either side may be the hub (0)
            src, dst = ev[2], ev[3]
            if src:
                lv = life(src, ts)
                if lv.exited is not None:
                    lv.move(ts, DONE, lv.exited)
                elif lv.pending is not None:
                    lv.move(ts, *lv.pending)
                else:
                    lv.move(ts, READY, "yield")
                lv.pending = None
            if dst:
                life(dst, ts).move(ts, RUNNING, None)
        elif kind == BLOCK:
            life(ev[2], ts).pending = (BLOCKED, ev[3])
        elif kind == WAKE:
            lv = life(ev[2], ts)
            if lv.state == RUNNING:  # woken before its switch out (it blocked and was woken at once)
                lv.pending = (READY, ev[3])
            elif lv.state != DONE:
                lv.move(ts, READY, ev[3])
        elif kind == SPAWN:
            lives[ev[2]] = _Life(ts, READY, "spawn")
        elif kind == EXIT:
            lv = life(ev[2], ts)
            lv.exited = ev[3]
            if lv.state != RUNNING:  # ended without running on its own (killed before start, run inline)
                lv.move(ts, DONE, ev[3])
        elif kind == DROPPED:
            for lv in lives.values():  # what happened in the gap is unknown: cut every interval here
                if lv.state != DONE:
                    lv.move(ts, lv.state, lv.detail)
    for lv in lives.values():
        lv.move(last_ts, lv.state, lv.detail)
    return {gid: lv.out for gid, lv in lives.items()}


def check(events: list[tuple]) -> list[str]:
    """The invariants the timeline relies on; returns what is violated (empty: all hold).

    A greenthread's intervals never overlap and never go back in time; at most one
    greenthread runs at any instant; every block ends in a wake (or the end of the
    events); every wake names its cause and waker.
    """
    problems = []
    per_gid = intervals(events)
    running = []
    for gid, ivs in per_gid.items():
        for a, b in itertools.pairwise(ivs):
            if b.start < a.end:
                problems.append(f"gt{gid}: {a} overlaps {b}")
        for iv in ivs:
            if iv.end < iv.start:
                problems.append(f"gt{gid}: {iv} ends before it starts")
            if iv.state == RUNNING and iv.end > iv.start:
                running.append((iv.start, iv.end, gid))
    running.sort()
    for (_s1, e1, g1), (s2, _e2, g2) in itertools.pairwise(running):
        if s2 < e1:
            problems.append(f"gt{g1} and gt{g2} both run at {s2}")
    parked: dict[int, tuple] = {}
    for ev in events:
        if ev[0] == BLOCK:
            parked[ev[2]] = ev
        elif ev[0] == WAKE:
            if not ev[3] or ev[4] is None:
                problems.append(f"a wake without a cause or a waker: {ev}")
            parked.pop(ev[2], None)
        elif ev[0] == EXIT:
            parked.pop(ev[2], None)
    last = {iv_gid: ivs[-1] for iv_gid, ivs in per_gid.items() if ivs}
    for gid, ev in parked.items():
        end = last.get(gid)
        if end is None or end.state != BLOCKED:
            problems.append(f"gt{gid} blocked at {ev[1]} and was never woken, but is not blocked at the end")
    return problems

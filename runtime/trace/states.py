"""From events to per-greenthread state intervals: what the timeline draws.

This module owns the state semantics. The page (`static/js/trace.js`) runs the same
machine on the table `schema()` gives it, and a golden corpus (`tests/corpus/states/`)
holds both to the same intervals (pytest here, ``node --test`` there).

`intervals(events)` is a pure function, shared by the dashboard, the exporter and the
tests. Each greenthread's life (hubs, gid <= 0, are not greenthreads) becomes back-to-back
intervals ``(start, end, state, detail)`` in one of `STATES`:

- ``running``: from the hub's switch into it to its switch back;
- ``ready``: spawned, woken or yielded, not yet switched into (the scheduler latency);
  `detail` is the wake's cause (``spawn`` for a new greenthread, ``yield``);
- ``io``, ``queue``, ``sync``, ``pool``, ``sleep``: parked, by the block's reason
  (`BLOCKED_BY`; any other reason is ``sync``); `detail` is the reason;
- ``lost``: events were lost (a ``dropped`` event): what it did from the last event
  before the loss until its next event is unknown; `detail` is ``events lost``;
- ``done``: after it ended, to the end of the events; `detail` the outcome.

The rules, each decided once:

- A transition closes the open interval at its ts, kept even when zero-length (that
  state did happen); a transition to the same state and detail changes nothing.
- Time never goes back within a lane: a transition older than the lane's open interval
  (events from two OS threads interleave) happens at that interval's start; nothing
  happens before the first event.
- A greenthread first seen acting (the main one) has been running since the first event;
  but where the events start midway through a run (a span of a recording, or the part of a
  session memory holds: `midway`), what it did before its first event there is unknown:
  ``lost`` from the first event, `detail` ``before these events``.
- A spawn of a gid already known starts its life afresh at the spawn, on the same lane;
  what came before stays.
- A block takes effect when the hub switches away from the greenthread; a wake that
  comes before that switch (it blocked and was woken at once) makes it ready then.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from runtime.trace.events import BLOCK, DROPPED, EXIT, SPAWN, SWITCH, WAKE, describe

__all__ = [
    "BLOCKED_BY",
    "LABELS",
    "STATES",
    "WAITING",
    "Interval",
    "Machine",
    "check",
    "hubs",
    "intervals",
    "schema",
    "state_of",
]

RUNNING, READY, IO, QUEUE, SYNC, POOL, SLEEP, LOST, DONE = STATES = (
    "running",
    "ready",
    "io",
    "queue",
    "sync",
    "pool",
    "sleep",
    "lost",
    "done",
)
#: how each state is named to people (legend, filters, details, findings)
LABELS = {
    RUNNING: "running",
    READY: "ready to run",
    IO: "blocked on I/O",
    QUEUE: "blocked on a queue",
    SYNC: "blocked on a lock / event / join",
    POOL: "waiting for a pool slot",
    SLEEP: "sleeping",
    LOST: "unknown (events lost)",
    DONE: "done",
}
#: block reason -> state; a reason not listed is SYNC
BLOCKED_BY = {
    "io_read": IO,
    "io_write": IO,
    "thread": IO,  # an OS thread does the blocking call for it (name resolution, tpool)
    "queue_get": QUEUE,
    "queue_put": QUEUE,
    "pool_slot": POOL,
    "sleep": SLEEP,
}
#: the states of a parked greenthread
WAITING = frozenset((IO, QUEUE, SYNC, POOL, SLEEP))
LOST_DETAIL = "events lost"
BEFORE_DETAIL = "before these events"


def state_of(reason: str) -> str:
    """The state a greenthread blocked for `reason` is in."""
    return BLOCKED_BY.get(reason, SYNC)


def schema() -> dict:
    """The event schema and this module's state table, as the page receives it."""
    return {
        **describe(),
        "states": list(STATES),
        "labels": [LABELS[s] for s in STATES],
        "blocked_by": dict(BLOCKED_BY),
        "blocked_otherwise": SYNC,
        "lost_detail": LOST_DETAIL,
        "before_detail": BEFORE_DETAIL,
    }


class Interval(NamedTuple):
    start: int
    end: int
    state: str
    detail: str | None


_new = tuple.__new__  # an Interval without NamedTuple's Python-level __new__: a third of the time here


class _Life:
    __slots__ = ("close", "detail", "exited", "pending", "since", "state")

    def __init__(self, since: int, state: str, detail: str | None, close: Callable[[int, int, str, Any], Any]) -> None:
        self.since = since
        self.state = state
        self.detail = detail
        self.pending: tuple[str, str | None] | None = None  # what it becomes when switched out
        self.exited: str | None = None  # its outcome, once it ended
        self.close = close  # where its intervals go as they close: close(start, end, state, detail)

    def move(self, ts: int, state: str, detail: str | None) -> None:
        if state == self.state and detail == self.detail:
            return
        since = self.since
        if ts < since:
            ts = since
        self.close(since, ts, self.state, self.detail)
        self.since, self.state, self.detail = ts, state, detail


class Machine:
    """The state machine, fed events a batch at a time. Each greenthread's intervals go, as they
    close, to ``sink(gid)(start, end, state, detail)`` (one call, no interval built unless the
    sink builds it); `open_intervals()` gives those still open."""

    def __init__(self, sink: Callable[[int], Callable[[int, int, str, Any], Any]], midway: bool = False) -> None:
        self.sink = sink
        self.first_seen = (LOST, BEFORE_DETAIL) if midway else (RUNNING, None)  # a greenthread first seen acting
        self.lives: dict[int, _Life] = {}
        self.first: int | None = None  # the first event's ts
        self.last = 0  # the latest ts

    def life(self, gid: int) -> _Life:
        lv = self.lives.get(gid)
        if lv is None:  # first seen acting: running since the first event (unknown, midway)
            lv = self.lives[gid] = _Life(self.first, *self.first_seen, self.sink(gid))  # type: ignore[arg-type]
        return lv

    def feed(self, events: Iterable[tuple]) -> None:
        lives, life, first, last_ts = self.lives, self.life, self.first, self.last
        get = lives.get  # the hot loop: a switch is most events, a known gid most lookups
        for ev in events:
            kind, ts = ev[0], ev[1]
            if first is None:
                first = self.first = ts
            elif ts < first:  # nothing happens before the first event
                ts = first
            if kind == SWITCH:  # from -> hub -> to, either side may be a hub (gid <= 0)
                src, dst = ev[2], ev[3]
                if src > 0:
                    lv = get(src) or life(src)
                    if lv.exited is not None:
                        lv.move(ts, DONE, lv.exited)
                    elif lv.pending is not None:
                        lv.move(ts, *lv.pending)
                    else:
                        lv.move(ts, READY, "yield")
                    lv.pending = None
                if dst > 0:
                    (get(dst) or life(dst)).move(ts, RUNNING, None)
            elif kind == BLOCK:
                lv = life(ev[2])
                if lv.state == READY and lv.detail == "spawn":  # not started yet: its start waits (spawn_after)
                    lv.move(ts, state_of(ev[3]), ev[3])
                else:  # the running greenthread parks: that is its state once it is switched out
                    lv.pending = (state_of(ev[3]), ev[3])
            elif kind == WAKE:
                lv = life(ev[2])
                if lv.state == RUNNING:
                    lv.pending = (READY, ev[3])
                elif lv.state != DONE:
                    lv.move(ts, READY, ev[3])
            elif kind == SPAWN:
                lv = get(ev[2])
                if lv is None:
                    lives[ev[2]] = _Life(ts, READY, "spawn", self.sink(ev[2]))
                else:
                    lv.move(ts, READY, "spawn")
                    lv.pending = lv.exited = None
            elif kind == EXIT:
                lv = life(ev[2])
                lv.exited = ev[3]
                if lv.state != RUNNING:  # ended without running on its own (killed before it started)
                    lv.move(ts, DONE, ev[3])
            elif kind == DROPPED:
                for lv in lives.values():  # unknown from the last event before the loss
                    if lv.state != DONE:
                        lv.move(last_ts, LOST, LOST_DETAIL)
                        lv.pending = None
            if ts > last_ts:
                last_ts = ts
        self.last = last_ts

    def open_intervals(self, until: int | None = None) -> dict[int, Interval]:
        """Each greenthread's interval still open, up to `until` (default: the latest ts)."""
        last = self.last if until is None else until
        return {gid: Interval(lv.since, max(last, lv.since), lv.state, lv.detail) for gid, lv in self.lives.items()}


def intervals(events: Iterable[tuple], midway: bool = False) -> dict[int, list[Interval]]:
    """Per greenthread id (the hub excluded), its state intervals in time order, up to the
    last event's ts (`midway`: the events start midway through the run, see the rules)."""
    out: dict[int, list[Interval]] = {}

    def sink(gid: int) -> Callable[[int, int, str, Any], None]:
        out[gid] = []
        add = out[gid].append
        return lambda start, end, state, detail: add(_new(Interval, (start, end, state, detail)))

    machine = Machine(sink, midway)
    machine.feed(events)
    for gid, iv in machine.open_intervals().items():
        out[gid].append(iv)
    return out


def hubs(events: Iterable[tuple]) -> dict[int, int]:
    """Per greenthread id, the hub (gid <= 0) that runs it, as its switches say."""
    hub_of: dict[int, int] = {}
    for ev in events:
        if ev[0] == SWITCH:
            src, dst = ev[2], ev[3]
            if src > 0 and dst > 0:  # straight from one to the next: the same hub
                hub_of[src] = hub_of[dst] = hub_of.get(src, hub_of.get(dst, 0))
            elif src > 0:
                hub_of[src] = dst
            elif dst > 0:
                hub_of[dst] = src
    return hub_of


def check(events: list[tuple]) -> list[str]:
    """The invariants the timeline relies on; returns what is violated (empty: all hold).

    A greenthread's intervals never overlap and never go back in time; at most one
    greenthread runs at any instant on each hub (each OS thread has its own); every block
    ends in a wake (or the end of the events); every wake names its cause and waker.
    """
    problems = []
    per_gid = intervals(events)
    hub_of = hubs(events)
    running: dict[int, list[tuple[int, int, int]]] = {}
    for gid, ivs in per_gid.items():
        for a, b in itertools.pairwise(ivs):
            if b.start < a.end:
                problems.append(f"gt{gid}: {a} overlaps {b}")
        for iv in ivs:
            if iv.end < iv.start:
                problems.append(f"gt{gid}: {iv} ends before it starts")
            if iv.state == RUNNING and iv.end > iv.start:
                running.setdefault(hub_of.get(gid, 0), []).append((iv.start, iv.end, gid))
    for runs in running.values():
        runs.sort()
        for (_s1, e1, g1), (s2, _e2, g2) in itertools.pairwise(runs):
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
        if end is None or end.state not in WAITING:
            problems.append(f"gt{gid} blocked at {ev[1]} and was never woken, but is not blocked at the end")
    return problems

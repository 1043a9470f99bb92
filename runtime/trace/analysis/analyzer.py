"""The `Analyzer`: events in, a report out (`analyse` for a whole list at once), and `relative`.

`feed` reads each batch once: blocks, wakes and exits (the waits on pools, queues and the
like, who waits now), spawns (functions, pool members and when each asked for a slot),
resources and their state changes, stalls caught by the monitor, the live control's pace;
the state machine (`states.Machine`) turns the same events into intervals for the lanes.
`report` puts together the parts (greenthreads, resources, findings) over [start, stop).
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from typing import Any

from runtime.trace.analysis.distributions import of_sorted
from runtime.trace.analysis.findings import LATE_NS, ranked_findings
from runtime.trace.analysis.greenthreads import TASK_SORTS, Lane, function_reports, task_rows
from runtime.trace.analysis.resources import Steps, other_reports, pool_reports, queue_reports
from runtime.trace.events import BLOCK, CONTROL, EXIT, POOL, QUEUE, RESOURCE, SPAWN, STALL, SWITCH, WAKE
from runtime.trace.states import STATES, Machine

__all__ = ["STALL_NS", "Analyzer", "analyse", "relative"]

STALL_NS = 20_000_000  # running this long without yielding is a stall (20 ms)


class Analyzer:
    """The analysis of a stream of events over [start, stop), fed a batch at a time; `report()` at any point."""

    def __init__(self, start: int | None = None, stop: int | None = None, stall_ns: int = STALL_NS) -> None:
        self.start = -(2**63) if start is None else start
        self.stop = 2**63 if stop is None else stop
        self.stall_ns = stall_ns
        self.lanes: dict[int, Lane] = {}
        self.machine = Machine(self._lane)
        self.func: dict[int, str] = {1: "main"}
        self.site: dict[int, str] = {}
        self.pool_of: dict[int, int] = {}
        self.spawned: dict[int, int] = {}
        self.exited: dict[int, int] = {}
        self.resources: dict[int, dict] = {}
        self.steps: dict[int, Steps] = {}
        self.waiting: dict[int, tuple] = {}  # gid -> (start, reason, obj) of its open wait
        self.waits: dict[int, list[tuple]] = defaultdict(list)  # pool or queue obj -> (gid, reason, start, end)
        self.slot_waited: dict[tuple[int, int], deque] = defaultdict(deque)  # (spawner, pool) -> wait starts
        self.arrivals: dict[int, list[int]] = defaultdict(list)  # pool -> when each request for a slot came
        self.stalls: list[dict] = []
        self.wakes: dict[int, int] = defaultdict(int)
        self.beyond = False  # an event after the range was seen
        self.stacks: dict[tuple[int, int], list[str]] = {}  # (gid, start) -> the stack its stall was caught in
        self.late: list[tuple[int, int, int]] = []  # (ts, gid, ns) of each wake by a timer that fired late
        self.paces: list[tuple[int, float]] = []  # (ts, speed) from the live control: slow motion stretches turns

    def speed_at(self, ts: int) -> float:
        """The share of real time the hub ran at, at `ts`: a turn stretched in slow motion is not a stall."""
        i = bisect.bisect_right(self.paces, (ts, math.inf)) - 1 if self.paces else -1
        return self.paces[i][1] if i >= 0 else 1.0

    def _lane(self, gid: int) -> Callable[[int, int, str, Any], None]:
        lane = self.lanes[gid] = Lane(self, gid)
        return lane.close

    def feed(self, events: Iterable[tuple]) -> Analyzer:
        """Take these events (those after the range are left out: the state at its end is the one reported)."""
        given = events if isinstance(events, list) else list(events)
        events = [ev for ev in given if ev[1] <= self.stop]
        if len(events) < len(given):
            self.beyond = True  # the run went on past the range: what was going on at its end lasts to it
        for ev in events:
            kind, ts = ev[0], ev[1]
            if kind == SWITCH:  # most events: the machine's alone
                continue
            if kind == BLOCK:
                self.waiting[ev[2]] = (ts, ev[3], ev[4], ev[5], ev[6])
            elif kind == WAKE or kind == EXIT:
                if kind == WAKE:
                    self.wakes[ev[2]] += 1
                    if ev[5] >= LATE_NS and self.start <= ts <= self.stop:
                        self.late.append((ts, ev[2], ev[5]))
                wait = self.waiting.pop(ev[2], None)
                if wait is not None:
                    self._waited(ev[2], *wait[:3], ts)
                if kind == EXIT:
                    self.exited[ev[2]] = ts
            elif kind == SPAWN:
                self._spawn(ts, *ev[2:])
            elif kind == STALL:
                self.stacks[(ev[2], ts)] = ev[4]
            elif kind == CONTROL:
                self.paces.append((ts, ev[3] or 1.0))  # paused, stepped: its steps run at full speed
            elif kind == RESOURCE:
                self.resources[ev[2]] = {"obj": ev[2], "type": ev[3], "name": ev[4], "size": ev[5], "created": ts}
                self.steps[ev[2]] = Steps(ts)
            elif kind == POOL or kind == QUEUE:
                steps = self.steps.setdefault(ev[2], Steps(ts))
                steps.step(self, ts, ev[3:], "pool" if kind == POOL else "queue")
        self.machine.feed(events)
        return self

    def _spawn(self, ts: int, gid: int, parent: int, func: str, site: str, pool: int | None) -> None:
        self.func[gid], self.site[gid], self.spawned[gid] = func, site, ts
        if pool is not None:
            self.pool_of[gid] = pool
            waited = self.slot_waited.get((parent, pool))
            self.arrivals[pool].append(waited.popleft() if waited else ts)  # it came when its spawner began to wait

    def _waited(self, gid: int, start: int, reason: str, obj: Any, end: int) -> None:
        if obj is not None:  # a pool, queue, semaphore or event (the recorder names no other object)
            self.waits[obj].append((gid, reason, start, end))
            if reason == "pool_slot":
                self.slot_waited[(gid, obj)].append(start)

    # ------------------------------------------------------------------ the report

    def report(self, tasks: int = 500, sort: str = "blocked") -> dict:
        """The analysis of what was fed so far (JSON-ready), with the first `tasks` greenthreads in the
        order `sort` names (one of `TASK_SORTS`)."""
        m = self.machine
        if m.first is None:
            return {
                "span": [0, 0],
                "states": {},
                "pools": [],
                "queues": [],
                "functions": [],
                "tasks": [],
                "findings": [],
            }
        start, stop = max(self.start, m.first), self.stop if self.beyond else min(self.stop, m.last)
        stalls: list[dict] = [dict(s) for s in self.stalls]  # (the report's own: `relative` moves them)
        open_ivs = m.open_intervals(stop)
        lanes = {gid: lane.with_open(open_ivs[gid], stalls) for gid, lane in self.lanes.items()}
        for lane in lanes.values():  # each sorted once: sorting several lanes' together is then a merge of runs
            lane.latency = sorted(lane.latency)  # type: ignore[assignment]
        for s in stalls:
            s["func"] = self.func.get(s["gid"], "?")
            s["stack"] = self.stacks.get((s["gid"], s["start"]))  # as the stall monitor caught it, if it did
        functions, every = function_reports(self, lanes, stalls)
        pools = pool_reports(self, start, stop)
        queues = queue_reports(self, start, stop)
        others = other_reports(self, stop)
        states = dict.fromkeys(STATES, 0)
        for f in functions:
            for s, ns in f["states"].items():
                states[s] += ns
        latency = of_sorted(every)
        rows = sorted(task_rows(self, lanes, open_ivs), key=TASK_SORTS[sort])
        return {
            "span": [start, stop],
            "states": states,
            "pools": pools,
            "queues": queues,
            "others": others,
            "functions": functions,
            "tasks": rows[:tasks],
            "task_count": len(rows),
            "latency": latency,
            "stalls": stalls,
            "findings": ranked_findings(self, pools, queues, functions, stalls, latency),
        }


def relative(report: dict, origin: int) -> dict:
    """`report` with its moments (not its durations) as ns since `origin`, in place: the page counts time from
    the session's first event (exact in its float64s whatever the machine's uptime)."""
    report["span"] = [t - origin for t in report["span"]] if report["span"] != [0, 0] else [0, 0]
    moments = [*report["tasks"], *report.get("stalls", ())]
    for r in (*report["pools"], *report["queues"], *report.get("others", ())):
        moments += [*r.get("waiting_now", ()), *r.get("putters_now", ()), *r.get("getters_now", ())]
        if r.get("longest_wait"):
            moments.append(r["longest_wait"])
    moments += report["findings"]
    for m in moments:
        for key in ("since", "start", "at"):
            if m.get(key) is not None:
                m[key] -= origin
    return report


def analyse(
    events: Iterable[tuple], start: int | None = None, stop: int | None = None, stall_ns: int = STALL_NS
) -> dict:
    """The analysis of `events` (over [start, stop) if given, absolute ns), JSON-ready."""
    return Analyzer(start, stop, stall_ns).feed(events).report()

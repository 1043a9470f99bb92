"""What the greenthreads did: each one's totals, summed per function, and a row per greenthread.

A `Lane` is one greenthread's totals over the range (time per state and per block reason,
scheduler latencies, stalls), fed its intervals as the state machine closes them: the hot
path of the analysis. From the lanes, `function_reports` sums them per spawned function and
`task_rows` makes the tasks table (ordered by one of `TASK_SORTS`).
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from typing import TYPE_CHECKING

from runtime.trace.analysis.distributions import of_sorted
from runtime.trace.states import READY, RUNNING, STATES, WAITING, Interval

if TYPE_CHECKING:
    from runtime.trace.analysis.analyzer import Analyzer

__all__ = ["TASK_SORTS", "Lane", "function_reports", "task_rows"]

#: how the tasks (a row per greenthread) can be ordered: the most first (then by gid), or by gid
TASK_SORTS = {
    "blocked": lambda r: (-r["blocked"], r["gid"]),
    "running": lambda r: (-r["running"], r["gid"]),
    "ready": lambda r: (-r["ready"], r["gid"]),
    "latency": lambda r: (-r["latency"]["max"], r["gid"]),
    "wakes": lambda r: (-r["wakes"], r["gid"]),
    "gid": lambda r: r["gid"],
}


class Lane:
    """One greenthread's totals over the range, fed its intervals as they close (a Machine's sink)."""

    __slots__ = (
        "an",
        "gid",
        "hi",
        "latency",
        "lo",
        "ready_end",
        "ready_start",
        "reasons",
        "stall_ns",
        "stalls",
        "states",
    )

    def __init__(self, an: Analyzer, gid: int) -> None:
        self.an = an
        self.gid = gid
        self.lo, self.hi, self.stall_ns = an.start, an.stop, an.stall_ns  # (read once: the hot path is close)
        self.states: dict[str, int] = defaultdict(int)
        self.reasons: dict[str, int] = defaultdict(int)
        self.latency = array("q")  # ready -> running, ns
        self.stalls = an.stalls
        self.ready_start = self.ready_end = -1  # the last interval, if it was ready to run

    def close(self, start: int, end: int, state: str, detail: str | None) -> None:
        """The next interval of this greenthread closed."""
        lo, hi = self.lo, self.hi
        d = (end if end < hi else hi) - (start if start > lo else lo)
        if d > 0:
            self.states[state] += d
            if state in WAITING:
                self.reasons[detail] += d  # type: ignore[index]
        if state == READY:
            self.ready_start, self.ready_end = start, end
            return
        if state == RUNNING:
            if self.ready_start >= 0 and lo <= self.ready_end <= hi:
                self.latency.append(self.ready_end - self.ready_start)
            turn = end - start  # (slow motion only stretches a turn: at speed < 1 it is shorter on the program's time)
            if turn >= self.stall_ns and lo <= start < hi and turn * self.an.speed_at(start) >= self.stall_ns:
                self.stalls.append({"gid": self.gid, "start": start, "ns": end - start})
        self.ready_start = -1

    def with_open(self, iv: Interval, stalls: list) -> Lane:
        """A copy of these totals with `iv` (the interval still open) counted, its stall (if any) into `stalls`."""
        out = Lane(self.an, self.gid)
        out.states, out.reasons = defaultdict(int, self.states), defaultdict(int, self.reasons)
        out.latency, out.stalls = array("q"), stalls
        out.ready_start, out.ready_end = self.ready_start, self.ready_end
        out.close(*iv)
        out.latency = self.latency + out.latency
        return out


def function_reports(an: Analyzer, lanes: dict[int, Lane], stalls: list[dict]) -> tuple[list[dict], list[int]]:
    """Per function: count, time per state and per block reason, scheduler latency, stalls; and every
    greenthread's scheduler latencies, in order (the lanes' `latency` must be in order)."""
    funcs: dict[str, dict] = {}
    latencies: dict[str, list[int]] = defaultdict(list)
    for gid, lane in lanes.items():
        name = an.func.get(gid, "?")
        f = funcs.get(name)
        if f is None:
            f = funcs[name] = {"func": name, "count": 0, "states": dict.fromkeys(STATES, 0), "reasons": {}}
        f["count"] += 1
        for s, ns in lane.states.items():
            f["states"][s] += ns
        for r, ns in lane.reasons.items():
            f["reasons"][r] = f["reasons"].get(r, 0) + ns
        latencies[name] += lane.latency
    every: list[int] = []
    for name, f in funcs.items():
        ordered = sorted(latencies[name])  # sorted runs: a merge
        f["latency"] = of_sorted(ordered)
        every += ordered
        mine = [s for s in stalls if s["func"] == name]
        f["stalls"], f["stall_ns"] = len(mine), sum(s["ns"] for s in mine)
    return sorted(funcs.values(), key=lambda f: f["func"]), sorted(every)


def task_rows(an: Analyzer, lanes: dict[int, Lane], open_ivs: dict[int, Interval]) -> list[dict]:
    """A row per greenthread: who, its state at the end and since when, time per kind of state, wakes,
    scheduler latency, and what it waits for now."""
    names = {obj: r["name"] for obj, r in an.resources.items()}
    rows = []
    for gid, lane in lanes.items():
        iv, wait = open_ivs[gid], an.waiting.get(gid)
        st = lane.states
        dist = of_sorted(lane.latency)  # (sorted by `report`)
        rows.append(
            {
                "gid": gid,
                "func": an.func.get(gid, "?"),
                "site": an.site.get(gid),
                "pool": names.get(an.pool_of.get(gid)),  # type: ignore[arg-type]
                "state": iv.state,
                "since": iv.start,
                "running": st.get(RUNNING, 0),
                "ready": st.get(READY, 0),
                "blocked": sum(ns for s, ns in st.items() if s in WAITING),
                "wakes": an.wakes.get(gid, 0),
                "latency": {"p50": dist["p50"], "max": dist["max"]},
                "parked": None if wait is None or iv.state not in WAITING else _parked(wait),
            }
        )
    return rows


def _parked(wait: tuple) -> dict:
    """What an open wait (ts, reason, obj, detail, where) waits for, and where in the user's code."""
    _, reason, obj, detail, where = wait
    return {"reason": reason, "obj": obj, "detail": detail, "where": where}

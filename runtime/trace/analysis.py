"""Why is the program slow: pools, queues, functions and findings, computed from events.

`analyse(events)` is a pure function, like `states.intervals` (whose state machine it runs):
the dashboard serves its numbers, the page shows them as they are, and tests check them
exactly. `Analyzer` is the same, fed a batch at a time (a live session: only what came
since the last report is read). Everything is in nanoseconds of the events' own clock;
greenthreads are named by gid, pools and queues by their ``obj`` id and name.

- **pools**: the share of their life they were full (running == size, whether or not
  anyone waits), the mean share of their slots in use, the spawners waiting for a slot now
  and since when, the slot waits (p50 / p95 / max), completions per second, the mean time a
  member holds a slot, and the size Little's law asks for (arrivals per second times the mean hold).
- **queues**: the share of time full and empty, put and get waits, who waits now.
- **others** (semaphores, events): the waits on each, who waits now.
- **functions**: per spawned function, how many, time per state and per block reason,
  scheduler latency (woken → running) and stalls (running without yielding for longer
  than `stall_ns`: the hub and every other greenthread waited).
- **findings**: sentences with the numbers, ranked by the time they cost, each with the
  greenthread to select (`gid`) and the moment to show (`at`).

With `start` / `stop` (absolute ns), only that range counts: the page's range selection.
"""

from __future__ import annotations

import bisect
import math
from array import array
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from runtime.trace.events import BLOCK, CONTROL, EXIT, POOL, QUEUE, RESOURCE, SPAWN, STALL, SWITCH, WAKE
from runtime.trace.states import READY, RUNNING, STATES, WAITING, Interval, Machine

__all__ = ["STALL_NS", "TASK_SORTS", "Analyzer", "analyse", "distribution", "relative"]

STALL_NS = 20_000_000  # running this long without yielding is a stall (20 ms)
SATURATED = 0.5  # a pool (or queue) full this share of its life is a finding
LATENCY_NS = 10_000_000  # a p95 scheduler latency above this is a finding
LATE_NS = 1_000_000  # a timer that fires this late is worth saying
#: how the tasks (a row per greenthread) can be ordered: the most first (then by gid), or by gid
TASK_SORTS = {
    "blocked": lambda r: (-r["blocked"], r["gid"]),
    "running": lambda r: (-r["running"], r["gid"]),
    "ready": lambda r: (-r["ready"], r["gid"]),
    "latency": lambda r: (-r["latency"]["max"], r["gid"]),
    "wakes": lambda r: (-r["wakes"], r["gid"]),
    "gid": lambda r: r["gid"],
}


def distribution(values: Iterable[int]) -> dict:
    """count, p50, p95, max and total of durations (ns); nearest-rank percentiles."""
    return _of_sorted(sorted(values))


def _of_sorted(ordered: Sequence[int]) -> dict:
    """`distribution` of values already in order."""
    if not ordered:
        return {"count": 0, "p50": 0, "p95": 0, "max": 0, "total": 0}

    def rank(p: float) -> int:
        return ordered[max(0, math.ceil(p * len(ordered)) - 1)]

    return {"count": len(ordered), "p50": rank(0.5), "p95": rank(0.95), "max": ordered[-1], "total": sum(ordered)}


def _num(v: float) -> str:
    """Three significant digits, no exponent: 1000, 12.5, 0.304."""
    if v == 0:
        return "0"
    text = f"{v:.{max(0, 2 - math.floor(math.log10(abs(v))))}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _ms(ns: float) -> str:
    return f"{_num(ns / 1e6)} ms" if ns < 1e9 else f"{_num(ns / 1e9)} s"


class _Lane:
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

    def with_open(self, iv: Interval, stalls: list) -> _Lane:
        """A copy of these totals with `iv` (the interval still open) counted, its stall (if any) into `stalls`."""
        out = _Lane(self.an, self.gid)
        out.states, out.reasons = defaultdict(int, self.states), defaultdict(int, self.reasons)
        out.latency, out.stalls = array("q"), stalls
        out.ready_start, out.ready_end = self.ready_start, self.ready_end
        out.close(*iv)
        out.latency = self.latency + out.latency
        return out


class _Steps:
    """A pool's or queue's state over time, integrated over the range as it comes."""

    __slots__ = ("at", "busy", "created", "empty", "full", "values")

    def __init__(self, created: int) -> None:
        self.created = created
        self.at = created
        self.values: tuple | None = None
        self.full = self.empty = self.busy = 0.0

    def step(self, an: Analyzer, ts: int, values: tuple, kind: str) -> None:
        self.flush(an, ts, kind)
        self.at, self.values = max(ts, self.at), values

    def flush(self, an: Analyzer, until: int, kind: str, into: _Steps | None = None) -> None:
        """Add the time since the last change (up to `until`) to `into` (default: self)."""
        into = into or self
        d = min(until, an.stop) - max(self.at, an.start)
        v = self.values
        if d <= 0 or v is None:
            return
        if kind == "pool":  # (size, running, waiting)
            into.full += d if v[0] > 0 and v[1] >= v[0] else 0
            into.busy += v[1] * d
        else:  # (size, maxsize, putters, getters)
            into.full += d if v[1] is not None and v[1] > 0 and v[0] >= v[1] else 0
            into.empty += d if v[0] == 0 else 0


class Analyzer:
    """The analysis of a stream of events over [start, stop), fed a batch at a time; `report()` at any point."""

    def __init__(self, start: int | None = None, stop: int | None = None, stall_ns: int = STALL_NS) -> None:
        self.start = -(2**63) if start is None else start
        self.stop = 2**63 if stop is None else stop
        self.stall_ns = stall_ns
        self.lanes: dict[int, _Lane] = {}
        self.machine = Machine(self._lane)
        self.func: dict[int, str] = {1: "main"}
        self.site: dict[int, str] = {}
        self.pool_of: dict[int, int] = {}
        self.spawned: dict[int, int] = {}
        self.exited: dict[int, int] = {}
        self.resources: dict[int, dict] = {}
        self.steps: dict[int, _Steps] = {}
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
        lane = self.lanes[gid] = _Lane(self, gid)
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
                self.steps[ev[2]] = _Steps(ts)
            elif kind == POOL or kind == QUEUE:
                steps = self.steps.setdefault(ev[2], _Steps(ts))
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
        functions, every = self._functions(lanes, stalls)
        pools, queues, others = self._pools(start, stop), self._queues(start, stop), self._others(stop)
        states = dict.fromkeys(STATES, 0)
        for f in functions:
            for s, ns in f["states"].items():
                states[s] += ns
        latency = _of_sorted(every)
        rows = sorted(self._tasks(lanes, open_ivs), key=TASK_SORTS[sort])
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
            "findings": self._findings(pools, queues, functions, stalls, latency),
        }

    def _functions(self, lanes: dict[int, _Lane], stalls: list[dict]) -> tuple[list[dict], list[int]]:
        """Per function: count, time per state and per block reason, scheduler latency, stalls; and every
        greenthread's scheduler latencies, in order (the lanes' `latency` must be in order)."""
        funcs: dict[str, dict] = {}
        latencies: dict[str, list[int]] = defaultdict(list)
        for gid, lane in lanes.items():
            name = self.func.get(gid, "?")
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
            f["latency"] = _of_sorted(ordered)
            every += ordered
            mine = [s for s in stalls if s["func"] == name]
            f["stalls"], f["stall_ns"] = len(mine), sum(s["ns"] for s in mine)
        return sorted(funcs.values(), key=lambda f: f["func"]), sorted(every)

    def _tasks(self, lanes: dict[int, _Lane], open_ivs: dict[int, Interval]) -> list[dict]:
        """A row per greenthread: who, its state at the end and since when, time per kind of state, wakes,
        scheduler latency, and what it waits for now."""
        names = {obj: r["name"] for obj, r in self.resources.items()}
        rows = []
        for gid, lane in lanes.items():
            iv, wait = open_ivs[gid], self.waiting.get(gid)
            st = lane.states
            dist = _of_sorted(lane.latency)  # (sorted by `report`)
            rows.append(
                {
                    "gid": gid,
                    "func": self.func.get(gid, "?"),
                    "site": self.site.get(gid),
                    "pool": names.get(self.pool_of.get(gid)),  # type: ignore[arg-type]
                    "state": iv.state,
                    "since": iv.start,
                    "running": st.get(RUNNING, 0),
                    "ready": st.get(READY, 0),
                    "blocked": sum(ns for s, ns in st.items() if s in WAITING),
                    "wakes": self.wakes.get(gid, 0),
                    "latency": {"p50": dist["p50"], "max": dist["max"]},
                    "parked": None if wait is None or iv.state not in WAITING else _parked(wait),
                }
            )
        return rows

    def _waits_of(self, obj: int, reason: str, stop: int) -> list[tuple[int, int, int, bool]]:
        """(gid, start, ns waited by `stop`, still waiting) of each wait for `reason` on `obj` in the range."""
        out = [(g, s, min(e, stop) - s, e > stop) for g, r, s, e in self.waits.get(obj, ()) if r == reason]
        out += [(g, s, stop - s, True) for g, (s, r, o, *_) in self.waiting.items() if r == reason and o == obj]
        return [w for w in out if w[1] < stop and w[1] + w[2] >= self.start]

    def _pools(self, start: int, stop: int) -> list[dict]:
        out = []
        for obj, res in self.resources.items():
            if res["type"] != "pool":
                continue
            steps, life0 = self.steps[obj], max(res["created"], start)
            life = max(1, stop - life0)
            total = _Steps(0)
            total.full, total.busy = steps.full, steps.busy
            steps.flush(self, stop, "pool", into=total)
            waits = self._waits_of(obj, "pool_slot", stop)
            longest = max(waits, key=lambda w: w[2], default=None)
            members = [g for g, p in self.pool_of.items() if p == obj and start <= self.spawned[g] < stop]
            holds = [self.exited[g] - self.spawned[g] for g in members if self.exited.get(g, stop + 1) <= stop]
            hold = sum(holds) / len(holds) if holds else 0.0
            arrived = [t for t in self.arrivals.get(obj, ()) if start <= t < stop]
            arrived += [s for g, s, _, still in waits if still]
            window = max(arrived) - min(arrived) if len(arrived) > 1 else 0
            arrivals = (len(arrived) - 1) / (window / 1e9) if window else 0.0
            size = steps.values[0] if steps.values else res["size"]
            out.append(
                {
                    "obj": obj,
                    "name": res["name"],
                    "size": size,
                    "life": life,
                    "full": int(total.full),
                    "full_share": total.full / life,
                    "occupancy": total.busy / life / size if size else 0.0,
                    "waiting_now": [{"gid": g, "since": s} for g, s, _, still in sorted(waits, key=_start) if still],
                    "longest_wait": None if longest is None else _at(longest[0], longest[1], ns=longest[2]),
                    "slot_wait": distribution(w[2] for w in waits),
                    "members": len(members),
                    "completions": len(holds),
                    "throughput": len(holds) / (life / 1e9),
                    "hold_mean": hold,
                    "arrivals": arrivals,
                    "little": math.ceil(arrivals * hold / 1e9) if holds and arrivals else None,
                }
            )
        return out

    def _queues(self, start: int, stop: int) -> list[dict]:
        out = []
        for obj, res in self.resources.items():
            if res["type"] != "queue":
                continue
            steps, life = self.steps[obj], max(1, stop - max(res["created"], start))
            total = _Steps(0)
            total.full, total.empty = steps.full, steps.empty
            steps.flush(self, stop, "queue", into=total)
            puts, gets = self._waits_of(obj, "queue_put", stop), self._waits_of(obj, "queue_get", stop)
            out.append(
                {
                    "obj": obj,
                    "name": res["name"],
                    "maxsize": res["size"],
                    "life": life,
                    "full_share": total.full / life,
                    "empty_share": total.empty / life,
                    "put_wait": distribution(w[2] for w in puts),
                    "get_wait": distribution(w[2] for w in gets),
                    "putters_now": [{"gid": g, "since": s} for g, s, _, still in puts if still],
                    "getters_now": [{"gid": g, "since": s} for g, s, _, still in gets if still],
                }
            )
        return out

    def _others(self, stop: int) -> list[dict]:
        """Semaphores, events and the like: the waits on each, and who waits now."""
        out = []
        for obj, res in self.resources.items():
            if res["type"] in ("pool", "queue"):
                continue
            waits = [w for reason in self._reasons_on(obj) for w in self._waits_of(obj, reason, stop)]
            out.append(
                {
                    "obj": obj,
                    "name": res["name"],
                    "type": res["type"],
                    "size": res["size"],
                    "wait": distribution(w[2] for w in waits),
                    "waiting_now": [{"gid": g, "since": s} for g, s, _, still in sorted(waits, key=_start) if still],
                }
            )
        return out

    def _reasons_on(self, obj: int) -> set[str]:
        """Why greenthreads waited on `obj`."""
        done = {r for _, r, _, _ in self.waits.get(obj, ())}
        return done | {r for s, r, o, *_ in self.waiting.values() if o == obj}

    def _findings(self, pools: list, queues: list, functions: list, stalls: list, latency: dict) -> list[dict]:
        out = []
        for p in pools:
            sw, w = p["slot_wait"], p["longest_wait"]
            if p["full_share"] >= SATURATED and sw["count"]:
                where = self.site.get(w["gid"]) or self.func.get(w["gid"], "?")
                text = (
                    f"pool `{p['name']}` was full {100 * p['full_share']:.0f} % of {_ms(p['life'])};"
                    f" {sw['count']} spawner{'s' * (sw['count'] != 1)} waited for a slot p95 {_ms(sw['p95'])}"
                    f" (longest {_ms(w['ns'])}, gt{w['gid']} at {where})."
                )
                if p["little"]:
                    text += (
                        f" A size of ~{p['little']} would keep up with {_num(p['arrivals'])} arrivals/s"
                        f" x {_ms(p['hold_mean'])} held each."
                    )
                out.append(
                    {"kind": "pool", "obj": p["obj"], "impact": sw["total"], "text": text, **_at(w["gid"], w["at"])}
                )
        for f in functions:
            if not f["stalls"]:
                continue
            mine = [s for s in stalls if s["func"] == f["func"]]
            worst = max(mine, key=lambda s: s["ns"])
            gids = {s["gid"] for s in mine}
            who = f"gt{worst['gid']} `{f['func']}`"
            if len(gids) > 1:
                who = f"{len(gids)} greenthreads running `{f['func']}`"
            if len(mine) == 1:
                held = f"once, for {_ms(worst['ns'])}"
            else:
                held = f"{len(mine)} times, for up to {_ms(worst['ns'])} ({_ms(f['stall_ns'])} in all)"
            caught = next((s["stack"][-1] for s in sorted(mine, key=lambda s: -s["ns"]) if s["stack"]), None)
            text = f"{who} held the hub {held}" + (f", in {caught}" if caught else "")
            during = [(s["start"], s["start"] + s["ns"] + LATE_NS) for s in mine]
            late = [ns for ts, _, ns in self.late if any(a <= ts <= b for a, b in during)]
            text += f": timers fired up to {_ms(max(late))} late." if late else ": every other greenthread waited."
            at = _at(worst["gid"], worst["start"], ns=worst["ns"])
            out.append({"kind": "stall", "impact": f["stall_ns"], "text": text, **at})
        for q in queues:
            pw = q["put_wait"]
            if q["full_share"] >= SATURATED and pw["count"]:
                text = (
                    f"queue `{q['name']}` was full {100 * q['full_share']:.0f} % of {_ms(q['life'])}: {pw['count']}"
                    f" puts waited p95 {_ms(pw['p95'])}: its consumers are slower than its producers."
                )
                out.append({"kind": "queue", "obj": q["obj"], "impact": pw["total"], "text": text, **_at(None, None)})
        if latency["count"] and latency["p95"] >= LATENCY_NS:
            text = (
                f"woken greenthreads waited p95 {_ms(latency['p95'])} (max {_ms(latency['max'])}) before they ran:"
                " the hub was busy with others."
            )
            out.append({"kind": "latency", "impact": latency["total"], "text": text, **_at(None, None)})
        return sorted(out, key=lambda f: -f["impact"])


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


def _parked(wait: tuple) -> dict:
    """What an open wait (ts, reason, obj, detail, where) waits for, and where in the user's code."""
    _, reason, obj, detail, where = wait
    return {"reason": reason, "obj": obj, "detail": detail, "where": where}


def _start(wait: tuple) -> int:
    return wait[1]


def _at(gid: int | None, at: int | None, **more: Any) -> dict:
    """Where a finding (or a wait) points: the greenthread to select and the moment to show."""
    return {"gid": gid, "at": at, **more}


def analyse(
    events: Iterable[tuple], start: int | None = None, stop: int | None = None, stall_ns: int = STALL_NS
) -> dict:
    """The analysis of `events` (over [start, stop) if given, absolute ns), JSON-ready."""
    return Analyzer(start, stop, stall_ns).feed(events).report()

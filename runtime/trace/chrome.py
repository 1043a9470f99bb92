"""Chrome Trace Event JSON (what Perfetto and chrome://tracing open), from events. No I/O.

- one track (``tid``) per greenthread, and ``tid`` 0 for the hub, named by metadata events;
- a complete (``X``) slice each time a greenthread ran, named after its function;
- a track for each hub (0 the main thread's), and on it a slice for each wait in its poller;
- a ``stall`` slice, with the stack it was caught in, where a greenthread held its hub;
- blocked spans as async slices (``b``/``e``, one id each), so they never break nesting;
- a flow arrow from each wake to the run it caused;
- counter (``C``) tracks for each pool (running / waiting) and queue (size / putters / getters);
- instant events for spawn and exit.
Timestamps are microseconds from the first event.
"""

from __future__ import annotations

from typing import Any

from runtime.trace.events import EXIT, HUB_WAIT, HUB_WAKE, POOL, QUEUE, RESOURCE, SPAWN, STALL, SWITCH, WAKE
from runtime.trace.states import RUNNING, WAITING, intervals

__all__ = ["to_chrome"]


def to_chrome(process: dict, events: list[tuple]) -> dict[str, Any]:
    """The Chrome trace of `events` recorded in `process` (its HELLO description)."""
    pid = int(process.get("pid") or 1)
    t0 = events[0][1] if events else 0

    def us(ts: int) -> float:
        return (ts - t0) / 1000.0

    out: list[dict] = [
        {"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": str(process.get("program", "?"))}},
    ]
    names: dict[int, str] = {1: "main"}
    resources: dict[int, str] = {}
    pending_flows: dict[int, int] = {}  # gid -> flow id of its last wake, waiting for its next run
    flow_id = 0
    poll_start: dict[int, int] = {}  # hub -> when its poller wait began
    hubs = {0}
    for ev in events:
        kind, ts = ev[0], ev[1]
        if kind == SPAWN:
            names[ev[2]] = ev[4]
            out.append(_instant(pid, ev[2], us(ts), "spawn", {"parent": ev[3], "site": ev[5], "pool": ev[6]}))
        elif kind == EXIT:
            out.append(_instant(pid, ev[2], us(ts), f"exit {ev[3]}", {"error": ev[4]} if ev[4] else {}))
        elif kind == WAKE:
            flow_id += 1
            pending_flows[ev[2]] = flow_id
            out.append({"ph": "s", "id": flow_id, "name": ev[3], "cat": "wake", "pid": pid, "tid": _tid(ev[4])})
            out[-1]["ts"] = us(ts)
        elif kind == SWITCH and ev[3] > 0 and ev[3] in pending_flows:
            fid = pending_flows.pop(ev[3])
            out.append(
                {"ph": "f", "bp": "e", "id": fid, "name": "wake", "cat": "wake", "pid": pid, "tid": ev[3], "ts": us(ts)}
            )
        elif kind == HUB_WAIT:
            poll_start[ev[2]] = ts
            hubs.add(ev[2])
        elif kind == HUB_WAKE and ev[2] in poll_start:
            out.append(_slice(pid, _tid(ev[2]), us(poll_start.pop(ev[2])), us(ts), "poll", {"ready": ev[3]}))
        elif kind == STALL:  # on the culprit's track: what it was doing, caught while it held the hub
            out.append(_slice(pid, ev[2], us(ts), us(ts + ev[3]), "stall", {"stack": ev[4]}))
        elif kind == RESOURCE:
            resources[ev[2]] = f"{ev[3]} {ev[4]}"
        elif kind == POOL:
            name = resources.get(ev[2], f"pool {_hex(ev[2])}")
            out.append(_counter(pid, us(ts), name, {"running": ev[4], "waiting": ev[5]}))
        elif kind == QUEUE:
            name = resources.get(ev[2], f"queue {_hex(ev[2])}")
            out.append(_counter(pid, us(ts), name, {"size": ev[3], "putters": ev[5], "getters": ev[6]}))
    for hub in sorted(hubs, reverse=True):  # the main thread's hub first
        tid, name = _tid(hub), "hub" if hub == 0 else f"hub {hub}"
        out.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": name}})
        out.append({"ph": "M", "name": "thread_sort_index", "pid": pid, "tid": tid, "args": {"sort_index": hub - 1}})
    block_id = 0
    for gid, ivs in intervals(events).items():
        out.append(
            {"ph": "M", "name": "thread_name", "pid": pid, "tid": gid, "args": {"name": f"{gid} {names.get(gid, '?')}"}}
        )
        for iv in ivs:
            if iv.state == RUNNING:
                out.append(_slice(pid, gid, us(iv.start), us(iv.end), names.get(gid, "run"), {}))
            elif iv.state in WAITING:
                block_id += 1
                common = {"cat": "blocked", "name": iv.detail or "blocked", "pid": pid, "tid": gid, "id": block_id}
                out.append({"ph": "b", "ts": us(iv.start), **common})
                out.append({"ph": "e", "ts": us(iv.end), **common})
    return {"traceEvents": out, "displayTimeUnit": "ns", "otherData": {"greenscope": process}}


def _tid(gid: int) -> int:
    """A track for a greenthread (its gid) or a hub: the main thread's is 0, others' are far from any gid."""
    return gid if gid >= 0 else 2**31 + gid


def _hex(obj: int | None) -> str:
    return f"{obj:#x}" if type(obj) is int else str(obj)


def _slice(pid: int, tid: int, start: float, end: float, name: str, args: dict) -> dict:
    return {"ph": "X", "pid": pid, "tid": tid, "ts": start, "dur": max(end - start, 0.0), "name": name, "args": args}


def _instant(pid: int, tid: int, ts: float, name: str, args: dict) -> dict:
    return {"ph": "i", "s": "t", "pid": pid, "tid": tid, "ts": ts, "name": name, "args": args}


def _counter(pid: int, ts: float, name: str, args: dict) -> dict:
    return {"ph": "C", "pid": pid, "tid": 0, "ts": ts, "name": name, "args": args}

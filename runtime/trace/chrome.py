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

`chrome_json` writes the trace as JSON text a batch of events at a time, in memory that holds one batch and a
few fields per greenthread seen (not the whole trace): a slice goes out as soon as it ends. Its trace events are
in that order, not grouped by track (the viewers sort them). `to_chrome` is the same trace as a dict.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from runtime.trace.events import EXIT, HUB_WAIT, HUB_WAKE, POOL, QUEUE, RESOURCE, SPAWN, STALL, SWITCH, WAKE
from runtime.trace.states import RUNNING, WAITING, Machine

__all__ = ["chrome_json", "to_chrome"]

_QUOTED_MOST = 1 << 16  # distinct strings whose JSON is kept (names, causes, peers repeat)


def to_chrome(process: dict, events: list[tuple]) -> dict[str, Any]:
    """The Chrome trace of `events` recorded in `process` (its HELLO description)."""
    return json.loads("".join(chrome_json(process, [events])))


def chrome_json(process: dict, batches: Iterable[list[tuple]]) -> Iterator[str]:
    """The Chrome trace of the events in `batches` (consecutive runs of a recording's events, in order) recorded
    in `process`, as pieces of JSON text to write one after the other: a piece per batch, and the head and tail."""
    trace = _Trace(process)
    yield '{"traceEvents":[' + trace.head
    for events in batches:
        if events:
            trace.feed(events)
        if trace.out:
            yield "," + ",".join(trace.out)
            trace.out.clear()
    trace.finish()
    yield "," + ",".join(trace.out)
    yield '],"displayTimeUnit":"ns","otherData":' + json.dumps({"greenscope": process}) + "}"


class _Trace:
    """The conversion's state: what each greenthread is called, the flows and poller waits under way, the state
    machine; `out` the trace events (JSON text) made since it was last emptied."""

    def __init__(self, process: dict) -> None:
        self.pid = int(process.get("pid") or 1)
        self.head = _object(
            ph="M", name="process_name", pid=self.pid, tid=0, args={"name": str(process.get("program", "?"))}
        )
        self.out: list[str] = []
        self.t0: int | None = None
        self.names: dict[int, str] = {1: "main"}
        self.resources: dict[int, str] = {}
        self.pending_flows: dict[int, int] = {}  # gid -> flow id of its last wake, waiting for its next run
        self.flow_id = 0
        self.block_id = 0
        self.poll_start: dict[int, int] = {}  # hub -> when its poller wait began
        self.hubs = {0}
        self.machine = Machine(self._track)
        self._quoted: dict[str, str] = {}

    def quote(self, value: Any) -> str:
        """`value` as JSON (kept for the strings that repeat)."""
        if type(value) is not str:  # (1, 1.0 and True are one key)
            return json.dumps(value)
        text = self._quoted.get(value)
        if text is None:
            if len(self._quoted) >= _QUOTED_MOST:
                self._quoted.clear()
            text = self._quoted[value] = json.dumps(value)
        return text

    def us(self, ts: int) -> str:
        return repr((ts - self.t0) / 1000.0)  # type: ignore[operator]

    def feed(self, events: list[tuple]) -> None:
        if self.t0 is None:
            self.t0 = events[0][1]
        out, pid, quote, us, t0 = self.out, self.pid, self.quote, self.us, self.t0
        for ev in events:
            kind, ts = ev[0], ev[1]
            if kind == SWITCH:
                fid = self.pending_flows.pop(ev[3], None) if ev[3] > 0 else None
                if fid is not None:
                    out.append(
                        f'{{"ph":"f","bp":"e","id":{fid},"name":"wake","cat":"wake","pid":{pid},"tid":{ev[3]},'
                        f'"ts":{(ts - t0) / 1000.0!r}}}'
                    )
            elif kind == WAKE:
                self.flow_id += 1
                self.pending_flows[ev[2]] = self.flow_id
                out.append(
                    f'{{"ph":"s","id":{self.flow_id},"name":{quote(ev[3])},"cat":"wake","pid":{pid},'
                    f'"tid":{_tid(ev[4])},"ts":{(ts - t0) / 1000.0!r}}}'
                )
            elif kind == SPAWN:
                self.names[ev[2]] = ev[4]
                args = f'{{"parent":{ev[3]},"site":{quote(ev[5])},"pool":{quote(ev[6])}}}'
                out.append(_instant(pid, ev[2], us(ts), '"spawn"', args))
            elif kind == EXIT:
                args = f'{{"error":{quote(ev[4])}}}' if ev[4] else "{}"
                out.append(_instant(pid, ev[2], us(ts), quote(f"exit {ev[3]}"), args))
            elif kind == HUB_WAIT:
                self.poll_start[ev[2]] = ts
                self.hubs.add(ev[2])
            elif kind == HUB_WAKE and ev[2] in self.poll_start:
                start = self.poll_start.pop(ev[2])
                out.append(_slice(pid, _tid(ev[2]), start, ts, t0, '"poll"', f'{{"ready":{ev[3]}}}'))
            elif kind == STALL:  # on the culprit's track: what it was doing, caught while it held the hub
                out.append(_slice(pid, ev[2], ts, ts + ev[3], t0, '"stall"', json.dumps({"stack": ev[4]})))
            elif kind == RESOURCE:
                self.resources[ev[2]] = f"{ev[3]} {ev[4]}"
            elif kind == POOL:
                name = self.resources.get(ev[2], f"pool {_hex(ev[2])}")
                out.append(_counter(pid, us(ts), quote(name), {"running": ev[4], "waiting": ev[5]}))
            elif kind == QUEUE:
                name = self.resources.get(ev[2], f"queue {_hex(ev[2])}")
                out.append(_counter(pid, us(ts), quote(name), {"size": ev[3], "putters": ev[5], "getters": ev[6]}))
        self.machine.feed(events)

    def finish(self) -> None:
        """The hubs' tracks, and the intervals still open at the last event."""
        for hub in sorted(self.hubs, reverse=True):  # the main thread's hub first
            tid, name = _tid(hub), "hub" if hub == 0 else f"hub {hub}"
            self.out.append(_object(ph="M", name="thread_name", pid=self.pid, tid=tid, args={"name": name}))
            self.out.append(
                _object(ph="M", name="thread_sort_index", pid=self.pid, tid=tid, args={"sort_index": hub - 1})
            )
        lives = self.machine.lives
        for gid, iv in self.machine.open_intervals().items():
            lives[gid].close(iv.start, iv.end, iv.state, iv.detail)

    def _track(self, gid: int) -> Callable[[int, int, str, Any], None]:
        """A greenthread's track (named now) and where its intervals go as they end: a slice while it ran, an
        async slice while it was blocked."""
        name = f"{gid} {self.names.get(gid, '?')}"
        self.out.append(_object(ph="M", name="thread_name", pid=self.pid, tid=gid, args={"name": name}))
        out, pid, quote = self.out, self.pid, self.quote

        def close(start: int, end: int, state: str, detail: Any) -> None:
            t0 = self.t0
            if state == RUNNING:
                out.append(_slice(pid, gid, start, end, t0, quote(self.names.get(gid, "run")), "{}"))  # type: ignore[arg-type]
            elif state in WAITING:
                self.block_id += 1
                common = (
                    f'"cat":"blocked","name":{quote(detail or "blocked")},"pid":{pid},"tid":{gid},"id":{self.block_id}'
                )
                out.append(f'{{"ph":"b","ts":{(start - t0) / 1000.0!r},{common}}}')  # type: ignore[operator]
                out.append(f'{{"ph":"e","ts":{(end - t0) / 1000.0!r},{common}}}')  # type: ignore[operator]

        return close


def _tid(gid: int) -> int:
    """A track for a greenthread (its gid) or a hub: the main thread's is 0, others' are far from any gid."""
    return gid if gid >= 0 else 2**31 + gid


def _hex(obj: int | None) -> str:
    return f"{obj:#x}" if type(obj) is int else str(obj)


def _object(**fields: Any) -> str:
    return json.dumps(fields, separators=(",", ":"))


def _slice(pid: int, tid: int, start: int, end: int, t0: int, name: str, args: str) -> str:
    """A complete slice from `start` to `end` (ns; `name` and `args` as JSON)."""
    begin = (start - t0) / 1000.0
    dur = max((end - t0) / 1000.0 - begin, 0.0)
    return f'{{"ph":"X","pid":{pid},"tid":{tid},"ts":{begin!r},"dur":{dur!r},"name":{name},"args":{args}}}'


def _instant(pid: int, tid: int, ts: str, name: str, args: str) -> str:
    return f'{{"ph":"i","s":"t","pid":{pid},"tid":{tid},"ts":{ts},"name":{name},"args":{args}}}'


def _counter(pid: int, ts: str, name: str, args: dict) -> str:
    return f'{{"ph":"C","pid":{pid},"tid":0,"ts":{ts},"name":{name},"args":{json.dumps(args)}}}'

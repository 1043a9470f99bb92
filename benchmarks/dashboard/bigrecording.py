"""A recording of ~10M events written with the codec directly (`write_big_recording`): the shape of a busy server
traced by ``greenscope record``, made in seconds instead of the minutes a real program would take.

The main greenthread spawns `greenthreads` handlers (in a pool, named after a few functions); then, round after
round, the hub runs each in turn: it is woken (by the hub for a socket or a timer, by another greenthread for a
queue or a lock), switched into, and either blocks again (on a socket read with its peer, a sleep with its
timeout, a queue get, a lock; each with the code line that blocked) or yields; every 16 runs the hub polls
(``hub_wait`` / ``hub_wake``, now and then ``timers``). In the last round each one exits (one in 500 with an
error). The same event kinds, fields and frame layout a traced program writes: EVENTS frames of
`codec.FRAME_EVENTS` events between a HELLO and an END."""

from __future__ import annotations

from pathlib import Path

from runtime.trace.codec import END, EVENTS, FRAME_EVENTS, HELLO, MAGIC, encode_frame
from runtime.trace.events import (
    BLOCK,
    EXIT,
    HUB_WAIT,
    HUB_WAKE,
    POOL,
    QUEUE,
    RESOURCE,
    SPAWN,
    SWITCH,
    TIMERS,
    WAKE,
    Batch,
    describe,
)

QUEUE_ID, POOL_ID = 0x7F3A_0000_1000, 0x7F3A_0000_2000
FUNCS = ("handle_request", "fetch_upstream", "write_log", "refresh_cache")
# what a run ends in: (block reason, the wake's cause, where it blocked); None: a yield (sleep(0))
ENDINGS = (
    ("io_read", "fd_ready", "server.py:51 in handle_request"),
    ("io_read", "fd_ready", "upstream.py:88 in fetch_upstream"),
    ("io_write", "fd_ready", "server.py:63 in handle_request"),
    ("sleep", "timer", "cache.py:20 in refresh_cache"),
    ("sleep", "timer", "upstream.py:95 in fetch_upstream"),
    ("queue_get", "put", "log.py:12 in write_log"),
    ("lock", "release", "cache.py:31 in refresh_cache"),
    None,
)
EVENTS_PER_RUN = (7 * 4 + 2) / 8 + 1 / 8 + 2 / 16 + 2 / 64  # wake, switch in, block, switch out (a yield: 2);
# a queue's state after a get; the hub's polls, timers and pool


class _Frames:
    """Events gathered by kind, in order, written as an EVENTS frame each `FRAME_EVENTS` events."""

    def __init__(self, out: object) -> None:
        self.out = out
        self.count = 0
        self._reset()

    def _reset(self) -> None:
        self.kinds = bytearray()
        self.columns: dict[int, list[list]] = {}

    def add(self, kind: int, *values: object) -> None:
        self.kinds.append(kind)
        cols = self.columns.get(kind)
        if cols is None:
            cols = self.columns[kind] = [[] for _ in values]
        for col, value in zip(cols, values, strict=True):
            col.append(value)

    def flush(self, force: bool = False) -> None:
        if len(self.kinds) >= FRAME_EVENTS or (force and self.kinds):
            self.out.write(encode_frame(EVENTS, Batch(bytes(self.kinds), self.columns)))  # type: ignore[attr-defined]
            self.count += len(self.kinds)
            self._reset()


def rounds_for(greenthreads: int, events: int) -> int:
    """The rounds that make about `events` events with `greenthreads` greenthreads."""
    return max(2, round(events / (greenthreads * EVENTS_PER_RUN)))


def write_big_recording(path: Path, greenthreads: int = 20_000, events: int = 10_000_000, span_s: float = 0) -> int:
    """Write the recording (about `events` events) to `path`; the number of events it holds. With `span_s`, the
    rounds are spread over that many seconds, the hub waiting in its poller between them (a server busy now and
    then, for an hour, say)."""
    rounds = rounds_for(greenthreads, events)
    every = int(span_s * 1e9 / rounds)  # ns from a round's start to the next's
    process = {"pid": 4242, "argv": ["server.py"], "program": "server.py", "cwd": "/srv", "runtime": "greenscope"}
    ts = 1_000_000_000_000
    with path.open("wb") as out:
        out.write(MAGIC + encode_frame(HELLO, {"schema": describe(), "process": {**process, "version": "0.1.0"}}))
        frames = _Frames(out)
        add = frames.add
        add(RESOURCE, ts, QUEUE_ID, "Queue", "log lines", None)
        add(RESOURCE, ts, POOL_ID, "GreenPool", "handlers", greenthreads)
        gids = range(2, greenthreads + 2)
        for gid in gids:
            ts += 1_500
            add(SPAWN, ts, gid, 1, FUNCS[gid % len(FUNCS)], "server.py:120 in serve", POOL_ID)
            frames.flush()
        add(SWITCH, ts + 100, 1, 0)
        ts += 200
        for r in range(rounds):
            began = ts
            last = r == rounds - 1
            for gid in gids:
                ending = ENDINGS[(gid * 7 + r) % len(ENDINGS)]
                before = ENDINGS[(gid * 7 + r - 1) % len(ENDINGS)] if r else None
                if before is not None:  # what it blocked on is ready
                    waker = 0 if before[1] in ("fd_ready", "timer") else 2 + (gid * 31 + r) % greenthreads
                    add(WAKE, ts, gid, before[1], waker, 40_000 if before[1] == "timer" else 0)
                add(SWITCH, ts + 1_000, 0, gid)
                ts += 1_000 + 1_000 * (gid % 5)  # it runs 1 to 5 us
                if last:
                    failed = gid % 500 == 0
                    error = "ConnectionResetError: [Errno 104] Connection reset by peer" if failed else None
                    add(EXIT, ts, gid, "error" if failed else "ok", error)
                elif ending is not None:
                    reason = ending[0]
                    obj = QUEUE_ID if reason == "queue_get" else None
                    detail = f"10.0.{gid % 200}.{gid % 7 + 1}:443" if reason.startswith("io") else None
                    add(BLOCK, ts, gid, reason, obj, 0.05 if reason == "sleep" else detail, ending[2])
                    if reason == "queue_get":
                        add(QUEUE, ts + 50, QUEUE_ID, 0, 1000, 0, 1 + gid % 4)
                add(SWITCH, ts + 100, gid, 0)
                ts += 2_000
                if gid % 16 == 0:
                    add(HUB_WAIT, ts, 0, 0.05)
                    add(HUB_WAKE, ts + 6_000, 0, 1 + gid % 3)
                    ts += 6_500
                    if gid % 64 == 0:
                        add(TIMERS, ts, 0, 2, 40_000)
                        add(POOL, ts, POOL_ID, greenthreads, 1 + gid % 50, 0)
                frames.flush()
            if ts - began < every:  # idle until the next round
                add(HUB_WAIT, ts, 0, (every - (ts - began)) / 1e9)
                ts = began + every
                add(HUB_WAKE, ts, 0, 1)
        frames.flush(force=True)
        out.write(encode_frame(END, {"dropped": 0}))
    return frames.count

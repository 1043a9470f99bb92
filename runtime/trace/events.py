"""The event model: every kind of event, and its fields, declared once.

An event is a tuple ``(kind, ts, *fields)``: `kind` one of the codes below, `ts` nanoseconds
on the process's monotonic clock, then the kind's fields in the order `FIELDS` gives.
Greenthreads are named by their id (``gid``): 0 is the hub, 1 the main greenthread.
Objects (pools, queues, semaphores, events, sockets) are named by their ``id()``.

Bump `VERSION` when a kind or a field changes; readers refuse versions they do not know.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

__all__ = ["FIELDS", "KIND_CODES", "KIND_NAMES", "VERSION", "Batch", "as_dict", "describe"]

VERSION = 1

# kind code -> (name, fields after kind and ts)
_KINDS: dict[int, tuple[str, tuple[str, ...]]] = {
    1: ("spawn", ("gid", "parent", "func", "site", "pool")),
    2: ("switch", ("from", "to")),  # the hub switched from one greenthread to another
    3: ("block", ("gid", "reason", "obj", "detail")),  # detail: the fd, or the timeout in seconds
    4: ("wake", ("gid", "cause", "waker")),
    5: ("exit", ("gid", "outcome", "error")),  # outcome: ok | error | killed; error: "Type: message"
    6: ("hub_wait", ("timeout",)),  # the hub starts waiting on its poller (None: no limit)
    7: ("hub_wake", ("nready",)),  # ...and is back, with this many fds ready
    8: ("timers", ("count",)),  # the hub fired this many timers in one pass
    9: ("resource", ("obj", "type", "name", "size")),  # a pool, queue, semaphore or event came to exist
    10: ("pool", ("obj", "size", "running", "waiting")),
    11: ("queue", ("obj", "size", "maxsize", "putters", "getters")),
    12: ("dropped", ("count",)),  # this many events were lost here (a full buffer): never silent
    13: ("process", ("pid", "argv", "program", "version")),  # who was traced; first in a recording
}

SPAWN, SWITCH, BLOCK, WAKE, EXIT, HUB_WAIT, HUB_WAKE, TIMERS, RESOURCE, POOL, QUEUE, DROPPED, PROCESS = range(1, 14)

#: kind code -> kind name
KIND_NAMES: dict[int, str] = {code: name for code, (name, _) in _KINDS.items()}
#: kind name -> kind code
KIND_CODES: dict[str, int] = {name: code for code, name in KIND_NAMES.items()}
#: kind code -> the names of its fields after ``kind`` and ``ts``
FIELDS: dict[int, tuple[str, ...]] = {code: fields for code, (_, fields) in _KINDS.items()}


def describe() -> dict:
    """The schema, as written at the head of every recording and stream (self-describing)."""
    return {"version": VERSION, "kinds": {str(code): [name, list(fields)] for code, (name, fields) in _KINDS.items()}}


def as_dict(event: tuple) -> dict:
    """One event as a dict with named fields (for tests, logs and JSON)."""
    kind, ts, *values = event
    return {"kind": KIND_NAMES[kind], "ts": ts, **dict(zip(FIELDS[kind], values, strict=True))}


class Batch(NamedTuple):
    """Events as the recorder keeps them: switches — most of all events — as a flat run of ints
    (ts, from, to), the others as tuples, and the kind of each event in order."""

    kinds: bytes  # one kind code per event, in order
    switches: Sequence[int]  # flat: ts, from, to for each SWITCH event, in order
    others: list[tuple]  # every other event, in order

    @classmethod
    def of(cls, events: list[tuple]) -> Batch:
        switches: list[int] = []
        for ev in events:
            if ev[0] == SWITCH:
                switches.extend(ev[1:])
        return cls(bytes(ev[0] for ev in events), switches, [ev for ev in events if ev[0] != SWITCH])

    def events(self) -> list[tuple]:
        """The events as tuples, in order."""
        rows = iter(self.switches)
        others = iter(self.others)
        return [(SWITCH, next(rows), next(rows), next(rows)) if k == SWITCH else next(others) for k in self.kinds]

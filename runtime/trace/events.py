"""The event model: every kind of event, and its fields, declared once.

An event is a tuple ``(kind, ts, *fields)``: `kind` one of the codes below, `ts` nanoseconds
on the process's monotonic clock, then the kind's fields in the order `FIELDS` gives.
Greenthreads are named by their id (``gid``): 0 is the hub, 1 the main greenthread.
Objects (pools, queues, semaphores, events, sockets) are named by their ``id()``.

Bump `VERSION` when a kind or a field changes; readers refuse versions they do not know.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["FIELDS", "KIND_CODES", "KIND_NAMES", "VERSION", "Batch", "as_dict", "describe", "from_columns"]

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
    """Events as the recorder hands them out: the kind of each event, in order, and per kind
    its columns (ts, then each field), each a list of its events' values, in order. No tuple
    per event: most values are ints the garbage collector never looks at."""

    kinds: bytes  # one kind code per event, in order
    columns: dict[int, list[list]]  # kind -> [ts of its events, field 0 of its events, ...]

    @classmethod
    def of(cls, events: list[tuple]) -> Batch:
        rows: dict[int, list[tuple]] = {}
        for ev in events:
            rows.setdefault(ev[0], []).append(ev[1:])
        columns = {kind: [list(col) for col in zip(*evs, strict=True)] for kind, evs in rows.items()}
        return cls(bytes(ev[0] for ev in events), columns)

    def column(self, kind: int, index: int) -> list:
        """Values of one field (0 is ts) of every `kind` event, in order."""
        return self.columns[kind][index]

    def events(self) -> list[tuple]:
        """The events as tuples, in order."""
        return from_columns(self.kinds, self.columns)


def from_columns(kinds: bytes, columns: dict[int, list]) -> list[tuple]:
    """Event tuples, in order, from the kind of each event and, per kind, its columns (ts first)."""
    rows = {kind: zip(*cols, strict=True) for kind, cols in columns.items()}
    return [(kind, *next(rows[kind])) for kind in kinds]

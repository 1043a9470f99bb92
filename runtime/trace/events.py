"""The event model: every kind of event, its fields and their types, declared once.

An event is a tuple ``(kind, ts, *fields)``: `kind` one of the codes below, `ts` nanoseconds
on the process's monotonic clock, then the kind's fields in the order `FIELDS` gives.
Greenthreads are named by their id (``gid``): 1 is the main greenthread, and ids of 0 and
below are hubs (0 the first; the hubs of other OS threads -1, -2, ...). Objects (pools,
queues, semaphores, events) are named by their ``id()``.

Bump `VERSION` when a kind or a field changes, and teach `upgrade` the step: readers take
every version they know and hand out the newest (version 1 lacked ``where``, ``late``,
the hub of hub events, ``runtime``, and the ``stall``, ``clock`` and ``control`` kinds).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from typing import Any, NamedTuple

__all__ = [
    "FIELDS",
    "FIELD_TYPES",
    "KIND_CODES",
    "KIND_NAMES",
    "VERSION",
    "VERSIONS",
    "Batch",
    "Coded",
    "as_dict",
    "describe",
    "from_columns",
    "upgrade",
]

VERSION = 2

# kind code -> (name, fields after kind and ts)
_KINDS: dict[int, tuple[str, tuple[str, ...]]] = {
    1: ("spawn", ("gid", "parent", "func", "site", "pool")),
    2: ("switch", ("from", "to")),  # the hub switched from one greenthread to another (<= 0: a hub)
    # detail: the peer (host:port, "listening host:port"), the fd, or the timeout in seconds;
    # where: "file:line in function", the user's code that blocked
    3: ("block", ("gid", "reason", "obj", "detail", "where")),
    4: ("wake", ("gid", "cause", "waker", "late")),  # late: ns a timer fired after its deadline (else 0)
    5: ("exit", ("gid", "outcome", "error")),  # outcome: ok | error | killed; error: "Type: message"
    6: ("hub_wait", ("hub", "timeout")),  # hub starts waiting on its poller (timeout None: no limit)
    7: ("hub_wake", ("hub", "nready")),  # ...and is back, with this many fds ready
    8: ("timers", ("hub", "count", "late")),  # the hub fired `count` timers, the latest `late` ns late
    9: ("resource", ("obj", "type", "name", "size")),  # a pool, queue, semaphore or event came to exist
    10: ("pool", ("obj", "size", "running", "waiting")),
    11: ("queue", ("obj", "size", "maxsize", "putters", "getters")),
    12: ("dropped", ("count",)),  # this many events were lost here (a full buffer): never silent
    13: ("process", ("pid", "argv", "program", "version", "runtime")),  # who was traced, and by what
    # gid ran `ns` without giving control back, from ts; stack: "file:line in function" lines,
    # outermost first, sampled while it was still running
    14: ("stall", ("gid", "ns", "stack")),
    15: ("clock", ()),  # the program's clock reached ts, and every event before it was sent
    16: ("control", ("action", "speed")),  # the hub obeyed a command: paused, resumed, stepped, speed
}

SPAWN, SWITCH, BLOCK, WAKE, EXIT, HUB_WAIT, HUB_WAKE, TIMERS, RESOURCE, POOL, QUEUE, DROPPED, PROCESS = range(1, 14)
STALL, CLOCK, CONTROL = 14, 15, 16

#: kind code -> kind name
KIND_NAMES: dict[int, str] = {code: name for code, (name, _) in _KINDS.items()}
#: kind name -> kind code
KIND_CODES: dict[str, int] = {name: code for code, name in KIND_NAMES.items()}
#: kind code -> the names of its fields after ``kind`` and ``ts``
FIELDS: dict[int, tuple[str, ...]] = {code: fields for code, (_, fields) in _KINDS.items()}

_NONE = type(None)
_INT, _OPT_INT, _STR, _OPT_STR = frozenset({int}), frozenset({int, _NONE}), frozenset({str}), frozenset({str, _NONE})
_NUMBER = frozenset({int, float, _NONE})
#: field name -> the types its values may have (exactly: a bool is not an int). ``ts`` is an int.
FIELD_TYPES: dict[str, frozenset[type]] = {
    "ts": _INT,
    **dict.fromkeys(("gid", "parent", "from", "to", "waker", "nready", "count", "pid", "hub", "late", "ns"), _INT),
    **dict.fromkeys(("running", "waiting", "putters", "getters"), _INT),
    **dict.fromkeys(("pool", "obj", "maxsize"), _OPT_INT),
    **dict.fromkeys(("func", "reason", "cause", "outcome", "type", "name", "program", "version", "action"), _STR),
    **dict.fromkeys(("site", "error", "where", "runtime"), _OPT_STR),
    **dict.fromkeys(("timeout", "size", "speed"), _NUMBER),
    "detail": frozenset({int, float, str, _NONE}),
    **dict.fromkeys(("argv", "stack"), frozenset({list})),
}

# ---------------------------------------------------------------- the versions a reader takes

#: version -> kind code -> its fields in that version
VERSIONS: dict[int, dict[int, tuple[str, ...]]] = {
    1: {
        **{code: fields for code, fields in FIELDS.items() if code <= PROCESS},
        BLOCK: ("gid", "reason", "obj", "detail"),
        WAKE: ("gid", "cause", "waker"),
        HUB_WAIT: ("timeout",),
        HUB_WAKE: ("nready",),
        TIMERS: ("count",),
        PROCESS: ("pid", "argv", "program", "version"),
    },
    2: FIELDS,
}


def upgrade(kind: int, columns: list, version: int) -> list:
    """A kind's columns (ts first) as `version` wrote them, as this version has them: the fields
    version 1 lacked are filled in (no code location, not late, the first hub, our runtime)."""
    if version == VERSION:
        return columns
    n = len(columns[0])
    if kind == BLOCK:
        return [*columns, [None] * n]
    if kind == WAKE:
        return [*columns, array("q", bytes(8 * n))]
    if kind in (HUB_WAIT, HUB_WAKE):
        return [columns[0], array("q", bytes(8 * n)), *columns[1:]]
    if kind == TIMERS:
        return [columns[0], array("q", bytes(8 * n)), columns[1], array("q", bytes(8 * n))]
    if kind == PROCESS:
        return [*columns, ["greenscope"] * n]
    return columns


def describe() -> dict:
    """The schema, as written at the head of every recording and stream (self-describing)."""
    return {"version": VERSION, "kinds": {str(code): [name, list(fields)] for code, (name, fields) in _KINDS.items()}}


def as_dict(event: tuple) -> dict:
    """One event as a dict with named fields (for tests, logs and JSON)."""
    kind, ts, *values = event
    return {"kind": KIND_NAMES[kind], "ts": ts, **dict(zip(FIELDS[kind], values, strict=True))}


_CODABLE = frozenset({str, int, float, type(None)})  # what a `Coded` column holds (exact types: not a bool)


class Batch(NamedTuple):
    """Events as the recorder hands them out: the kind of each event, in order, and per kind
    its columns (ts, then each field), each a sequence of its events' values, in order (a list,
    or an ``array("q")`` of int64s). No tuple per event: most values are ints the garbage
    collector never looks at."""

    kinds: bytes  # one kind code per event, in order
    columns: dict[int, Any]  # kind -> [ts of its events, field 0 of its events, ...]

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


class Coded:
    """A column that names the same few values over and over (a block's reason and code line, a wake's cause):
    each distinct value once, then each event's index among them in 1 or 2 bytes instead of an 8-byte pointer.
    A read-only sequence of the values, as the list was (a slice is one too)."""

    __slots__ = ("ids", "table")

    def __init__(self, table: list, ids: array) -> None:
        self.table = table
        self.ids = ids

    @classmethod
    def of(cls, column: list) -> Coded | None:
        """`column` coded, or None where that does not pay, or would not give back the same values (1 and 1.0,
        or 0.0 and -0.0, are one key in a table)."""
        try:
            index = dict.fromkeys(column)
        except TypeError:  # lists (argv, a stack)
            return None
        if 2 * len(index) > len(column) or len(index) > 0x10000:
            return None
        types = set(map(type, column))  # the column's, not the table's: 1.0 after 1 is not a key of its own
        if not types <= _CODABLE or (float in types and (int in types or 0.0 in index)):
            return None
        for i, value in enumerate(index):
            index[value] = i
        return cls(list(index), array("B" if len(index) <= 0x100 else "H", map(index.__getitem__, column)))

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[Any]:
        return map(self.table.__getitem__, self.ids)

    def __getitem__(self, at: int | slice) -> Any:
        if isinstance(at, slice):
            return Coded(self.table, self.ids[at])
        return self.table[self.ids[at]]

    def __eq__(self, other: object) -> bool:
        return list(self) == (list(other) if isinstance(other, Coded) else other)

    __hash__ = None  # type: ignore[assignment]

    @property
    def nbytes(self) -> int:
        return self.ids.itemsize * len(self.ids) + 8 * len(self.table) + 120


def from_columns(kinds: bytes, columns: dict[int, list]) -> list[tuple]:
    """Event tuples, in order, from the kind of each event and, per kind, its columns (ts first)."""
    rows = {kind: zip(*cols, strict=True) for kind, cols in columns.items()}
    return [(kind, *next(rows[kind])) for kind in kinds]

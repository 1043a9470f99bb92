"""Events for the dashboard's tests: made up, and rebuilt from what viewers and recordings hold."""

from __future__ import annotations

import io
import sys
from array import array

from runtime.trace.codec import END, EVENTS, read_frames
from runtime.trace.events import DROPPED, FIELDS, KIND_CODES, SPAWN, SWITCH, WAKE, Batch

PROCESS = {"pid": 42, "argv": ["prog.py"], "program": "prog.py", "version": "0.1.0"}


def sample(n: int, start: int = 0) -> list[tuple]:
    """n events of a few kinds, with ints, strings and None in their fields."""
    events = []
    for i in range(start, start + n):
        if i % 3 == 0:
            events.append((SWITCH, i, 0, 1 + i % 5))
        elif i % 3 == 1:
            events.append((WAKE, i, 1 + i % 5, "timer", 0, 0))
        else:
            events.append((SPAWN, i, 100 + i, 1, "work", "prog.py:3", None))
    return events


def batch(n: int, start: int = 0) -> Batch:
    """`sample(n, start)` as the codec decodes it: a `Batch`."""
    return Batch.of(sample(n, start))


def tally(data: bytes) -> tuple[int, int]:
    """A recording's events (but its ``dropped`` ones), and the losses it reports (its ``dropped`` events and END)."""
    events = lost = 0
    for kind, payload, _ in read_frames(io.BytesIO(data)):
        if kind == EVENTS:
            evs = payload.events()
            events += sum(1 for e in evs if e[0] != DROPPED)
            lost += sum(e[2] for e in evs if e[0] == DROPPED)
        elif kind == END:
            lost += payload["dropped"]
    return events, lost


def events_of(batch: dict) -> list[tuple]:
    """The event tuples of one batch, in order, read as the page reads them (`visualizer.sessions.wire`)."""
    data = batch["data"]

    def values(n: int, column: int | dict | list) -> list:
        if isinstance(column, list):
            return column
        if isinstance(column, dict):
            ids = array("B" if len(column["table"]) <= 0x100 else "H")
            assert column["ids"] % ids.itemsize == 0
            ids.frombytes(data[column["ids"] :][: ids.itemsize * n])
            if sys.byteorder != "little":
                ids.byteswap()
            return [column["table"][i] for i in ids]
        assert column % 8 == 0
        numbers = array("q", data[column : column + 8 * n])
        if sys.byteorder != "little":
            numbers.byteswap()
        return numbers.tolist()

    rows = {
        KIND_CODES[kind]: zip(*(values(c["n"], c[f]) for f in ("ts", *FIELDS[KIND_CODES[kind]])), strict=True)
        for kind, c in batch["columns"].items()
    }
    return [(kind, *next(rows[kind])) for kind in data[: batch["events"]]]

"""Sessions: one per traced program (or loaded recording), each with a bounded window of its events.

Events are kept in columns, as they travel to browsers: a `Chunk` per batch received holds
the kind code of each event in order and, per kind present, one column per field (``ts``
first; int64 arrays where the values are ints). When a session holds more than its window,
its oldest events go, and the count of what went (`Session.trimmed`) is what viewers and
recordings see in its place — loss is never silent.

A session's life: ``starting`` (launched, its agent has not said HELLO yet), ``running``,
then ``ended`` (it exited cleanly), ``crashed`` (it failed, or its stream broke off) or
``stopped`` (on request). The `Store` holds every session and tells its listeners when one
appears or changes state.
"""

from __future__ import annotations

import itertools
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from runtime.trace.codec import END, EVENTS, HELLO, MAGIC, encode_frame, read_recording
from runtime.trace.events import DROPPED, FIELDS, HUB_WAIT, KIND_NAMES, describe, from_columns

__all__ = ["CRASHED", "ENDED", "FINAL", "RUNNING", "STARTING", "STOPPED", "Chunk", "Session", "Store"]

STARTING, RUNNING, ENDED, CRASHED, STOPPED = "starting", "running", "ended", "crashed", "stopped"
FINAL = frozenset({ENDED, CRASHED, STOPPED})
DEFAULT_WINDOW = 4_000_000  # events kept per session
STALL_SECONDS = 1.0  # no event for this long, and the hub was not waiting on its poller: it is stalled
_REPLAY_CHUNK = 65536  # events per chunk when a recording is loaded


def _column(values: tuple, strings: dict[str, str]) -> Any:
    """int64 if every value is an int; else a list, each string shared with its equals in `strings`
    (decoding makes one object per value: "io_read" a million times over would cost ~60 MB)."""
    try:
        return array("q", values)
    except (TypeError, OverflowError):  # None, floats, strings
        return [strings.setdefault(v, v) if type(v) is str else v for v in values]


class Chunk:
    """A run of consecutive events, columnar. `first` is the index of its first event in the session."""

    __slots__ = ("columns", "first", "kinds")

    def __init__(self, first: int, kinds: bytes, columns: dict[int, list[Any]]) -> None:
        self.first = first
        self.kinds = kinds
        self.columns = columns  # kind code -> [ts column, then one column per field]

    @classmethod
    def of(cls, first: int, events: list[tuple]) -> Chunk:
        by_kind: dict[int, list[tuple]] = {}
        for ev in events:
            by_kind.setdefault(ev[0], []).append(ev)
        strings: dict[str, str] = {}  # per chunk: it goes with the chunk
        columns = {
            kind: [_column(col, strings) for col in itertools.islice(zip(*evs, strict=True), 1, None)]
            for kind, evs in by_kind.items()
        }
        return cls(first, bytes(ev[0] for ev in events), columns)

    def __len__(self) -> int:
        return len(self.kinds)

    def events(self) -> list[tuple]:
        """The events as tuples, in order."""
        return from_columns(self.kinds, self.columns)

    def tail(self, n: int) -> Chunk:
        """The last `n` events."""
        cut = len(self.kinds) - n
        columns = {kind: [col[self.kinds.count(kind, 0, cut) :] for col in cols] for kind, cols in self.columns.items()}
        return Chunk(self.first + cut, self.kinds[cut:], {k: cols for k, cols in columns.items() if len(cols[0])})

    def wire(self) -> dict:
        """JSON-ready: ``{"kinds": [code, ...], "columns": {kind name: {field: [value, ...]}}}``.

        Made anew each time (cheap: C-level copies), never kept: as Python ints it would take
        ~3x the memory of the chunk it came from, for every chunk in the window."""
        return {
            "kinds": list(self.kinds),
            "columns": {
                KIND_NAMES[kind]: {
                    field: col.tolist() if isinstance(col, array) else list(col)
                    for field, col in zip(("ts", *FIELDS[kind]), cols, strict=True)
                }
                for kind, cols in self.columns.items()
            },
        }


class Session:
    """One traced program: who it is, its state, and a bounded window of its events."""

    def __init__(self, sid: str, window: int, *, source: str, workload: str | None, params: dict | None) -> None:
        self.id = sid
        self.source = source  # "launched" (a workload), "agent" (connected by itself) or "recording"
        self.workload = workload
        self.params = params or {}
        self.window = window
        self.hello: dict | None = None  # the HELLO payload: schema and process
        self.pid: int | None = None  # the launcher's child, or what HELLO said
        self.agent: Any = None  # the agent connection streaming it now (`visualizer.agents`)
        self.state = STARTING
        self.started = time.time()
        self.ended: float | None = None
        self.exit_code: int | None = None
        self.error: str | None = None
        self.complete = False  # the stream said END
        self.total = 0  # events received
        self.trimmed = 0  # oldest events dropped from the window
        self.lost = 0  # events the program's agent could not send (its `dropped` events and END)
        self._chunks: deque[Chunk] = deque()
        self._retained = 0
        self._last_kind = 0
        self._last_at = time.monotonic()
        self._lock = threading.Lock()

    @property
    def process(self) -> dict:
        return (self.hello or {}).get("process") or {}

    @property
    def stalled(self) -> bool:
        """Running, silent for `STALL_SECONDS`, and its hub was not waiting on its poller: a
        greenthread holds the hub (blocking code)."""
        silent = time.monotonic() - self._last_at > STALL_SECONDS
        return self.state == RUNNING and self.total > 0 and self._last_kind != HUB_WAIT and silent

    def append(self, events: list[tuple]) -> None:
        """Add a batch of events; the oldest go when the window is full."""
        if not events:
            return
        with self._lock:
            self.lost += sum(ev[2] for ev in events if ev[0] == DROPPED)
            self._chunks.append(Chunk.of(self.total, events))
            self.total += len(events)
            self._retained += len(events)
            self._last_kind = events[-1][0]
            self._last_at = time.monotonic()
            while self._retained > self.window:
                excess = self._retained - self.window
                oldest = self._chunks[0]
                if len(oldest) <= excess:
                    self._chunks.popleft()
                    gone = len(oldest)
                else:
                    self._chunks[0] = oldest.tail(len(oldest) - excess)
                    gone = excess
                self._retained -= gone
                self.trimmed += gone

    def since(self, index: int) -> tuple[int, list[Chunk]]:
        """The chunks holding events from `index` on, and how many events from `index` were
        trimmed away before them. A chunk may start before `index`, never after it."""
        with self._lock:
            oldest = self._chunks[0].first if self._chunks else self.total
            skipped = max(oldest - index, 0)
            chunks = [c for c in self._chunks if c.first + len(c) > index]
        return skipped, chunks

    def chunks(self) -> list[Chunk]:
        with self._lock:
            return list(self._chunks)

    def events(self) -> list[tuple]:
        """The retained events, after a ``dropped`` event counting the trimmed ones (if any)."""
        chunks = self.chunks()
        events = [ev for c in chunks for ev in c.events()]
        if self.trimmed and events:
            events.insert(0, (DROPPED, events[0][1], self.trimmed))
        return events

    def frames(self) -> Iterator[bytes]:
        """The session as a recording, frame by frame: MAGIC, HELLO, EVENTS..., END if it ended cleanly."""
        yield MAGIC
        yield encode_frame(HELLO, self.hello or {"schema": describe(), "process": {}})
        chunks = self.chunks()
        if self.trimmed and chunks:
            first = chunks[0]
            yield encode_frame(EVENTS, [(DROPPED, first.columns[first.kinds[0]][0][0], self.trimmed)])
        for chunk in chunks:
            yield encode_frame(EVENTS, chunk.events())
        if self.complete:
            yield encode_frame(END, {"dropped": self.lost})

    def to_dict(self) -> dict[str, Any]:
        process = self.process
        return {
            "id": self.id,
            "source": self.source,
            "workload": self.workload,
            "params": self.params,
            "pid": self.pid,
            "program": process.get("program"),
            "argv": process.get("argv"),
            "state": self.state,
            "stalled": self.stalled,
            "started": self.started,
            "ended": self.ended,
            "exit_code": self.exit_code,
            "error": self.error,
            "complete": self.complete,
            "events": self.total,
            "retained": self._retained,
            "trimmed": self.trimmed,
            "lost": self.lost,
        }


class Store:
    """Every session, by id. Listeners hear of each new session and each change of state."""

    def __init__(self, window: int = DEFAULT_WINDOW) -> None:
        if window < 1:
            raise ValueError(f"the session window must be at least 1 event, got {window}")
        self.window = window
        self._sessions: dict[str, Session] = {}
        self._ids = itertools.count(1)
        self.lock = threading.RLock()  # held by the launcher from starting a child to noting its pid
        self._listeners: list[Callable[[Session], None]] = []

    def subscribe(self, listener: Callable[[Session], None]) -> None:
        """Call `listener(session)` (from any thread) when a session appears or changes state."""
        self._listeners.append(listener)

    def _changed(self, session: Session) -> None:
        for listener in self._listeners:
            listener(session)

    def create(self, *, source: str, workload: str | None = None, params: dict | None = None) -> Session:
        with self.lock:
            session = Session(str(next(self._ids)), self.window, source=source, workload=workload, params=params)
            self._sessions[session.id] = session
        self._changed(session)
        return session

    def get(self, sid: str) -> Session | None:
        return self._sessions.get(sid)

    def all(self) -> list[Session]:
        with self.lock:
            return list(self._sessions.values())

    def claim(self, hello: dict, agent: Any) -> Session:
        """The session an agent's HELLO belongs to: the launched one with its pid that has no
        stream yet, or the one it had before a reconnect, or else a new one."""
        pid = hello["process"].get("pid")
        with self.lock:
            session = next(
                (s for s in self._sessions.values() if s.pid == pid and s.state not in FINAL and s.agent is None),
                None,
            )
            if session is None:
                session = self.create(source="agent")
            session.hello, session.pid, session.agent = hello, pid, agent
        self.set_state(session, RUNNING)
        return session

    def set_state(self, session: Session, state: str, **info: Any) -> None:
        """Move `session` to `state` (a final state is final) and record `info` (exit_code, error)."""
        if session.state in FINAL:
            return
        for name, value in info.items():
            setattr(session, name, value)
        session.state = state
        if state in FINAL:
            session.ended = time.time()
        self._changed(session)

    def load(self, data: bytes) -> Session:
        """A session replaying a recording (raises `FormatError` if it is not one)."""
        process, events, complete = read_recording(data)
        session = self.create(source="recording", workload=None)
        session.hello = {"schema": describe(), "process": process}
        for start in range(0, len(events), _REPLAY_CHUNK):
            session.append(events[start : start + _REPLAY_CHUNK])
        session.complete = complete
        self.set_state(
            session, ENDED if complete else CRASHED, error=None if complete else "the recording has no end mark"
        )
        return session

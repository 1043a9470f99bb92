"""Live streaming to viewers over Socket.IO: session events in columnar batches, and session changes.

A viewer ``subscribe``s to a session (``{"session": id, "tag": n}``) and gets what the
session retains, then what comes,
as ``batch`` messages — at most one per viewer every `interval` seconds (20 a second) —
each acknowledged by an ``ack`` carrying its ``seq``. A batch is columnar::

    {"session": "3", "tag": 2, "seq": 7, "first": 120000, "dropped": 0,
     "kinds": [2, 2, 3, ...],                                  # the kind code of each event, in order
     "columns": {"switch": {"ts": [...], "from": [...], "to": [...]}, "block": {...}, ...}}

`first` is the index (in the session) of its first event; `dropped` counts the events
before it that this viewer will never get (they left the session's window before it read
them). Rebuild the events by walking `kinds` and taking the next value of each column of
that kind. `tag` is the viewer's, from its subscribe: a batch of an earlier subscription
(one sent as the viewer subscribed again) carries the old tag, and the viewer drops it.
A viewer with `in_flight` batches unacknowledged gets nothing more until it acks: what
it has not read stays in the session's (bounded) window, never in a per-viewer buffer,
so a slow viewer costs neither memory nor the traced program nor other viewers.

Every client also gets ``session`` messages (a session's description) when a session
appears, changes state or stalls, and ``sessions`` (all of them) when it connects.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import request
from flask_socketio import SocketIO

from visualizer.sessions import RUNNING, Chunk, Session, Store

__all__ = ["ACK", "BATCH", "SESSION", "SESSIONS", "SUBSCRIBE", "UNSUBSCRIBE", "Streamer"]

# the Socket.IO messages: client -> server
SUBSCRIBE, UNSUBSCRIBE, ACK = "subscribe", "unsubscribe", "ack"
# server -> client
BATCH, SESSION, SESSIONS = "batch", "session", "sessions"


class _Viewer:
    __slots__ = ("acked", "cursor", "sent", "session", "tag")

    def __init__(self, session: Session, tag: int | None) -> None:
        self.session = session
        self.tag = tag  # the viewer's name for this subscription, echoed in its batches
        self.cursor = 0  # the index of the next event to send
        self.sent = 0  # batches sent
        self.acked = 0  # the highest seq acknowledged


def merge(chunks: list[Chunk]) -> dict[str, Any]:
    """The columnar form of consecutive chunks, as one (`Chunk.wire` of each, concatenated)."""
    if len(chunks) == 1:
        return chunks[0].wire()
    kinds: list[int] = []
    columns: dict[str, dict[str, list]] = {}
    for chunk in chunks:
        wire = chunk.wire()
        kinds += wire["kinds"]
        for kind, fields in wire["columns"].items():
            into = columns.setdefault(kind, {field: [] for field in fields})
            for field, values in fields.items():
                into[field] += values
    return {"kinds": kinds, "columns": columns}


class Streamer:
    """Sends each viewer its batches from one thread, every `interval` seconds."""

    def __init__(
        self,
        socketio: SocketIO,
        store: Store,
        interval: float = 0.05,
        max_batch: int = 100_000,
        in_flight: int = 4,
    ) -> None:
        self.socketio = socketio
        self.store = store
        self.interval = interval
        self.max_batch = max_batch  # events per batch (a batch holds whole chunks: at least one)
        self.in_flight = in_flight  # batches a viewer may have unacknowledged
        self._viewers: dict[str, _Viewer] = {}
        self._changed: dict[str, Session] = {}
        self._stalled: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        store.subscribe(self._session_changed)
        self._thread = threading.Thread(target=self._loop, name="greenscope-streamer", daemon=True)
        self._thread.start()

    # -------------------------------------------------------------- viewers

    def subscribe(self, sid: str, session: Session, tag: int | None = None) -> None:
        """From now on, `sid` gets `session`'s events: all those retained, then the new ones,
        in batches carrying `tag`."""
        with self._lock:
            self._viewers[sid] = _Viewer(session, tag)

    def unsubscribe(self, sid: str) -> None:
        with self._lock:
            self._viewers.pop(sid, None)

    def ack(self, sid: str, seq: Any) -> None:
        with self._lock:
            viewer = self._viewers.get(sid)
            if viewer is not None and isinstance(seq, int) and viewer.acked < seq <= viewer.sent:
                viewer.acked = seq

    def _session_changed(self, session: Session) -> None:
        with self._lock:
            self._changed[session.id] = session

    # -------------------------------------------------------------- the loop

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()

    def tick(self) -> None:
        """Send what is due: session changes to everyone, then each viewer's next batch."""
        with self._lock:
            changed, self._changed = self._changed, {}
            viewers = list(self._viewers.items())
        for session in self.store.all():
            stalled = session.stalled
            if session.state == RUNNING and self._stalled.get(session.id, False) != stalled:
                changed[session.id] = session
            self._stalled[session.id] = stalled
        for session in changed.values():
            self.socketio.emit(SESSION, session.to_dict())
        for sid, viewer in viewers:
            batch = self._next_batch(viewer)
            if batch is not None:
                self.socketio.emit(BATCH, batch, to=sid)

    def _next_batch(self, viewer: _Viewer) -> dict | None:
        with self._lock:
            if viewer.sent - viewer.acked >= self.in_flight:
                return None
            skipped, chunks = viewer.session.since(viewer.cursor)
            taken, count = [], 0
            for chunk in chunks:
                if taken and count + len(chunk) > self.max_batch:
                    break
                taken.append(chunk)
                count += len(chunk)
            if not taken and not skipped:
                return None
            first = taken[0].first if taken else viewer.cursor + skipped
            viewer.cursor = first + count
            viewer.sent += 1
            seq = viewer.sent
        body = merge(taken) if taken else {"kinds": [], "columns": {}}
        return {"session": viewer.session.id, "tag": viewer.tag, "seq": seq, "first": first, "dropped": skipped, **body}

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def register(socketio: SocketIO, store: Store, streamer: Streamer, authorized: Callable[[Any], bool]) -> None:
    """The Socket.IO handlers: connect (checks `authorized(auth)`), subscribe, unsubscribe, ack, disconnect."""

    @socketio.on("connect")
    def connect(auth: Any = None) -> None:
        if not authorized(auth):
            raise ConnectionRefusedError("a valid token is required")
        socketio.emit(SESSIONS, [s.to_dict() for s in store.all()], to=request.sid)

    @socketio.on(SUBSCRIBE)
    def subscribe(data: Any) -> dict:
        sid = data.get("session") if isinstance(data, dict) else None
        session = store.get(sid) if isinstance(sid, str) else None
        if session is None:
            return {"error": f"no such session: {sid!r}"}
        tag = data.get("tag")
        streamer.subscribe(request.sid, session, tag if type(tag) is int else None)
        return {"session": session.to_dict()}

    @socketio.on(UNSUBSCRIBE)
    def unsubscribe(data: Any = None) -> None:
        streamer.unsubscribe(request.sid)

    @socketio.on(ACK)
    def ack(data: Any) -> None:
        streamer.ack(request.sid, data.get("seq") if isinstance(data, dict) else None)

    @socketio.on("disconnect")
    def disconnect(*args: Any) -> None:
        streamer.unsubscribe(request.sid)

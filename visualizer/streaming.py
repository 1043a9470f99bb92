"""Live streaming to viewers over Socket.IO: session events in columnar batches, and session changes.

A viewer ``subscribe``s to a session (``{"session": id, "tag": n}``) and gets what the
session holds in memory, then what comes — or, with ``"range": [start, stop]`` (ns since the
session's first event), the events of its recording's frames that reach into that span, read
back from disk where memory no longer holds them (at most a window of them; the reply's
``range`` says which: ``{"first": index, "events": n}``) — as ``batch`` messages — at most one per viewer
every `interval` seconds (20 a second), and one at once when a session changes (its state,
or its program's pace: a live-control step shows at once) — each acknowledged by an ``ack``
carrying its ``seq``. A batch is columnar::

    {"session": "3", "tag": 2, "seq": 7, "first": 120000, "dropped": 0, "origin": "81234567890123",
     "events": 3, "data": b"...",                       # the kinds, then int64s and indexes (binary)
     "columns": {"switch": {"n": 2, "ts": 8, "from": 24, "to": 40},
                 "block": {"n": 1, ..., "reason": {"table": ["io_read"], "ids": 72}, "detail": [...]}}}

`first` is the index (in the session) of its first event; `dropped` counts the events
before it that this viewer will never get (they left memory before it read them). Rebuild
the events by walking the kind codes (the first `events` bytes of `data`) and taking the next
value of each column of that kind. Ints travel in `data` as int64s, columns that repeat a few
values as a table and an index per event in `data`, the rest as lists (one Socket.IO binary
attachment: the page reads it in place); timestamps on the program's clock, which the page
counts from `origin` (the session's first event's ts, a string), exactly; see
`visualizer.sessions.wire`.
`tag` is the viewer's, from its subscribe: a batch of an earlier subscription (one sent as
the viewer subscribed again) carries the old tag, and the viewer drops it. A subscribe replaces
the viewer's subscription, unless it is older (a smaller tag) than the one the viewer has: each
message is handled in a thread of its own, so a viewer's subscribes may be handled out of order,
and the later one must win. ``unsubscribe`` (``{"tag": n}``, or no tag) ends a subscription.

Every viewer has a budget: at most `in_flight` batches and `max_unacked` events not yet
acknowledged — past it, it gets nothing more until it acks, and what it has not read stays
in the session's (bounded) window, never in a per-viewer buffer. Each pass shares
`tick_budget` events among the viewers that can take some, in turn, so a viewer that
never acks (or fifty) cannot take another's turn, the traced program's, or memory.

Every client also gets ``session`` messages (a session's description) when a session
appears, changes state or stalls, ``removed`` (``{"id": ...}``) when one is deleted, and
``sessions`` (all of them) when it connects.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import request
from flask_socketio import Namespace, SocketIO

from visualizer.sessions import RUNNING, Session, wire
from visualizer.store import Store

__all__ = [
    "ACK",
    "BATCH",
    "REMOVED",
    "SESSION",
    "SESSIONS",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "Streamer",
    "Viewers",
    "whole_packets",
]

# the Socket.IO messages: client -> server
SUBSCRIBE, UNSUBSCRIBE, ACK = "subscribe", "unsubscribe", "ack"
# server -> client
BATCH, SESSION, SESSIONS, REMOVED = "batch", "session", "sessions", "removed"


class _Viewer:
    __slots__ = ("acked", "cursor", "end", "sent", "session", "tag", "unacked")

    def __init__(self, session: Session, tag: int | None, span: tuple[int, int] | None = None) -> None:
        self.session = session
        self.tag = tag  # the viewer's name for this subscription, echoed in its batches
        self.cursor = 0 if span is None else span[0]  # the index of the next event to send
        self.end = None if span is None else span[1]  # where a range ends (None: it follows the session)
        self.sent = 0  # batches sent
        self.acked = 0  # the highest seq acknowledged
        self.unacked: dict[int, int] = {}  # seq -> events, of the batches not acknowledged


def whole_packets(server: Any) -> None:
    """Make each Socket.IO packet `server` sends leave whole: a batch goes as a header then its binary attachment
    (two Engine.IO messages), and a reply sent from a handler thread in between (a subscribe's) would make the
    page's parser drop the connection. python-socketio sends a packet's parts one by one, unlocked; this wraps
    its `_send_packet` (the one place every packet goes through) in a lock."""
    send, lock = server._send_packet, threading.Lock()

    def send_whole(eio_sid: str, pkt: Any) -> None:
        with lock:
            send(eio_sid, pkt)

    server._send_packet = send_whole


def _later(tag: int | None, than: int | None) -> bool:
    """Whether subscription `tag` came after `than` (a viewer counts its subscriptions up; no tag is no order)."""
    return tag is not None and than is not None and tag > than


class Streamer:
    """Sends each viewer its batches from one background task, every `interval` seconds."""

    def __init__(
        self,
        socketio: SocketIO,
        store: Store,
        interval: float = 0.05,
        max_batch: int = 100_000,
        in_flight: int = 4,
        max_unacked: int = 200_000,
        tick_budget: int = 300_000,
    ) -> None:
        self.socketio = socketio
        self.store = store
        self.interval = interval
        self.max_batch = max_batch  # events per batch
        self.in_flight = in_flight  # batches a viewer may have unacknowledged
        self.max_unacked = max_unacked  # events a viewer may have unacknowledged
        self.tick_budget = tick_budget  # events sent in one pass, to all viewers together
        self._viewers: dict[str, _Viewer] = {}
        self._changed: dict[str, Session] = {}
        self._removed: list[str] = []
        self._stalled: dict[str, bool] = {}
        self._turn = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._due = threading.Event()  # a session changed: the pass comes at once (a live-control step shows at once)
        store.subscribe(self._session_changed, self._session_removed)
        self._task = socketio.start_background_task(self._loop)

    # -------------------------------------------------------------- viewers

    def subscribe(
        self, sid: str, session: Session, tag: int | None = None, span: tuple[int, int] | None = None
    ) -> bool:
        """From now on, `sid` gets `session`'s events: all those in memory, then the new ones (or with `span`,
        events ``lo`` to ``hi``, read from its recording where memory does not hold them), in batches carrying
        `tag`. False (and nothing changes) if `sid` is subscribed under a later tag: each message is handled in a
        thread of its own, so a viewer's messages may be handled out of their order."""
        with self._lock:
            session.viewers += 1  # first: what viewers watch leaves memory last
        if span is None:
            self.store.resident(session)  # perhaps read back from disk, while the others stream on
        with self._lock:
            old = self._viewers.get(sid)
            if old is not None and _later(old.tag, tag):
                session.viewers -= 1
                return False
            if old is not None:
                old.session.viewers -= 1
            self._viewers[sid] = _Viewer(session, tag, span)
        return True

    def unsubscribe(self, sid: str, tag: int | None = None) -> None:
        """`sid` gets no more events (of its subscription `tag`, if given: a later one stays)."""
        with self._lock:
            viewer = self._viewers.get(sid)
            if viewer is not None and not _later(viewer.tag, tag):
                del self._viewers[sid]
                viewer.session.viewers -= 1

    def ack(self, sid: str, seq: Any) -> None:
        """`sid` has batches up to `seq`. A viewer a full batch or more behind (a page reading a session's history)
        gets its next at once, not at the next pass: at one batch a pass, a 10M-event session took 5 s at best."""
        with self._lock:
            viewer = self._viewers.get(sid)
            if viewer is None or type(seq) is not int or not viewer.acked < seq <= viewer.sent:
                return
            viewer.acked = seq
            for done in [s for s in viewer.unacked if s <= seq]:
                del viewer.unacked[done]
            behind = _end(viewer) - viewer.cursor >= self.max_batch
        if behind:
            self._due.set()

    def _session_changed(self, session: Session) -> None:
        with self._lock:
            self._changed[session.id] = session
        self._due.set()

    def _session_removed(self, session: Session) -> None:
        with self._lock:
            self._changed.pop(session.id, None)
            self._removed.append(session.id)
            for sid in [sid for sid, v in self._viewers.items() if v.session is session]:
                del self._viewers[sid]

    # -------------------------------------------------------------- the loop

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._due.wait(self.interval)
            self._due.clear()
            if not self._stop.is_set():
                self.tick()

    def tick(self) -> None:
        """Send what is due: session changes to everyone, then each viewer's next batch."""
        with self._lock:
            changed, self._changed = self._changed, {}
            removed, self._removed = self._removed, []
        for session in self.store.all():
            stalled = session.stalled
            if session.state == RUNNING and self._stalled.get(session.id, False) != stalled:
                changed[session.id] = session
            self._stalled[session.id] = stalled
        for sid in removed:
            self._stalled.pop(sid, None)
            self.socketio.emit(REMOVED, {"id": sid})
        for session in changed.values():
            self.socketio.emit(SESSION, session.to_dict())
        for sid, batch in self._batches():
            self.socketio.emit(BATCH, batch, to=sid)

    def _batches(self) -> list[tuple[str, dict]]:
        """This pass's batches: the budget shared among the viewers that may take events, in turn."""
        with self._lock:
            viewers = list(self._viewers.items())
            self._turn += 1
        if not viewers:
            return []
        start = self._turn % len(viewers)
        viewers = viewers[start:] + viewers[:start]
        ready = [(sid, v) for sid, v in viewers if self._room(v) > 0 and v.cursor < _end(v)]
        share = max(self.tick_budget // max(len(ready), 1), 1)
        out = []
        for sid, viewer in ready:
            batch = self._next_batch(viewer, share)
            if batch is not None:
                out.append((sid, batch))
        return out

    def _room(self, viewer: _Viewer) -> int:
        """Events `viewer` may be sent now."""
        if viewer.sent - viewer.acked >= self.in_flight:
            return 0
        return min(self.max_batch, self.max_unacked - sum(viewer.unacked.values()))

    def _next_batch(self, viewer: _Viewer, share: int) -> dict | None:
        if viewer.end is not None:
            return self._next_of_range(viewer, share)
        with self._lock:
            limit = min(self._room(viewer), share)
            if limit <= 0:
                return None
            skipped, chunks = viewer.session.since(viewer.cursor)
            start = viewer.cursor + skipped
            taken, count = [], 0
            for chunk in chunks:
                lo = max(start + count - chunk.first, 0)
                hi = min(len(chunk), lo + limit - count)
                if lo >= hi:
                    break
                taken.append(chunk if (lo, hi) == (0, len(chunk)) else chunk.slice(lo, hi))
                count += hi - lo
            if not taken and not skipped:
                return None
            viewer.cursor = start + count
            seq = self._sent(viewer, count)
        return _batch(viewer, seq, start, skipped, taken)

    def _next_of_range(self, viewer: _Viewer, share: int) -> dict | None:
        """A range's next batch: its events read back (from the recording, outside the lock), and those the
        recording did not give counted as dropped."""
        with self._lock:
            start, end = viewer.cursor, _end(viewer)
            count = min(self._room(viewer), share, end - start)
            if count <= 0:
                return None
            viewer.cursor = start + count
            seq = self._sent(viewer, count)
        taken = viewer.session.read(start, start + count)
        got = sum(len(c) for c in taken)
        if got < count:  # the file was cut short: the rest never comes, and the viewer is told
            with self._lock:
                viewer.cursor = end
        return _batch(viewer, seq, start, end - start - got if got < count else 0, taken)

    def _sent(self, viewer: _Viewer, count: int) -> int:
        """Count a batch of `count` events as sent to `viewer` (under the lock); its seq."""
        viewer.sent += 1
        viewer.unacked[viewer.sent] = count
        return viewer.sent

    def close(self) -> None:
        self._stop.set()
        self._due.set()
        self._task.join()


def _end(viewer: _Viewer) -> int:
    """Where `viewer`'s events end for now: its range's end, or the session's latest."""
    return viewer.session.total if viewer.end is None else viewer.end


def _batch(viewer: _Viewer, seq: int, first: int, dropped: int, chunks: list) -> dict:
    return {
        "session": viewer.session.id,
        "tag": viewer.tag,
        "seq": seq,
        "first": first,
        "dropped": dropped,
        "origin": str(viewer.session.origin or 0),
        **wire(chunks),
    }


class Viewers(Namespace):
    """The Socket.IO handlers (namespace ``/``): connect (with the token when there is one),
    subscribe, unsubscribe, ack, disconnect. A message without its payload, or with a payload
    of the wrong shape, gets an error reply or nothing; it never raises."""

    def __init__(self, store: Store, streamer: Streamer, authorized: Callable[[Any], bool]) -> None:
        super().__init__("/")
        self.store = store
        self.streamer = streamer
        self.authorized = authorized

    def on_connect(self, auth: Any = None, *_: Any) -> None:
        if not self.authorized(auth):
            raise ConnectionRefusedError("a valid token is required")
        self.emit(SESSIONS, [s.to_dict() for s in self.store.all()], room=request.sid)

    def on_subscribe(self, data: Any = None, *_: Any) -> dict:
        sid = data.get("session") if isinstance(data, dict) else None
        session = self.store.get(sid) if isinstance(sid, str) else None
        if session is None:
            return {"error": f"no such session: {str(sid)[:100]!r}"}
        tag, span, reply = data.get("tag"), None, {}
        if "range" in data:
            asked = data["range"]
            if not (isinstance(asked, list) and len(asked) == 2 and all(type(t) is int for t in asked)) or not (
                0 <= asked[0] <= asked[1] < 2**63
            ):
                return {"error": "range must be [start, stop]: ns since the session's first event, start <= stop"}
            if not session.timed():
                return {"error": f"session {session.id} has no recording to read a range of"}
            span = session.locate(*asked, most=session.window)
            reply["range"] = {"first": span[0], "events": span[1] - span[0]}
        if not self.streamer.subscribe(request.sid, session, tag if type(tag) is int else None, span):
            return {"superseded": True}
        return {"session": session.to_dict(), **reply}

    def on_unsubscribe(self, data: Any = None, *_: Any) -> None:
        tag = data.get("tag") if isinstance(data, dict) else None
        self.streamer.unsubscribe(request.sid, tag if type(tag) is int else None)

    def on_ack(self, data: Any = None, *_: Any) -> None:
        self.streamer.ack(request.sid, data.get("seq") if isinstance(data, dict) else None)

    def on_disconnect(self, *_: Any) -> None:
        self.streamer.unsubscribe(request.sid)

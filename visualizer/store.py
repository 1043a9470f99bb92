"""The store: every session, by id, under one memory budget, each written to the data directory.

Sessions are numbered on from the highest id on disk; those a previous server left are
listed again as they were (a session it was still receiving is ``crashed``: the server
stopped). The memory all windows hold together stays under `budget` bytes: past it, ended
sessions nobody watches leave memory first (least recently used first; read back from
disk when a viewer comes), then the oldest events of the largest sessions (counted as
trimmed). Listeners hear of each new session, each change of state, and each removal.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from runtime.trace.codec import END, EVENTS, HELLO, LIMITS, FormatError, Limits, check_hello, read_frames
from runtime.trace.events import describe
from visualizer.archive import Archive, scan
from visualizer.sessions import CRASHED, DEFAULT_WINDOW, ENDED, FINAL, RUNNING, Session

__all__ = ["Store", "default_budget"]

log = logging.getLogger(__name__)
_LOW_WATER = 0.8  # eviction frees memory down to this share of the budget


def default_budget() -> int:
    """A quarter of the machine's memory (1 GiB where it cannot be read)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 4
    except (ValueError, OSError, AttributeError):
        return 1 << 30


class Store:
    """Every session, by id; the memory their windows hold (`nbytes`) under `budget`."""

    def __init__(self, window: int = DEFAULT_WINDOW, archive: Archive | None = None, budget: int | None = None) -> None:
        if window < 1:
            raise ValueError(f"the session window must be at least 1 event, got {window}")
        self.window = window
        self.archive = archive
        self.budget = default_budget() if budget is None else budget
        self.nbytes = 0
        self.evicted = 0  # times a session's events left memory for the budget
        self._sessions: dict[str, Session] = {}
        self.lock = threading.RLock()  # held by the launcher from starting a child to noting its pid
        self._memory = threading.Lock()
        self._changed: list[Callable[[Session], None]] = []
        self._removed: list[Callable[[Session], None]] = []
        last = self._restore()
        self._ids = itertools.count(last + 1)

    def subscribe(self, changed: Callable[[Session], None], removed: Callable[[Session], None] | None = None) -> None:
        """Call `changed(session)` (from any thread) when a session appears or changes state,
        `removed(session)` when one is removed."""
        self._changed.append(changed)
        if removed is not None:
            self._removed.append(removed)

    def _notify(self, session: Session) -> None:
        for listener in self._changed:
            listener(session)

    # ---------------------------------------------------------------- sessions

    def create(self, *, source: str, workload: str | None = None, params: dict | None = None) -> Session:
        session = self._new(source=source, workload=workload, params=params)
        self._register(session)
        return session

    def _new(self, **what: Any) -> Session:
        with self.lock:
            return Session(str(next(self._ids)), self.window, **what)

    def _register(self, session: Session) -> None:
        with self.lock:
            self._sessions[session.id] = session
        self._save(session)
        self._notify(session)

    def get(self, sid: str) -> Session | None:
        return self._sessions.get(sid)

    def all(self) -> list[Session]:
        with self.lock:
            return list(self._sessions.values())

    def claim(self, secret: str, hello: dict, agent: Any) -> Session | None:
        """The launched session whose program's HELLO carries `secret`, now streamed by `agent`;
        None unless it may still say HELLO (it has not ended, no other connection streams it)."""
        with self.lock:
            session = next(
                (s for s in self._sessions.values() if s.secret == secret and s.state not in FINAL and s.agent is None),
                None,
            )
            if session is None:
                return None
            session.agent = agent
        return self._attached(session, hello)

    def attach(self, hello: dict, agent: Any) -> Session:
        """A new session, streamed by `agent` (a connection whose HELLO said `hello`)."""
        session = self._new(source="agent")
        session.agent = agent
        session.pid = hello["process"].get("pid")
        self._register(session)
        return self._attached(session, hello)

    def _attached(self, session: Session, hello: dict) -> Session:
        with self.lock:
            if session.hello is None:
                self._start_recording(session, hello)
        self.set_state(session, RUNNING)
        return session

    def _start_recording(self, session: Session, hello: dict) -> None:
        if self.archive is None:
            session.hello = hello
            return
        try:
            session.start_recording(self.archive.open(session.id), hello)
        except OSError as e:
            session.hello = hello
            session.error = f"not recorded to disk: {e}"
            log.warning("session %s: %s", session.id, session.error)

    def set_state(self, session: Session, state: str, **info: Any) -> None:
        """Move `session` to `state` (a final state is final) and record `info` (exit_code, error)."""
        if session.state in FINAL:
            return
        for name, value in info.items():
            setattr(session, name, value)
        session.state = state
        if state in FINAL:
            session.ended = time.time()
            session.close_recording()
        self._save(session)
        self._notify(session)

    def _save(self, session: Session) -> None:
        if self.archive is not None:
            self.archive.save(session.description())

    def remove(self, session: Session) -> None:
        """Forget `session` (it has ended): from memory and from disk."""
        with self.lock:
            self._sessions.pop(session.id, None)
        session.close_recording()
        freed = session.shed(session.nbytes + 1, keep=0)
        self._account(-freed)
        if self.archive is not None:
            self.archive.remove(session.id)
        for listener in self._removed:
            listener(session)

    # ---------------------------------------------------------------- events and memory

    def append(self, session: Session, batch: Any, frame: bytes | None = None) -> None:
        """Add `batch` to `session` (and `frame` to its recording), within the memory budget."""
        pace = session.pace
        self._account(session.append(batch, frame))
        if session.pace is not pace:  # its hub obeyed the live control: viewers hear of it (and get it) at once
            self._notify(session)

    def resident(self, session: Session) -> None:
        """Make sure `session`'s window is in memory (read back from disk if it left), for a viewer
        (count it in `session.viewers` first: what viewers watch leaves memory last)."""
        if not session.resident:
            before = session.nbytes
            session.reload()
            self._account(session.nbytes - before)

    def _account(self, delta: int) -> None:
        with self._memory:
            self.nbytes += delta
            over = self.nbytes > self.budget
        if over:
            self._evict()

    def _evict(self) -> None:
        """Free memory down to the low-water mark: ended sessions nobody watches leave memory whole
        (least recently used first), then the largest sessions lose their oldest events."""
        with self.lock:
            sessions = list(self._sessions.values())
        idle = sorted((s for s in sessions if s.state in FINAL and not s.viewers), key=lambda s: s.used)
        rest = sorted((s for s in sessions if s.state not in FINAL or s.viewers), key=lambda s: -s.nbytes)
        for session, whole in itertools.chain(((s, True) for s in idle), ((s, False) for s in rest)):
            with self._memory:
                need = self.nbytes - int(self.budget * _LOW_WATER)
            if need <= 0:
                return
            freed = session.shed(session.nbytes + 1, keep=0) if whole else session.shed(need, keep=1)
            if freed:
                self.evicted += 1
                log.info("session %s: %d bytes of events left memory (budget %d)", session.id, freed, self.budget)
                with self._memory:
                    self.nbytes -= freed

    # ---------------------------------------------------------------- recordings: uploaded, and on disk

    def load(self, stream: IO[bytes], limits: Limits = LIMITS) -> Session:
        """A session replaying the recording read from `stream`; `FormatError` (and nothing kept) if it is not one."""
        session = self._new(source="recording")
        try:
            for frame_type, payload, frame in read_frames(stream, limits, coded=True):
                if session.hello is None:
                    if frame_type != HELLO:
                        raise FormatError("the recording does not start with a hello frame")
                    self._start_recording(session, {"schema": describe(), "process": check_hello(payload)})
                elif frame_type == EVENTS:
                    self.append(session, payload, frame)
                elif frame_type == END:
                    dropped = payload.get("dropped") if isinstance(payload, dict) else None
                    session.end(dropped if type(dropped) is int and dropped > 0 else 0)
            if session.hello is None:
                raise FormatError("the recording holds no frame")
        except BaseException:
            session.close_recording()
            self._account(-session.shed(session.nbytes + 1, keep=0))
            if self.archive is not None:
                self.archive.remove(session.id)
            raise
        session.state = ENDED if session.complete else CRASHED
        session.error = None if session.complete else "the recording has no end mark"
        session.ended = time.time()
        session.close_recording()
        self._register(session)
        return session

    def _restore(self) -> int:
        """List the sessions of the data directory; the highest id there (0 for none). A session that had
        ended is taken at its description's word (its recording is read when a viewer comes); one that was
        being written is read to its last whole frame, cut there, and is ``crashed``."""
        if self.archive is None:
            return 0
        last = 0
        for description in self.archive.descriptions():
            session = Session(description["id"], self.window, source=str(description.get("source")))
            for name in ("workload", "params", "pid", "started", "ended", "exit_code", "error", "state"):
                setattr(session, name, description.get(name))
            session.params = session.params or {}
            session.path = self.archive.recording_path(session.id)
            if session.state in FINAL:
                session.restore(description)
            else:
                found = scan(session.path)
                self.archive.cut(session.id, found.size)
                session.restore(description, found)
                session.state = CRASHED
                session.ended = session.ended or time.time()
                session.error = "the dashboard stopped while it ran"
                self._save(session)
            self._sessions[session.id] = session
            last = max(last, int(session.id))
        return last

"""Starts and stops workloads, each a child process traced by ``greenscope record --connect``.

Only registered workloads run (`visualizer.workloads`), with validated parameters passed as
``--name=value`` arguments: nothing from a request becomes a command, a path or a module
name. Each child gets a secret its HELLO must carry (``$GREENSCOPE_SECRET``: nobody else
can stream its session), its own process group, and a lifeline: the read end of a pipe
whose write end only this server holds, so that when the server dies — however it dies —
the pipe ends and the child stops its group (`runtime.tracer`). At most `max_children`
run at once. A thread per child reads its output (the last lines are kept, to say why it
failed) and reaps it, then takes in what its agent could not send at exit (its fallback
recording, in the data directory) and sets its session's final state: ``ended`` (exit
status 0), ``crashed`` (any other) or ``stopped`` (on request). Stopping sends the stop
command through the agent's connection, then SIGTERM, then SIGKILL to its process group:
all within `stop_timeout` seconds.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

from runtime.trace.codec import END, EVENTS, LIMITS, FormatError, read_frames
from visualizer.sessions import CRASHED, ENDED, FINAL, STOPPED, Session
from visualizer.store import Store
from visualizer.workloads import workloads
from visualizer.workloads.schema import ParamError, to_argv

__all__ = ["Busy", "Launcher"]

log = logging.getLogger(__name__)


class Busy(Exception):
    """As many workloads run as the launcher allows."""


class _Child:
    """A workload's process, reaped by its own thread."""

    def __init__(self, proc: subprocess.Popen, session: Session, store: Store, fallback: Path | None) -> None:
        self.proc = proc
        self.session = session
        self.store = store
        self.fallback = fallback
        self.stop_requested = False
        self.reaped = threading.Event()
        self.output: deque[str] = deque(maxlen=20)
        self._thread = threading.Thread(target=self._reap, name=f"greenscope-child-{proc.pid}", daemon=True)
        self._thread.start()

    def _reap(self) -> None:
        with self.proc.stdout as out:
            for line in out:
                self.output.append(line.rstrip()[:1000])
        code = self.proc.wait()
        agent = self.session.agent
        if agent is not None:  # its stream may hold a little more (END): read it to the end first
            agent.join(5.0)
        self._take_fallback()
        if self.stop_requested:
            self.store.set_state(self.session, STOPPED, exit_code=code)
        elif code == 0:
            note = None if self.session.complete else "its stream broke off before its end mark: events may be missing"
            self.store.set_state(self.session, ENDED, exit_code=code, error=self.session.error or note)
        else:
            why = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
            last = next((line for line in reversed(self.output) if line.strip()), "")
            self.store.set_state(self.session, CRASHED, exit_code=code, error=f"{why}: {last}" if last else why)
        self.reaped.set()

    def _take_fallback(self) -> None:
        """What the child's agent could not send at exit, appended to the session (then removed)."""
        if self.fallback is None or not self.fallback.exists():
            return
        session = self.session
        try:
            with self.fallback.open("rb") as f:
                for frame_type, payload, frame in read_frames(f, LIMITS):
                    if frame_type == EVENTS:
                        self.store.append(session, payload, frame)
                    elif frame_type == END and not session.complete:
                        dropped = payload.get("dropped") if isinstance(payload, dict) else 0
                        session.end(dropped if type(dropped) is int and dropped > 0 else 0)
        except (OSError, FormatError) as e:
            log.warning("session %s: its fallback recording %s: %s", session.id, self.fallback, e)
        self.fallback.unlink(missing_ok=True)

    def stop(self, timeout: float) -> None:
        """Ask, then terminate, then kill (its process group); return once reaped (within `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        self.stop_requested = True
        agent = self.session.agent
        if agent is None or not agent.send({"command": "stop"}):
            self._signal(signal.SIGTERM)
        if not self.reaped.wait(timeout * 0.3):
            self._signal(signal.SIGTERM)
            if not self.reaped.wait(max(deadline - time.monotonic() - timeout * 0.2, 0)):
                self._signal(signal.SIGKILL)
                self.reaped.wait(max(deadline - time.monotonic(), 0.1))
        self._thread.join(max(deadline - time.monotonic(), 0.1))

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signum)  # its own group: the program's children too


class Launcher:
    """Runs workloads traced, streaming to the agent listener's launch door at `agent_address`."""

    def __init__(
        self,
        store: Store,
        agent_address: str,
        allow_external_crawl: bool = False,
        stop_timeout: float = 2.0,
        max_children: int = 32,
    ) -> None:
        self.store = store
        self.agent_address = agent_address
        self.allow_external_crawl = allow_external_crawl
        self.stop_timeout = stop_timeout
        self.max_children = max_children
        self._children: dict[str, _Child] = {}
        self._lock = threading.Lock()
        self._lifeline, self._held = os.pipe()  # children read; only this process writes (never): see the module

    def launch(self, name: object, params: object) -> Session:
        """Start workload `name` with `params`; `ParamError` (naming the field) if either is not
        allowed, `Busy` if `max_children` run already."""
        workload = workloads().get(name) if isinstance(name, str) else None
        if workload is None:
            raise ParamError("workload", f"no such workload {name!r} (there are: {', '.join(workloads())})")
        values = workload.validate({} if params is None else params, self.allow_external_crawl)
        with self._lock:
            if sum(not c.reaped.is_set() for c in self._children.values()) >= self.max_children:
                raise Busy(f"{self.max_children} workloads run already: stop one first")
        session = self.store.create(source="launched", workload=workload.name, params=values)
        session.secret = secrets.token_urlsafe(24)
        archive = self.store.archive
        fallback = archive.fallback_path(session.id) if archive is not None else None
        command = [sys.executable, "-m", "visualizer", "record", "--connect", self.agent_address]
        if fallback is not None:
            command += ["--fallback", str(fallback)]
        if not workload.monkey_patch:
            command.append("--no-patch")
        command += [str(workload.path), *to_argv(values)]
        env = {**os.environ, "GREENSCOPE_SECRET": session.secret, "GREENSCOPE_LIFELINE": str(self._lifeline)}
        with self.store.lock:  # noted before its HELLO can arrive
            try:
                proc = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    errors="replace",
                    env=env,
                    pass_fds=(self._lifeline,),
                    start_new_session=True,
                )
            except OSError as e:
                self.store.set_state(session, CRASHED, error=f"could not start: {e}")
                return session
            session.pid = proc.pid
        with self._lock:
            self._children[session.id] = _Child(proc, session, self.store, fallback)
        return session

    def stop(self, session: Session) -> None:
        """Stop `session`: its child if it has one (within `stop_timeout`), else its agent's program."""
        child = self._children.get(session.id)
        if child is not None:
            child.stop(self.stop_timeout)
        elif session.state not in FINAL:
            if session.agent is not None:
                session.agent.send({"command": "stop"})
            self.store.set_state(session, STOPPED)

    def close(self) -> None:
        """Stop every child still running (all at once) and reap them."""
        with self._lock:
            children = [c for c in self._children.values() if not c.reaped.is_set()]
        threads = [threading.Thread(target=c.stop, args=(self.stop_timeout,)) for c in children]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for fd in (self._lifeline, self._held):
            with contextlib.suppress(OSError):
                os.close(fd)

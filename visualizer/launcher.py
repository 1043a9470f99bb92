"""Starts and stops workloads, each a child process traced by ``greenscope record --connect``.

Only registered workloads run (`visualizer.workloads`), with validated parameters passed as
``--name=value`` arguments: nothing from a request becomes a command, a path or a module
name. A thread per child reads its output (the last lines are kept, to say why it failed)
and reaps it, then sets its session's final state: ``ended`` (exit status 0), ``crashed``
(any other) or ``stopped`` (on request). Stopping sends the stop command through the
agent's connection, then SIGTERM, then SIGKILL: all within `stop_timeout` seconds.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import deque

from visualizer.sessions import CRASHED, ENDED, FINAL, STOPPED, Session, Store
from visualizer.workloads import workloads
from visualizer.workloads.schema import ParamError, to_argv

__all__ = ["Launcher"]


class _Child:
    """A workload's process, reaped by its own thread."""

    def __init__(self, proc: subprocess.Popen, session: Session, store: Store) -> None:
        self.proc = proc
        self.session = session
        self.store = store
        self.stop_requested = False
        self.reaped = threading.Event()
        self.output: deque[str] = deque(maxlen=20)
        self._thread = threading.Thread(target=self._reap, name=f"greenscope-child-{proc.pid}", daemon=True)
        self._thread.start()

    def _reap(self) -> None:
        with self.proc.stdout as out:
            for line in out:
                self.output.append(line.rstrip())
        code = self.proc.wait()
        if self.stop_requested:
            self.store.set_state(self.session, STOPPED, exit_code=code)
        elif code == 0:
            self.store.set_state(self.session, ENDED, exit_code=code)
        else:
            why = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
            last = next((line for line in reversed(self.output) if line.strip()), "")
            self.store.set_state(self.session, CRASHED, exit_code=code, error=f"{why}: {last}" if last else why)
        self.reaped.set()

    def stop(self, timeout: float) -> None:
        """Ask, then terminate, then kill; return once reaped (within `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        self.stop_requested = True
        agent = self.session.agent
        if agent is None or not agent.send({"command": "stop"}):
            self.proc.terminate()
        if not self.reaped.wait(timeout * 0.3):
            self.proc.terminate()
            if not self.reaped.wait(max(deadline - time.monotonic() - timeout * 0.2, 0)):
                self.proc.kill()
                self.reaped.wait(max(deadline - time.monotonic(), 0.1))
        self._thread.join(max(deadline - time.monotonic(), 0.1))


class Launcher:
    """Runs workloads traced, streaming to the agent listener at `agent_address`."""

    def __init__(
        self, store: Store, agent_address: str, allow_external_crawl: bool = False, stop_timeout: float = 2.0
    ) -> None:
        self.store = store
        self.agent_address = agent_address
        self.allow_external_crawl = allow_external_crawl
        self.stop_timeout = stop_timeout
        self._children: dict[str, _Child] = {}
        self._lock = threading.Lock()

    def launch(self, name: object, params: object) -> Session:
        """Start workload `name` with `params`; `ParamError` (naming the field) if either is not allowed."""
        workload = workloads().get(name) if isinstance(name, str) else None
        if workload is None:
            raise ParamError("workload", f"no such workload {name!r} (there are: {', '.join(workloads())})")
        values = workload.validate({} if params is None else params, self.allow_external_crawl)
        command = [sys.executable, "-m", "visualizer", "record", "--connect", self.agent_address]
        if not workload.monkey_patch:
            command.append("--no-patch")
        command += [str(workload.path), *to_argv(values)]
        session = self.store.create(source="launched", workload=workload.name, params=values)
        with self.store.lock:  # the child's HELLO is matched by pid: note it before the agent can claim
            try:
                proc = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    errors="replace",
                )
            except OSError as e:
                self.store.set_state(session, CRASHED, error=f"could not start: {e}")
                return session
            session.pid = proc.pid
        with self._lock:
            self._children[session.id] = _Child(proc, session, self.store)
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

"""A program run by ``greenscope run`` under a test's control: its output as it comes, its session's events, the
live control sent to it through the dashboard."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from runtime.trace.codec import read_recording
from runtime.trace.events import CONTROL
from tests.support.dashboard import Server, wait_until


class Controlled:
    """A running session of `server` (its `id`), driven by the live control; what its hub did read back from its
    recording."""

    def __init__(self, server: Server, sid: str) -> None:
        self.server = server
        self.id = sid

    def events(self) -> list[tuple]:
        """Every event its session has recorded so far."""
        return read_recording(self.server.get(f"api/sessions/{self.id}/recording").content)[1]

    def control(self, action: str, **more: Any) -> Any:
        return self.server.http.post(
            f"{self.server.base}api/sessions/{self.id}/control", json={"action": action, **more}, timeout=10
        )

    def obeyed(self, action: str, count: int = 1) -> list[tuple]:
        """The events once the hub has said `count` times that it obeyed `action`."""
        return wait_until(
            lambda: (evs := self.events()) and sum(e[0] == CONTROL and e[2] == action for e in evs) >= count and evs,
            what=f"{count} {action}",
        )


class Program(Controlled):
    """``greenscope run app.py ARGS`` in `directory` (argv[0] relative to it), its output read as it comes (and
    with `stdin`, its input ours to write)."""

    def __init__(self, server: Server, directory: Path, *args: str, stdin: bool = False) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "visualizer", "run", "--port", str(server.port), "--no-open", "app.py", *args],
            cwd=directory,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.session: dict = wait_until(
            lambda: next((s for s in server.get("api/sessions").json() if s["pid"] == self.proc.pid), None),
            what="its session",
        )
        super().__init__(server, self.session["id"])

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.strip())

    def close(self, timeout: float = 60) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self.proc.kill()
            self._reader.join(10)
            for pipe in (self.proc.stdin, self.proc.stdout):
                if pipe is not None:
                    pipe.close()

    def stop(self) -> None:
        """Stop it if it still runs (paused or not: a stop ends a pause), and wait for it."""
        if self.proc.poll() is None:
            self.proc.terminate()
        self.close()


def sources(directory: Path, app: str, helper: str) -> Path:
    """`directory` with the program `app` in app.py and `helper` in helper.py."""
    (directory / "app.py").write_text(app)
    (directory / "helper.py").write_text(helper)
    return directory

"""The processes a phase starts: the dashboard's server (`Server`, a ``greenscope serve`` child driven over REST)
and the child roles (`child`, `result_of`), each stopped by pid when its phase ends (`started`, `stop`)."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from benchmarks.harness import ROOT


class Server:
    """``python -m visualizer serve --port 0`` in a child process; `url`, `agent` from the line it prints."""

    def __init__(self, *args: str) -> None:
        self._log = tempfile.TemporaryFile()
        self._data = tempfile.TemporaryDirectory(prefix="greenscope-bench-")
        command = [sys.executable, "-m", "visualizer", "serve", "--port", "0", "--data-dir", self._data.name, *args]
        self.proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=self._log, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ""  # type: ignore[union-attr]
        found = re.search(r"at (http://\S+) \(agents connect to (\S+)\)", line)
        if not found:
            self.close()
            raise RuntimeError(f"the dashboard did not start: {line!r}")
        self.url, self.agent = found.groups()
        self.base = self.url.split("?")[0]
        import requests

        self.http = requests.Session()
        self.http.trust_env = False  # 127.0.0.1 only: no proxy
        self.http.headers["X-Greenscope"] = "1"  # what the page sends with what changes something

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu_seconds(self) -> float:
        """CPU time the server has used so far (user + system, all its threads)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        """The server's resident memory, in MB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def api(self, method: str, path: str, **kw: Any) -> Any:
        response = self.http.request(method, self.base + "api/" + path, timeout=10, **kw)
        response.raise_for_status()
        return response.json()

    def session_of(self, pid: int, timeout: float = 20.0) -> dict:
        """The session of the traced process `pid`, once its agent has said hello."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [s for s in self.api("GET", "sessions") if s["pid"] == pid and s["state"] != "starting"]
            if found:
                return found[0]
            time.sleep(0.02)
        raise TimeoutError(f"no session for pid {pid}")

    def completed(self, sid: str, timeout: float) -> dict:
        """The session `sid` once complete (its agent said END and all of it is in), or {} after `timeout`."""
        return wait_for(lambda: (s := self.api("GET", f"sessions/{sid}"))["complete"] and s, timeout) or {}

    def close(self) -> None:
        """Stop it (SIGTERM: it stops its workloads), SIGKILL if it does not go within 20 s."""
        if hasattr(self, "http"):
            self.http.close()
        stop(self.proc)
        self.proc.stdout.close()  # type: ignore[union-attr]
        self._log.close()
        self._data.cleanup()


def stop(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """Terminate the process we started, then kill it if it lingers; reap it either way."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def child(*args: str) -> subprocess.Popen:
    """``python -m benchmarks.dashboard ARGS`` (a child role), its stdout piped."""
    command = [sys.executable, "-m", "benchmarks.dashboard", *args]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)


def result_of(proc: subprocess.Popen, timeout: float) -> dict:
    """The JSON line a child role prints when it is done."""
    out, _ = proc.communicate(timeout=timeout)
    lines = out.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def started(stack: ExitStack, thing: Any) -> Any:
    """`thing` (a `Server`, a `Viewer` or a child process), stopped when `stack` closes, whatever happens."""
    stack.callback(stop, thing) if isinstance(thing, subprocess.Popen) else stack.callback(thing.close)
    return thing


def wait_for(condition: Callable[[], Any], timeout: float, every: float = 0.05) -> Any:
    """Poll `condition` until it is true (returned) or `timeout` passes (returns the last value)."""
    deadline = time.monotonic() + timeout
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(every)
    return value

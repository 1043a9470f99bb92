"""The dashboard as the tests meet it: a real ``greenscope serve`` process, Flask's test client sending
what the page sends, and waiting for what happens in other threads and processes."""

from __future__ import annotations

import re
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from visualizer.security import CSRF_HEADER


class Server:
    """``greenscope serve`` in a child process, keeping its sessions in `data` (by default a directory of
    its own beside `log`); `url` and `agent` from the line it prints. Its `http` client says it is the
    page's own (the ``X-Greenscope`` header)."""

    def __init__(self, *args: str, log: Path, data: Path | None = None, **popen: Any) -> None:
        self.data = data or log.parent / f"{log.stem}-data"
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "visualizer", "serve", "--port", "0", "--data-dir", str(self.data), *args],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            **popen,
        )
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ""
        found = re.search(r"at (http://\S+) \(agents connect to (\S+)\)", line)
        if not found:
            self.close()
            pytest.fail(f"the server did not start: {line!r}, see {log}")
        self.url, self.agent = found.groups()
        self.base = self.url.split("?")[0]
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.headers[CSRF_HEADER] = "1"

    def get(self, path: str, **kw) -> requests.Response:
        return self.http.get(self.base + path, timeout=10, **kw)

    def launch(self, workload: str, **params) -> dict:
        r = self.http.post(self.base + "api/sessions", json={"workload": workload, "params": params}, timeout=10)
        assert r.status_code == 201, r.text
        return r.json()

    @property
    def port(self) -> int:
        return int(self.base.rstrip("/").rsplit(":", 1)[1])

    def close(self) -> None:
        if hasattr(self, "http"):
            self.http.close()
        self.proc.terminate()
        try:
            self.proc.wait(20)  # a server that does not stop on SIGTERM fails the test that stops it...
        finally:  # ...and only that one: it is killed, its pipes closed
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()
            self._log.close()


def page_client(app: Flask) -> Any:
    """Flask's test client, sending what the page sends with each request that changes something."""
    client = app.test_client()
    client.environ_base["HTTP_" + CSRF_HEADER.upper().replace("-", "_")] = "1"
    return client


def wait_until(condition: Callable[[], object], timeout: float = 20.0, what: str = "the condition") -> object:
    """Poll `condition` until it is true (returned) or `timeout` seconds pass (fail)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def alive(pid: int) -> bool:
    """Whether process `pid` exists at all (a zombie counts: it was not reaped)."""
    return Path(f"/proc/{pid}").exists()


def running(pid: int) -> bool:
    """Whether process `pid` runs (not a zombie: an orphan's reaping is init's business)."""
    try:
        return " Z" not in Path(f"/proc/{pid}/stat").read_text().split(")", 1)[1][:3]
    except OSError:
        return False

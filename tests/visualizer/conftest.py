"""Fixtures for the dashboard: a fresh app per test (closed after it), a real server process, and
helpers to wait and to rebuild events from what viewers receive."""

from __future__ import annotations

import re
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask

from runtime.trace.events import FIELDS, KIND_CODES
from visualizer.app import create_app


class Server:
    """``greenscope serve`` in a child process; `url` and `agent` from the line it prints."""

    def __init__(self, *args: str, log: Path) -> None:
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "visualizer", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
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

    def get(self, path: str, **kw) -> requests.Response:
        return self.http.get(self.base + path, timeout=10, **kw)

    def launch(self, workload: str, **params) -> dict:
        r = self.http.post(self.base + "api/sessions", json={"workload": workload, "params": params}, timeout=10)
        assert r.status_code == 201, r.text
        return r.json()

    def close(self) -> None:
        if hasattr(self, "http"):
            self.http.close()
        self.proc.terminate()
        self.proc.wait(20)
        self.proc.stdout.close()
        self._log.close()


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


def events_of(batch: dict) -> list[tuple]:
    """The event tuples of one columnar batch, in order."""
    rows = {
        KIND_CODES[kind]: zip(*(columns[field] for field in ("ts", *FIELDS[KIND_CODES[kind]])), strict=True)
        for kind, columns in batch["columns"].items()
    }
    return [(kind, *next(rows[kind])) for kind in batch["kinds"]]


def alive(pid: int) -> bool:
    """Whether process `pid` exists at all (a zombie counts: it was not reaped)."""
    return Path(f"/proc/{pid}").exists()


@pytest.fixture
def make_app() -> Iterator[Callable[..., Flask]]:
    """Build dashboard apps (closed, and their workloads reaped, after the test)."""
    apps: list[Flask] = []

    def make(**config: object) -> Flask:
        app = create_app({"interval": 0.02, **config})
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["greenscope"].close()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()

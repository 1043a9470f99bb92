"""Fixtures for the dashboard: a fresh app per test (closed after it), a real server process, and
helpers to wait and to rebuild events from what viewers receive."""

from __future__ import annotations

import io
import re
import select
import subprocess
import sys
import time
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from hypothesis import HealthCheck, settings

from runtime.trace.codec import END, EVENTS, read_frames
from runtime.trace.events import DROPPED, FIELDS, KIND_CODES, SPAWN, SWITCH, WAKE, Batch
from visualizer.app import create_app
from visualizer.security import CSRF_HEADER

#: hypothesis settings for fuzzing a door: modest, and the same examples every run (no luck involved)
FUZZ = settings(
    max_examples=60, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)

PROCESS = {"pid": 42, "argv": ["prog.py"], "program": "prog.py", "version": "0.1.0"}


def sample(n: int, start: int = 0) -> list[tuple]:
    """n events of a few kinds, with ints, strings and None in their fields."""
    events = []
    for i in range(start, start + n):
        if i % 3 == 0:
            events.append((SWITCH, i, 0, 1 + i % 5))
        elif i % 3 == 1:
            events.append((WAKE, i, 1 + i % 5, "timer", 0, 0))
        else:
            events.append((SPAWN, i, 100 + i, 1, "work", "prog.py:3", None))
    return events


def tally(data: bytes) -> tuple[int, int]:
    """A recording's events (but its ``dropped`` ones), and the losses it reports (its ``dropped`` events and END)."""
    events = lost = 0
    for kind, payload, _ in read_frames(io.BytesIO(data)):
        if kind == EVENTS:
            evs = payload.events()
            events += sum(1 for e in evs if e[0] != DROPPED)
            lost += sum(e[2] for e in evs if e[0] == DROPPED)
        elif kind == END:
            lost += payload["dropped"]
    return events, lost


def batch(n: int, start: int = 0) -> Batch:
    """`sample(n, start)` as the codec decodes it: a `Batch`."""
    return Batch.of(sample(n, start))


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
    """The event tuples of one batch, in order, read as the page reads them (`visualizer.sessions.wire`)."""
    data, origin = batch["data"], int(batch["origin"])

    def values(field: str, n: int, column: int | list) -> list:
        if isinstance(column, list):
            return column
        assert column % 8 == 0
        numbers = array("d", data[column : column + 8 * n])
        if sys.byteorder != "little":
            numbers.byteswap()
        assert all(x.is_integer() for x in numbers)
        return [int(x) + origin for x in numbers] if field == "ts" else [int(x) for x in numbers]

    rows = {
        KIND_CODES[kind]: zip(*(values(f, c["n"], c[f]) for f in ("ts", *FIELDS[KIND_CODES[kind]])), strict=True)
        for kind, c in batch["columns"].items()
    }
    return [(kind, *next(rows[kind])) for kind in data[: batch["events"]]]


def alive(pid: int) -> bool:
    """Whether process `pid` exists at all (a zombie counts: it was not reaped)."""
    return Path(f"/proc/{pid}").exists()


def running(pid: int) -> bool:
    """Whether process `pid` runs (not a zombie: an orphan's reaping is init's business)."""
    try:
        return " Z" not in Path(f"/proc/{pid}/stat").read_text().split(")", 1)[1][:3]
    except OSError:
        return False


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build dashboard apps, each keeping its sessions in a directory of its own under `tmp_path` (closed,
    and their workloads reaped, after the test)."""
    apps: list[Flask] = []

    def make(**config: object) -> Flask:
        data = tmp_path / f"data-{len(apps)}"
        app = create_app({"interval": 0.02, "data_dir": data, **config})
        app.config["TESTING"] = True
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["greenscope"].close()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


def page_client(app: Flask) -> Any:
    """Flask's test client, sending what the page sends with each request that changes something."""
    client = app.test_client()
    client.environ_base["HTTP_" + CSRF_HEADER.upper().replace("-", "_")] = "1"
    return client

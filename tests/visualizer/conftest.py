"""Fixtures for the dashboard: a fresh app per test (closed after it), and helpers to wait and to
rebuild events from what viewers receive."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from runtime.trace.events import FIELDS, KIND_CODES
from visualizer.app import create_app


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

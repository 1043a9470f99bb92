"""Fixtures for the dashboard: a fresh app per test, closed after it (helpers: `tests.support.dashboard`,
`tests.support.events`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from visualizer.app import create_app


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

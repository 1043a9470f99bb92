"""Real `greenscope serve` processes, shared by the dashboard's and the browser's tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.visualizer.conftest import Server, alive


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A dashboard on 127.0.0.1 for the module; every workload it launched is reaped when it stops."""
    it = Server(log=tmp_path_factory.mktemp("serve") / "serve.log")
    yield it
    pids = [s["pid"] for s in it.get("api/sessions").json() if s["pid"]]
    it.close()
    assert [pid for pid in pids if alive(pid)] == []  # every child reaped


@pytest.fixture
def token_server(tmp_path: Path) -> Iterator[Server]:
    """A dashboard on 127.0.0.2, so one that requires a token (its `url` carries it)."""
    try:
        with socket.create_server(("127.0.0.2", 0)):
            pass
    except OSError:
        pytest.skip("127.0.0.2 cannot be bound here")
    it = Server("--host", "127.0.0.2", log=tmp_path / "serve.log")
    yield it
    it.close()

"""Real `greenscope serve` processes, shared by the dashboard's and the browser's tests; and private
directories for every test, so that no test (nor any process it starts) touches the user's own."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.dashboard import Server, alive


@pytest.fixture(scope="session", autouse=True)
def private_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``$XDG_CACHE_HOME`` (where dashboards keep sessions by default) and ``$XDG_RUNTIME_DIR`` (where
    they say who they are) in a temporary directory, for the whole run."""
    root = tmp_path_factory.mktemp("xdg")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(root / "cache"))
        mp.setenv("XDG_RUNTIME_DIR", str(root / "run"))
        yield root


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

"""Put and get in C (`runtime._queue`) and in Python are one queue: the C helper is used where it is built,
``GREENSCOPE_PURE_PYTHON=1`` selects the Python methods (and the queue tests pass there too), and a traced
program records the same events on either path."""

from __future__ import annotations

import importlib.util
import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

import runtime
from runtime import LifoQueue, LightQueue, PriorityQueue, Queue
from runtime import queue as queue_module
from runtime.queue import Empty, Full
from runtime.trace.events import BLOCK, QUEUE, SPAWN, WAKE
from runtime.trace.recorder import Recorder
from tests.runtime.test_hooks_both_ways import numbered

ROOT = Path(__file__).resolve().parents[2]
needs_c = pytest.mark.skipif(queue_module._queue is None, reason="runtime._queue is not used here")


def run_python(code: str, **env: str) -> str:
    """What `code` prints in a fresh interpreter, with `env` added to the environment."""
    environ = {k: v for k, v in os.environ.items() if k != "GREENSCOPE_PURE_PYTHON"} | env
    out = subprocess.run(
        [sys.executable, "-c", code], env=environ, cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return out.stdout.strip()


WHICH = "from runtime.queue import LightQueue; print(LightQueue.put is LightQueue._put_in_python, LightQueue.__base__)"


def test_the_c_path_is_used_where_it_is_built():
    if importlib.util.find_spec("runtime._queue") is None:
        pytest.skip("runtime._queue is not built here")
    assert run_python(WHICH) == "False <class 'runtime._queue.Base'>"


def test_pure_python_is_chosen_by_the_environment():
    assert run_python(WHICH, GREENSCOPE_PURE_PYTHON="1") == "True <class 'object'>"


def test_the_queue_tests_pass_in_pure_python():
    """The queue's own tests, in an interpreter where the queue never saw the C helper."""
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/runtime/test_queue.py"],
        env=os.environ | {"GREENSCOPE_PURE_PYTHON": "1"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout[-3000:]
    assert " passed" in out.stdout and " failed" not in out.stdout


def program() -> None:
    """Every case put and get meet: room, full, a channel, getters and putters waiting, each storage."""
    q: Queue = Queue(2)
    for i in range(3):  # the third waits for room
        runtime.spawn(q.put, i)
    runtime.sleep(0)
    assert [q.get() for _ in range(3)] == [0, 1, 2]
    getters = [runtime.spawn(q.get) for _ in range(2)]
    runtime.sleep(0)
    q.put("x")
    q.put_nowait("y")
    assert [g.wait() for g in getters] == ["x", "y"]
    for _ in range(5):
        q.task_done()
    assert q.join() is True
    with pytest.raises(Empty):
        q.get_nowait()
    q.put(1)
    q.put(2)
    with pytest.raises(Full):
        q.put(3, block=False)
    q.resize(3)
    q.put(3)
    assert [q.get(), q.get(block=False), q.get(timeout=1)] == [1, 2, 3]
    channel: LightQueue = LightQueue(0)
    putter = runtime.spawn(channel.put, "hand to hand")
    runtime.sleep(0)
    assert channel.get() == "hand to hand"
    putter.wait()
    for cls in (LifoQueue, PriorityQueue):
        other = cls(2)
        other.put(2)
        other.put(1)
        assert {other.get(), other.get()} == {1, 2}


def recorded() -> list[tuple]:
    """The events of `program`, numbered; a spawn's function named by its method's name only (a greenthread
    spawned on `q.put` is ``Queue.put`` in C, the class of `q`, and ``LightQueue.put`` in Python)."""
    ticks = itertools.count(1)
    rec = Recorder(clock=lambda: next(ticks))
    rec.install()
    try:
        program()
    finally:
        rec.uninstall()
    events = numbered(rec.take())
    return [(*e[:4], e[4].rpartition(".")[2], *e[5:]) if e[0] == SPAWN else e for e in events]


@needs_c
def test_a_traced_program_records_the_same_events_either_way(monkeypatch: pytest.MonkeyPatch):
    in_c = recorded()
    monkeypatch.setattr(LightQueue, "put", LightQueue._put_in_python)
    monkeypatch.setattr(LightQueue, "get", LightQueue._get_in_python)
    in_python = recorded()
    assert in_c == in_python
    kinds = [e[0] for e in in_c]
    assert kinds.count(QUEUE) >= 20 and BLOCK in kinds and WAKE in kinds
    assert [e[4] for e in in_c if e[0] == SPAWN][:3] == ["put"] * 3

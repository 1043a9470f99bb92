"""`import runtime as eventlet` gives eventlet's names, and eventlet programs run."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap

import runtime as eventlet

TOP_LEVEL = [
    "spawn",
    "spawn_n",
    "spawn_after",
    "spawn_after_local",
    "sleep",
    "kill",
    "getcurrent",
    "GreenThread",
    "Event",
    "Semaphore",
    "BoundedSemaphore",
    "CappedSemaphore",
    "Timeout",
    "with_timeout",
    "is_timeout",
    "GreenletExit",
]
SUBMODULES = ["greenthread", "event", "semaphore", "timeout", "hubs", "debug"]


def test_eventlet_top_level_names():
    missing = [name for name in TOP_LEVEL if not hasattr(eventlet, name)]
    assert missing == []
    assert sorted(eventlet.__all__) == sorted(set(eventlet.__all__))


def test_eventlet_submodules():
    for name in SUBMODULES:
        assert importlib.import_module(f"runtime.{name}") is getattr(eventlet, name)
    assert callable(eventlet.hubs.get_hub)
    assert eventlet.hubs.get_hub().clock() >= 0
    assert eventlet.event.Event is eventlet.Event
    assert eventlet.greenthread.spawn is eventlet.spawn


def test_an_eventlet_program_runs_unchanged_but_for_the_import(tmp_path):
    program = tmp_path / "prog.py"
    program.write_text(
        textwrap.dedent(
            """
            import runtime as eventlet
            from runtime.semaphore import Semaphore

            sem = Semaphore(2)
            done = eventlet.Event()
            out = []

            def worker(i):
                with sem:
                    eventlet.sleep(0.01)
                    out.append(i)
                if len(out) == 6:
                    done.send(sorted(out))

            for i in range(6):
                eventlet.spawn_n(worker, i)
            with eventlet.Timeout(5):
                print(done.wait())
            """
        )
    )
    result = subprocess.run([sys.executable, str(program)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[0, 1, 2, 3, 4, 5]"

"""Tracing unmodified eventlet and gevent programs in tests: ``greenscope record`` run on one in a
subprocess, and what it recorded, whole or as it is being written."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

from runtime.trace.codec import EVENTS, Decoder, read_recording
from runtime.trace.events import CLOCK, KIND_CODES, as_dict
from runtime.trace.states import check

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "attach"
PEERS = ("eventlet", "gevent")
POOL = 2  # the crawlers' pool in the tests: their site answers a GET once this many are in flight


def greenscope_record(
    output: Path, program: Path, *args: str, options: tuple[str, ...] = (), **popen: Any
) -> subprocess.Popen[str]:
    """``greenscope record -o output [options] program args``, started (stdout and stderr piped, as text)."""
    return subprocess.Popen(
        [sys.executable, "-m", "visualizer", "record", "-o", str(output), *options, str(program), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},  # eventlet warns that it is deprecated
        **popen,
    )


def run_traced(
    output: Path, program: Path, *args: str, options: tuple[str, ...] = (), **popen: Any
) -> subprocess.CompletedProcess[str]:
    """`greenscope_record` to its end; its output."""
    proc = greenscope_record(output, program, *args, options=options, **popen)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def line_of(program: Path, text: str) -> int:
    """The number of the line of `program` holding `text` (the first)."""
    return next(n for n, line in enumerate(program.read_text().splitlines(), 1) if text in line)


class Recording(NamedTuple):
    process: dict
    events: list[tuple]
    complete: bool

    def of(self, kind: str, **fields: Any) -> list[dict]:
        """The events of `kind` (as dicts) whose fields have these values."""
        code = KIND_CODES[kind]
        out = [as_dict(e) for e in self.events if e[0] == code]
        return [e for e in out if all(e[k] == v for k, v in fields.items())]

    def gids(self, func: str) -> list[int]:
        """The greenthreads spawned to run `func` (a qualified name's last part)."""
        return [e["gid"] for e in self.of("spawn") if e["func"].rpartition(".")[2] == func]


def recording(path: Path) -> Recording:
    """What `path` holds; its events must pass the timeline's invariants."""
    process, events, complete = read_recording(path.read_bytes())
    assert check(events) == []
    return Recording(process, events, complete)


class Live:
    """The events of a recording still being written (its agent appends whole frames every 50 ms)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.events: list[tuple] = []
        self._decoder = Decoder()
        self._read = 0

    def wait(self, condition: Any, what: str, timeout: float = 60) -> None:
        """Until `condition(events)` holds (AssertionError naming `what` after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while not condition(self.events):
            assert time.monotonic() < deadline, f"the recording never showed {what}"
            time.sleep(0.01)
            data = self.path.read_bytes()[self._read :] if self.path.exists() else b""
            self._read += len(data)
            for kind, payload in self._decoder.feed(data):
                if kind == EVENTS:  # the program's events (not the agent's clock)
                    self.events += [e for e in payload.events() if e[0] != CLOCK]

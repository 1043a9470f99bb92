"""Run workers in fresh subprocesses, round-robin over implementations, and collect samples."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
"""The repository root: workers run there so ``benchmarks`` and ``runtime`` are importable."""

WORKER_TIMEOUT = 600.0

BASE = "runtime@base"
"""The runtime of another checkout (``--baseline``), measured by this tree's benchmarks side by side."""


@dataclass
class Measurement:
    """All samples of one (scenario, implementation); ``status`` is "ok", "missing" or "error"."""

    scenario: str
    impl: str
    status: str = "ok"
    error: str = ""
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def as_dict(self) -> dict[str, object]:
        record: dict[str, object] = {"scenario": self.scenario, "impl": self.impl, "status": self.status}
        if self.status == "ok":
            record.update(samples=self.samples, median=self.median, min=min(self.samples), max=max(self.samples))
        else:
            record["error"] = self.error
        return record


def run_worker(scenario: str, impl: str, baseline: Path | None = None) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter and return its JSON record (an "error" one if it died).
    `BASE` is ``runtime`` imported from the checkout `baseline`."""
    cmd = [sys.executable, "-m", "benchmarks.worker", scenario, "runtime" if impl == BASE else impl]
    if impl != BASE:
        return _worker(cmd, ROOT, None)
    assert baseline is not None
    with tempfile.TemporaryDirectory(prefix="greenscope-base-") as shim:
        # the worker starts in `shim`, where `runtime` is the baseline's; `benchmarks` comes from this tree
        os.symlink(baseline / "runtime", Path(shim, "runtime"))
        return _worker(cmd, Path(shim), {**os.environ, "PYTHONPATH": str(ROOT)})


def _worker(cmd: list[str], cwd: Path, env: dict[str, str] | None) -> dict[str, Any]:
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=WORKER_TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"status": "error", "error": f"timed out after {WORKER_TIMEOUT:.0f}s"}
    lines = proc.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        return {"status": "error", "error": tail}


def measure(
    scenario: str,
    impls: Iterable[str],
    repeat: int,
    progress: Callable[[str], None] = lambda _: None,
    baseline: Path | None = None,
) -> list[Measurement]:
    """Measure ``scenario`` ``repeat`` times per implementation, interleaving them so noise hits all alike
    (`BASE`, if listed, from the checkout `baseline`).

    An implementation that is missing or fails is not tried again.
    """
    results = [Measurement(scenario, impl) for impl in impls]
    for round_no in range(1, repeat + 1):
        for result in results:
            if result.status != "ok":
                continue
            progress(f"{scenario} round {round_no}/{repeat}: {result.impl}")
            record = run_worker(scenario, result.impl, baseline)
            if record["status"] == "ok":
                result.samples.append(float(record["value"]))
            else:
                result.status, result.error = str(record["status"]), str(record.get("error", ""))
    return results

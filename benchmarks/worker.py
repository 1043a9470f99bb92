"""Run one (scenario, implementation) measurement and print it as one JSON line.

Usage: ``python -m benchmarks.worker SCENARIO IMPL``.  Always run in a fresh process: eventlet and gevent must not
share one.  The line has ``status`` "ok" (with ``value`` in the scenario's unit), "missing" or "error".
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import warnings
from typing import Any

from benchmarks.core import SCENARIOS

WARMUP_FRACTION = 10
"""The warm-up run does ``n // WARMUP_FRACTION`` operations before the timed run."""


def measure(scenario: str, impl: str) -> dict[str, Any]:
    """Warm up, then time ``n`` operations; return the result record."""
    spec = SCENARIOS[scenario]
    func = spec.impls[impl]
    warnings.filterwarnings("ignore")  # eventlet warns about its own deprecation on import
    try:
        importlib.import_module(impl.partition("-")[0])
    except ImportError as exc:
        return {"status": "missing", "error": str(exc)}
    func(max(1, spec.n // WARMUP_FRACTION))
    start = time.perf_counter()
    func(spec.n)
    seconds = time.perf_counter() - start
    return {"status": "ok", "n": spec.n, "seconds": seconds, "value": seconds / spec.n * 1e6}


def main(argv: list[str]) -> int:
    """Print the measurement of ``argv = [scenario, impl]``; exit 1 if it raised."""
    scenario, impl = argv
    try:
        record = measure(scenario, impl)
    except Exception as exc:
        record = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps({"scenario": scenario, "impl": impl, **record}), flush=True)
    return 1 if record["status"] == "error" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

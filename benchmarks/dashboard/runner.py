"""What a run of the dashboard's benchmark is (`Options`: the phases' sizes and durations) and the run itself
(`run`: the phases in turn, each reported, one failing not stopping the others); `phase_list` parses ``--only``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.dashboard.analysis import measure_analysis
from benchmarks.dashboard.delay import measure_delay
from benchmarks.dashboard.ingest import measure_ingest
from benchmarks.dashboard.memory import measure_memory
from benchmarks.dashboard.report import Report
from benchmarks.dashboard.slow_viewer import measure_slow_viewer
from benchmarks.dashboard.soak import measure_soak

PHASES = ("ingest", "delay", "memory", "slow", "soak", "analysis")


@dataclass
class Options:
    """What to run: the phases' sizes and durations."""

    events: int = 2_000_000
    seconds: float = 10.0
    memory_seconds: float = 30.0
    soak_seconds: float = 30.0
    window: int | None = None  # for the memory phase; None: 500k for a short run, the server's default for a soak
    slow_window: int = 200_000
    analysis_greenthreads: int = 4_000  # x 260 sleep(0): ~1M events
    only: tuple[str, ...] = PHASES


def run(options: Options) -> dict[str, Any]:
    """Run every phase, printing as it goes; return the figures."""
    report = Report()
    report.add(
        "dashboard: streaming under load (a real `greenscope serve` process on 127.0.0.1, real agents and viewers)"
    )
    window = options.window or (None if options.memory_seconds >= 120 else 500_000)
    phases: dict[str, Callable[[], None]] = {
        "ingest": lambda: measure_ingest(report, options.events),
        "delay": lambda: measure_delay(report, options.seconds),
        "memory": lambda: measure_memory(report, options.memory_seconds, window),
        "slow": lambda: measure_slow_viewer(report, options.seconds, options.slow_window),
        "soak": lambda: measure_soak(report, options.soak_seconds),
        "analysis": lambda: measure_analysis(report, options.analysis_greenthreads),
    }
    for name, phase in phases.items():
        if name not in options.only:
            continue
        try:
            phase()
        except Exception as e:  # a report: say what failed and go on
            report.failed(name, e)
    return report.figures


def phase_list(text: str, phases: tuple[str, ...] = PHASES) -> tuple[str, ...]:
    """Parse ``--only ingest,delay``: names from `phases` (this benchmark's by default)."""
    wanted = tuple(name.strip() for name in text.split(",") if name.strip())
    if not wanted or set(wanted) - set(phases):
        raise argparse.ArgumentTypeError(f"choose from {','.join(phases)}")
    return wanted

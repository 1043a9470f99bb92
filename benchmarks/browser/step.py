"""The step phase: the live control's step latency.

A traced program whose greenthreads are always ready (each yields in a loop: a step never waits for the program
itself), streaming to the dashboard, opened in the page and paused with its key; then `STEPS` presses of the step
key, one at a time: from the request the key sends (POST /api/sessions/<id>/control) to the end of the animation
frame that draws the step's switch (`greenscope.control.stats.latencies`, measured in the page). Target: p95 <= 100 ms.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.browser.page import new_page
from benchmarks.dashboard.report import Report, percentile, verdict
from benchmarks.dashboard.server import Server, started

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from benchmarks.browser.runner import Options

STEPS = 40
TARGET_MS = 100.0
PROGRAM = """\
import runtime


def spin():
    while True:
        runtime.sleep(0)


for _ in range(20):
    runtime.spawn(spin)
runtime.sleep(3600)
"""


def measure_step(report: Report, browser: Browser, options: Options) -> None:
    """A paused program stepped `STEPS` times: how long each step takes to show in the page."""
    with ExitStack() as stack:
        server = started(stack, Server())
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="greenscope-bench-")))
        (directory / "spin.py").write_text(PROGRAM)
        command = [sys.executable, "-m", "visualizer", "record", "--connect", server.agent, "spin.py"]
        program = started(stack, subprocess.Popen(command, cwd=directory, stdout=subprocess.PIPE, text=True))
        sid = server.session_of(program.pid)["id"]
        page = new_page(stack, browser, f"{server.base}?session={sid}")
        page.wait_for_function("greenscope.trace && greenscope.trace.lanes.length > 10", timeout=60_000)
        page.keyboard.press("k")
        page.wait_for_function("greenscope.trace.controls.some((c) => c.action === 'paused')", timeout=30_000)
        for k in range(1, STEPS + 1):
            page.keyboard.press("n")
            page.wait_for_function(f"greenscope.control.stats.latencies.length >= {k}", timeout=30_000)
        latencies = sorted(page.evaluate("greenscope.control.stats.latencies"))
        page.keyboard.press("g")
    p50, p95, worst = percentile(latencies, 50), percentile(latencies, 95), latencies[-1]
    report.figures["step"] = {"steps": len(latencies), "p50_ms": p50, "p95_ms": p95, "max_ms": worst}
    report.add(f"step         a paused program, then {STEPS} steps, one at a time (key -> the frame that drew it)")
    report.add(
        f"             p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {worst:.0f} ms;"
        f" target p95 <= {TARGET_MS:g} ms: {verdict(p95 <= TARGET_MS)}"
    )

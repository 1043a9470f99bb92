"""The live control's step latency, in headless Chromium against a real ``greenscope serve`` (a phase of
``python -m benchmarks.browser``, so of ``make bench``).

step    the crawler workload launched (a site that answers after 20 ms on average, 10 fetches at once), opened in
        the page and paused with its key; then `STEPS` presses of the step key, one at a time: from the request the
        key sends (POST /api/sessions/<id>/control) to the end of the animation frame that draws the step's switch
        (`greenscope.control.stats.latencies`, measured in the page). Target: p95 <= 100 ms.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from benchmarks.dashboard import Report, Server, percentile, started, verdict

if TYPE_CHECKING:
    from playwright.sync_api import Browser

STEPS = 40
TARGET_MS = 100.0
VIEWPORT = {"width": 1400, "height": 900}


def measure_step(report: Report, browser: Browser, options: Any) -> None:
    """A paused crawler stepped `STEPS` times: how long each step takes to show in the page."""
    with ExitStack() as stack:
        server = started(stack, Server())
        params = {"pages": 100_000, "size": 10, "delay": 0.02}
        sid = server.api("POST", "sessions", json={"workload": "crawler", "params": params})["id"]
        context = browser.new_context(viewport=VIEWPORT)
        stack.callback(context.close)
        page = context.new_page()
        page.goto(f"{server.base}?session={sid}")
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
    report.add(f"step         the crawler paused, then {STEPS} steps, one at a time (key -> the frame that drew it)")
    report.add(
        f"             p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {worst:.0f} ms;"
        f" target p95 <= {TARGET_MS:g} ms: {verdict(p95 <= TARGET_MS)}"
    )

"""The lanes phase: 100,000 greenthreads (two sleep(0) each) recorded and opened as in the static phase: load
time, and the drawing work while scrolling to the last lane, filtering over all of them, panning and zooming."""

from __future__ import annotations

import random
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.browser.page import COUNTS, DRAIN, TWO_FRAMES, draw_work, interact, open_recording
from benchmarks.browser.static import FRAME_TARGET_MS
from benchmarks.dashboard.load import record_program
from benchmarks.dashboard.report import Report, verdict

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from benchmarks.browser.runner import Options


def measure_lanes(report: Report, browser: Browser, options: Options) -> None:
    """100k greenthreads in one session: load time, then drawing work while scrolling, filtering and zooming."""
    with tempfile.TemporaryDirectory(prefix="greenscope-bench-") as tmp, ExitStack() as stack:
        recording, made_in = record_program(Path(tmp), options.many, 2)
        page, _, session, load_s = open_recording(stack, browser, recording)
        counts = page.evaluate(COUNTS)
        page.keyboard.press("0")
        page.keyboard.press("h")  # every lane, ended or not
        page.evaluate("greenscope.stats.frames.length = 0")
        frames = interact(page, options.interact_seconds / 2, random.Random(11))
        for keys in ("End", "Home", "PageDown", "End"):
            page.keyboard.press(keys)
        page.fill("#filter-text", "work")  # every lane matches: the rows are rebuilt over all of them
        page.fill("#filter-text", "gt9999")
        page.evaluate(TWO_FRAMES)
        frames += page.evaluate(DRAIN)
    work = draw_work(frames)
    report.figures["lanes"] = {"session_events": session["events"], **counts, "load_s": load_s, "draw_work": work}
    usable = counts["lanes"] >= options.many and work["p50_ms"] <= FRAME_TARGET_MS
    report.add(
        f"lanes        `greenscope record` of {options.many:,} greenthreads ({made_in:.1f} s): {session['events']:,}"
        f" events, {counts['lanes']:,} lanes, loaded in {load_s:.1f} s"
    )
    report.add(
        f"             scrolling, filtering, zooming: drawing work per frame p50 {work['p50_ms']:.1f} ms,"
        f" p95 {work['p95_ms']:.1f} ms over {work['frames']} frames (p50 <= {FRAME_TARGET_MS:g}: {verdict(usable)})"
    )

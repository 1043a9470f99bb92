"""The static phase: a real program (2,000 greenthreads in a GreenPool, each a burst of 260 sleep(0) then one long
sleep: the shape a renderer that skips merged intervals gets wrong) recorded by ``greenscope record``: >= 1M state
intervals, uploaded over REST, opened at /?session=ID; once all its events are in, fit, then ~10 s of continuous
wheel zooms around various points, drags left/right and up/down, and +/- keys. Drawing work per frame is the page's
own (`greenscope.stats.frames`); the real frame rate comes from an injected requestAnimationFrame loop."""

from __future__ import annotations

import random
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.browser.page import (
    COUNTS,
    RAF_START,
    RAF_STOP,
    draw_work,
    frame_rate,
    interact,
    js_heap_mb,
    open_recording,
)
from benchmarks.browser.profiling import Profile
from benchmarks.dashboard.load import record_program
from benchmarks.dashboard.report import Report, verdict

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from benchmarks.browser.runner import Options

FRAME_TARGET_MS = 16.0  # median drawing work per frame, 1M intervals, panning and zooming
INTERVALS_TARGET = 1_000_000


def measure_static(report: Report, browser: Browser, options: Options) -> None:
    """1M state intervals in the page: load time, heap, then drawing work and frame rate while panning and zooming."""
    with tempfile.TemporaryDirectory(prefix="greenscope-bench-") as tmp, ExitStack() as stack:
        recording, made_in = record_program(Path(tmp), options.greenthreads, options.sleeps)
        page, cdp, session, load_s = open_recording(stack, browser, recording)
        counts = page.evaluate(COUNTS)
        heap_mb, buffers_mb = js_heap_mb(cdp)
        page.keyboard.press("0")
        profile = Profile(page, cdp) if options.profile else None
        page.evaluate(RAF_START)
        page.evaluate("greenscope.stats.frames.length = 0; greenscope.stats.draws = 0")
        frames = interact(page, options.interact_seconds, random.Random(7))
        rate = frame_rate(*page.evaluate(RAF_STOP))
        draws = page.evaluate("greenscope.stats.draws")
        profiled = profile.stop() if profile else []
    work = {**draw_work(frames), "max_ms": max(frames, default=float("nan"))}
    report.figures["static"] = {
        "recording": {"greenthreads": options.greenthreads, "sleeps": options.sleeps, "seconds": made_in},
        "session_events": session["events"],
        **counts,
        "load_s": load_s,
        "js_heap_mb": heap_mb,
        "array_buffers_mb": buffers_mb,
        "draw_work": work,
        "draws": draws,
        "raf": rate,
    }
    enough = counts["intervals"] >= INTERVALS_TARGET
    report.add(
        f"static       `greenscope record` of {options.greenthreads:,} greenthreads x {options.sleeps} sleep(0),"
        f" then a 0.2 s sleep ({made_in:.1f} s): {session['events']:,} events, uploaded and opened at /?session=ID"
    )
    report.add(
        f"             loaded in {load_s:.1f} s ({counts['events'] / load_s:,.0f} events/s): {counts['lanes']:,} lanes,"
        f" {counts['intervals']:,} state intervals (target >= {INTERVALS_TARGET:,}: {verdict(enough)})"
    )
    report.add(
        f"             after the load: JS heap {heap_mb:.0f} MB (CDP JSHeapUsedSize) + {buffers_mb:.0f} MB of"
        f" ArrayBuffers; performance.memory.usedJSHeapSize {counts['used_js_heap_mb']:.0f} MB"
    )
    report.add(
        f"             {rate['seconds']:.1f} s of wheel zooms, drags and +/- keys from a fit,"
        f" {draws:,} frames drawn, {rate['frames']:,} animation frames"
    )
    report.add(f"             {'':<34}{'p50':>9}{'p95':>9}{'max':>9}  target")
    report.add(
        f"             {'drawing work per frame (ms)':<34}{work['p50_ms']:>9.1f}{work['p95_ms']:>9.1f}"
        f"{work['max_ms']:>9.1f}  p50 <= {FRAME_TARGET_MS:g}: {verdict(enough and work['p50_ms'] <= FRAME_TARGET_MS)}"
    )
    report.add(
        f"             {'frame interval, rAF (ms)':<34}{rate['interval_p50_ms']:>9.1f}{rate['interval_p95_ms']:>9.1f}"
        f"{'':>9}  {rate['fps']:.0f} fps (60 Hz vsync: 16.7 ms)"
    )
    report.add(
        f"             {'  the frames that drew (ms)':<34}{rate['drawn_p50_ms']:>9.1f}{rate['drawn_p95_ms']:>9.1f}"
    )
    for line in profiled:
        report.add(f"             {line}")

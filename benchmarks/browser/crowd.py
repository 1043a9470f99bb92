"""The crowd phase: 100,000 greenthreads alive at once in a traced program (real Recorder + Agent) streaming to the
server, the page following its session: how long until every lane is there, then frames per second, drawing work
and JS heap while the user scrolls to the last lane, filters over all of them, pans and zooms, live."""

from __future__ import annotations

import random
import time
from contextlib import ExitStack
from typing import TYPE_CHECKING

from benchmarks.browser.page import (
    DRAIN,
    RAF_START,
    RAF_STOP,
    draw_work,
    frames_each_second,
    interact,
    js_heap_mb,
    median,
    open_page,
)
from benchmarks.browser.static import FRAME_TARGET_MS
from benchmarks.dashboard.report import Report, verdict
from benchmarks.dashboard.server import Server, child, started

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from benchmarks.browser.runner import Options

FPS_TARGET = 30.0
HEAP_TARGET_MB = 1536.0  # issue 17's bound for the page's heap and typed arrays


def measure_crowd(report: Report, browser: Browser, options: Options) -> None:
    """`options.crowd` live greenthreads: the time until the page has a lane for each, then, live, its frames
    per second and drawing work while scrolling, filtering, panning and zooming, and its heap."""
    n, seconds = options.crowd, options.crowd_seconds
    with ExitStack() as stack:
        server = started(stack, Server())
        start = time.perf_counter()
        program = started(stack, child("crowd", server.agent, str(n), str(seconds + 60)))
        sid = server.session_of(program.pid)["id"]
        page, cdp = open_page(stack, browser, f"{server.base}?session={sid}")
        page.wait_for_function(f"greenscope.trace?.lanes.length >= {n}", timeout=120_000, polling=100)
        all_lanes_s = time.perf_counter() - start
        page.keyboard.press("h")  # every lane, ended or not
        page.evaluate("greenscope.stats.frames.length = 0")
        page.evaluate(RAF_START)
        t0, e0 = time.perf_counter(), page.evaluate("greenscope.trace.events")
        frames = interact(page, seconds / 2, random.Random(23))
        for keys in ("End", "Home", "PageDown", "End"):
            page.keyboard.press(keys)
        page.fill("#filter-text", "member")  # every lane matches: the rows are rebuilt over all of them
        page.fill("#filter-text", "gt99999")
        page.fill("#filter-text", "")
        frames += interact(page, seconds / 2, random.Random(29))
        frames += page.evaluate(DRAIN)
        t1, e1 = time.perf_counter(), page.evaluate("greenscope.trace.events")
        stamps, _ = page.evaluate(RAF_STOP)
        heap, buffers = js_heap_mb(cdp)
        lanes = page.evaluate("greenscope.trace.lanes.length")
    window = max(1, int(t1 - t0) - 1)
    per_second = frames_each_second(stamps, window)
    fps, work, ingested = median(per_second), draw_work(frames), (e1 - e0) / (t1 - t0)
    usable = fps >= FPS_TARGET and work["p50_ms"] <= FRAME_TARGET_MS and heap + buffers <= HEAP_TARGET_MB
    report.figures["crowd"] = {
        "greenthreads": n,
        "all_lanes_s": all_lanes_s,
        "lanes": lanes,
        "ingested_events_per_s": ingested,
        "fps_per_second": per_second,
        "fps_median": fps,
        "draw_work": work,
        "js_heap_mb": heap,
        "js_heap_and_buffers_mb": heap + buffers,
    }
    report.add(
        f"crowd        a traced program with {n:,} greenthreads alive at once (each sleeping 1-4 s, yielding),"
        f" the page following it: a lane for each after {all_lanes_s:.1f} s ({lanes:,} lanes)"
    )
    report.add(
        f"             live, scrolling, filtering, panning and zooming for {t1 - t0:.0f} s: ingesting"
        f" {ingested:,.0f} events/s, frames per second {' '.join(map(str, per_second))} (median {fps:g},"
        f" >= {FPS_TARGET:g}), drawing work p50 {work['p50_ms']:.1f} ms, p95 {work['p95_ms']:.1f} ms"
        f" (p50 <= {FRAME_TARGET_MS:g}), JS heap + buffers {heap + buffers:.0f} MB (<= {HEAP_TARGET_MB:g}):"
        f" {verdict(usable)}"
    )

"""The big phase: issue 17's goal on one recording of ~10M events (20,000 greenthreads spawned in a pool, each run
~125 times: ~250 switches and ~500 events each, woken, blocked on sockets, sleeps, a queue and a lock, exiting;
written with the codec directly, `benchmarks.dashboard.bigrecording`): ``greenscope export --chrome`` of it (wall
time, peak RSS of the child), a real ``greenscope serve`` holding all of it (its window set to the recording's
events: RSS per event), then the page opened on it (its load time in a bare Chromium, then under Playwright:
`bare`; JS heap + ArrayBuffers) and ~10 s of panning and zooming (the page's drawing work per frame), as in the
static phase; last, the server's pace streaming all of it to a viewer that reads at once."""

from __future__ import annotations

import random
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.browser.bare import bare_load_seconds
from benchmarks.browser.page import COUNTS, draw_work, interact, js_heap_mb, open_session
from benchmarks.browser.static import FRAME_TARGET_MS
from benchmarks.dashboard.big import export, hold, stream
from benchmarks.dashboard.bigrecording import write_big_recording
from benchmarks.dashboard.report import Report, verdict
from benchmarks.dashboard.server import Server, started

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from benchmarks.browser.runner import Options

LOAD_TARGET_S = 10.0
MEMORY_TARGET_MB = 1536  # JS heap + the typed arrays' buffers


def measure_big(report: Report, browser: Browser, options: Options) -> None:
    """10M events: the export, the server's memory, then the page's load time, memory and drawing work."""
    with tempfile.TemporaryDirectory(prefix="greenscope-bench-") as tmp, ExitStack() as stack:
        recording = Path(tmp) / "big.gsc"
        start = time.perf_counter()
        events = write_big_recording(recording, options.big_greenthreads, options.big_events)
        made_in = time.perf_counter() - start
        report.add(
            f"big          {events:,} events of {options.big_greenthreads:,} greenthreads written with the codec"
            f" ({recording.stat().st_size / 2**20:.0f} MB, {made_in:.1f} s)"
        )
        export(report, recording, Path(tmp))
        server = started(stack, Server("--window", str(events)))
        session = hold(report, server, recording)
        bare_s = bare_load_seconds(f"{server.base}?session={session['id']}", session["events"])
        page, cdp, load_s = open_session(stack, browser, server, session)
        counts = page.evaluate(COUNTS)
        heap_mb, buffers_mb = js_heap_mb(cdp)
        page.keyboard.press("0")
        page.evaluate("greenscope.stats.frames.length = 0")
        frames = interact(page, options.interact_seconds, random.Random(17))
        stream(report, server, session)  # after the page's figures: they stay comparable with earlier runs
    work = draw_work(frames)
    memory_mb = heap_mb + buffers_mb
    report.figures["big"] = {
        "events": events,
        "greenthreads": options.big_greenthreads,
        "recording_s": made_in,
        **counts,
        "load_s": load_s,
        "bare_load_s": bare_s,
        "js_heap_mb": heap_mb,
        "array_buffers_mb": buffers_mb,
        "draw_work": work,
    }
    report.add(
        f"             page: loaded in {bare_s:.1f} s in a Chromium of its own (target <= {LOAD_TARGET_S:g}:"
        f" {verdict(bare_s <= LOAD_TARGET_S)}), {load_s:.1f} s under Playwright (`bare`: it has each WebSocket frame"
        f" reported to its driver): {counts['lanes']:,} lanes, {counts['intervals']:,} state intervals"
    )
    report.add(
        f"             JS heap {heap_mb:.0f} MB + {buffers_mb:.0f} MB of ArrayBuffers = {memory_mb:.0f} MB"
        f" (target <= {MEMORY_TARGET_MB}: {verdict(memory_mb <= MEMORY_TARGET_MB)})"
    )
    report.add(
        f"             panning and zooming: drawing work per frame p50 {work['p50_ms']:.1f} ms, p95"
        f" {work['p95_ms']:.1f} ms over {work['frames']} frames"
        f" (p50 <= {FRAME_TARGET_MS:g}: {verdict(work['p50_ms'] <= FRAME_TARGET_MS)})"
    )

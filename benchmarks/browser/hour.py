"""The hour phase: a recording an hour long (`bigrecording` with its rounds spread over 3600 s: a server busy in
bursts), longer than the window a ``greenscope serve`` keeps in memory. Its figures: the upload; the index by time
read back from the file, as after a restart (`archive.scan`); the overview the page draws above the timeline
(``GET /api/sessions/<id>/overview``, one bucket per pixel); the page opened on it (the window in memory); then a
span picked on the overview early in the hour, read back from disk (from the mouse's release to the last event in
the page's model, and the events), and panning and zooming over it (the page's drawing work per frame)."""

from __future__ import annotations

import random
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.browser.page import draw_work, interact, js_heap_mb, open_session
from benchmarks.browser.static import FRAME_TARGET_MS
from benchmarks.dashboard.bigrecording import write_big_recording
from benchmarks.dashboard.report import Report, verdict
from benchmarks.dashboard.server import Server, started
from visualizer.archive import scan

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from benchmarks.browser.runner import Options

HOUR_S = 3600
SPAN = (0.10, 0.12)  # the span picked on the overview: shares of its width (about 7 minutes of the hour)
SPAN_TARGET_S = 2.0  # from picking it to all of it in the page
OVERVIEW_TARGET_MS = 100.0


def measure_hour(report: Report, browser: Browser, options: Options) -> None:
    """An hour-long recording, more than memory holds: the index, the overview, and a span of it in the page."""
    with tempfile.TemporaryDirectory(prefix="greenscope-bench-") as tmp, ExitStack() as stack:
        recording = Path(tmp) / "hour.gsc"
        events = write_big_recording(recording, options.hour_greenthreads, options.hour_events, HOUR_S)
        start = time.perf_counter()
        index = scan(recording, times=True)
        index_s = time.perf_counter() - start
        assert index.total == events and index.starts is not None
        report.add(
            f"hour         {events:,} events of {options.hour_greenthreads:,} greenthreads over {HOUR_S} s"
            f" ({recording.stat().st_size / 2**20:.0f} MB, {len(index.offsets):,} frames); the index by time read"
            f" back from the file (as after a restart): {index_s:.2f} s"
        )
        server = started(stack, Server("--window", str(options.hour_window)))
        start = time.perf_counter()
        with recording.open("rb") as f:
            sid = server.api("POST", "recordings", files={"file": (recording.name, f)})["id"]
        upload_s = time.perf_counter() - start
        session = server.api("GET", f"sessions/{sid}")
        page, cdp, load_s = open_session(stack, browser, server, {**session, "events": session["retained"]})
        width = round(page.locator("#overview-canvas").bounding_box()["width"])
        asked = []
        for _ in range(5):
            start = time.perf_counter()
            server.api("GET", f"sessions/{sid}/overview?buckets={width}")
            asked.append((time.perf_counter() - start) * 1000)
        overview_ms = sorted(asked)[len(asked) // 2]
        box = page.locator("#overview-canvas").bounding_box()
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + SPAN[0] * box["width"], y)
        page.mouse.down()
        page.mouse.move(box["x"] + SPAN[1] * box["width"], y, steps=4)
        start = time.perf_counter()
        page.mouse.up()
        page.wait_for_function(
            "greenscope.page.range?.events > 0 && greenscope.trace.events === greenscope.page.range.events",
            timeout=120_000,
            polling=20,
        )
        span_s = time.perf_counter() - start
        span = page.evaluate("greenscope.page.range")
        heap_mb, buffers_mb = js_heap_mb(cdp)
        page.evaluate("greenscope.stats.frames.length = 0")
        frames = interact(page, options.interact_seconds, random.Random(17))
    work = draw_work(frames)
    report.figures["hour"] = {
        "events": events,
        "window": session["retained"],
        "frames": len(index.offsets),
        "index_s": index_s,
        "upload_s": upload_s,
        "load_s": load_s,
        "overview_ms": overview_ms,
        "span_events": span["events"],
        "span_s": span_s,
        "js_heap_mb": heap_mb,
        "array_buffers_mb": buffers_mb,
        "draw_work": work,
    }
    report.add(
        f"             server: uploaded in {upload_s:.1f} s, {session['retained']:,} events in memory"
        f" ({session['trimmed']:,} on disk only); the overview ({width} buckets): {overview_ms:.1f} ms"
        f" (target <= {OVERVIEW_TARGET_MS:g}: {verdict(overview_ms <= OVERVIEW_TARGET_MS)})"
    )
    report.add(
        f"             page: the window in {load_s:.1f} s; a span picked at {SPAN[0]:.0%}-{SPAN[1]:.0%} of the hour:"
        f" {span['events']:,} events read from disk and in the page in {span_s:.2f} s"
        f" (target <= {SPAN_TARGET_S:g}: {verdict(span_s <= SPAN_TARGET_S)}); JS heap {heap_mb:.0f} MB +"
        f" {buffers_mb:.0f} MB of ArrayBuffers"
    )
    report.add(
        f"             panning and zooming over it: drawing work per frame p50 {work['p50_ms']:.1f} ms, p95"
        f" {work['p95_ms']:.1f} ms over {work['frames']} frames (target p50 <= {FRAME_TARGET_MS:g}:"
        f" {verdict(work['p50_ms'] <= FRAME_TARGET_MS)})"
    )

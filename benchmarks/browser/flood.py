"""The flood phase: a synthetic agent at 1M events/s (real timestamps), the page following it for 8 s: the events/s
it ingested (binary batches, read in place) and its frames per second, each second (none may fall below 30)."""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING

from benchmarks.browser.live import FPS_TARGET
from benchmarks.browser.page import (
    RAF_START,
    RAF_STOP,
    each_second,
    frame_rate,
    frames_each_second,
    js_heap_mb,
    median,
    open_page,
)
from benchmarks.dashboard.report import Report, verdict
from benchmarks.dashboard.server import Server, child, started

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from benchmarks.browser.runner import Options

FLOOD_RATE = 1_000_000  # events/s: the page's ingest target


def measure_flood(report: Report, browser: Browser, options: Options) -> None:
    """A synthetic agent at FLOOD_RATE events/s, each frame stamped as it leaves, the page following its session:
    the events/s the page ingested (binary batches, read in place) and its frames per second meanwhile."""
    seconds = options.flood_seconds
    with ExitStack() as stack:
        server = started(stack, Server())
        agent = started(stack, child("flood", server.agent, "0", str(seconds + 3), str(FLOOD_RATE)))
        sid = server.session_of(agent.pid)["id"]
        page, cdp = open_page(stack, browser, f"{server.base}?session={sid}")
        page.wait_for_function("greenscope.trace !== null && greenscope.trace.events > 0", timeout=60_000)
        page.evaluate(RAF_START)
        samples = each_second(seconds, lambda: (page.evaluate("greenscope.trace.events"),))
        stamps, draws = page.evaluate(RAF_STOP)
        ingest_ms = page.evaluate("greenscope.stats.ingest")
        heap, buffers = js_heap_mb(cdp)
    (t0, e0), (t1, e1) = samples[0], samples[-1]
    ingested = (e1 - e0) / (t1 - t0)
    per_second = frames_each_second(stamps, len(samples) - 1)
    fps = median(per_second)
    report.figures["flood"] = {
        "rate": FLOOD_RATE,
        "seconds": seconds,
        "ingested_events_per_s": ingested,
        "fps_per_second": per_second,
        "fps_median": fps,
        "raf": frame_rate(stamps, draws),
        "js_heap_mb": heap,
        "buffers_mb": buffers,
        "ingest_ms": ingest_ms,
    }
    report.add(f"flood        a synthetic agent at {FLOOD_RATE:,} events/s, the page following it for {seconds:g} s")
    report.add(
        f"             the page ingested {ingested:,.0f} events/s (target >= {FLOOD_RATE:,}:"
        f" {verdict(ingested >= 0.95 * FLOOD_RATE)}); frames per second: {' '.join(map(str, per_second))},"
        f" median {fps:g} (target >= {FPS_TARGET:g}: {verdict(min(per_second, default=0) >= FPS_TARGET)})"
    )
    report.add(
        f"             at the end: {e1:,} events ({1e3 * e1 / ingest_ms:,.0f} a second of ingest work), JS heap"
        f" {heap:.0f} MB + {buffers:.0f} MB of ArrayBuffers"
    )

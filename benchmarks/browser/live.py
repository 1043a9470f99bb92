"""The live phase: the dashboard benchmark's paced traced program (real Recorder + Agent, 50k events/s) streaming
to the server, the page following its session for 15 s: frames per second, JS heap (CDP Performance.getMetrics)
sampled every second, and the events/s the page ingested."""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING

from benchmarks.browser.page import (
    RAF_START,
    RAF_STOP,
    draw_work,
    each_second,
    frame_rate,
    frames_each_second,
    js_heap_mb,
    median,
    open_page,
)
from benchmarks.browser.profiling import Profile
from benchmarks.dashboard.load import PACED_RATE
from benchmarks.dashboard.report import Report, verdict
from benchmarks.dashboard.server import Server, child, started

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from benchmarks.browser.runner import Options

FPS_TARGET = 30.0  # live, following 50k events/s
HEAP_TARGET_MB = 500.0


def measure_live(report: Report, browser: Browser, options: Options) -> None:
    """The paced program streaming, the page following it: frames per second, JS heap, events/s ingested."""
    seconds = options.live_seconds
    with ExitStack() as stack:
        server = started(stack, Server())
        program = started(stack, child("traced", server.agent, str(PACED_RATE), str(seconds + 5)))
        sid = server.session_of(program.pid)["id"]
        page, cdp = open_page(stack, browser, f"{server.base}?session={sid}")
        page.wait_for_function("greenscope.trace !== null")
        page.keyboard.press("i")  # the Insights panel open: it asks for the analysis as the session grows
        profile = Profile(page, cdp) if options.profile else None
        page.evaluate(RAF_START)
        # (s since the page opened, events, heap MB, buffers MB)
        samples = each_second(seconds, lambda: (page.evaluate("greenscope.trace.events"), *js_heap_mb(cdp)))
        stamps, draws = page.evaluate(RAF_STOP)
        work = draw_work(page.evaluate("greenscope.stats.frames"))
        lanes = page.evaluate("greenscope.trace.lanes.length")
        server_events = server.api("GET", f"sessions/{sid}")["events"]
        profiled = profile.stop() if profile else []
    window = min(10, len(samples) - 1)  # the last 10 s: the page has caught up with the session's start by then
    per_second = frames_each_second(stamps, window)
    fps = median(per_second)
    (t0, e0, *_), (t1, e1, *_) = samples[-window - 1], samples[-1]
    ingested = (e1 - e0) / (t1 - t0)
    heap_max = max(heap for *_, heap, _ in samples)
    total_max = max(heap + buffers for *_, heap, buffers in samples)
    rate = frame_rate(stamps, draws)
    report.figures["live"] = {
        "seconds": seconds,
        "fps_per_second": per_second,
        "fps_median": fps,
        "raf": rate,
        "ingested_events_per_s": ingested,
        "page_events": e1,
        "lanes": lanes,
        "server_events": server_events,
        "samples": samples,
        "js_heap_max_mb": heap_max,
        "js_heap_and_buffers_max_mb": total_max,
        "draw_work": work,
    }
    report.add(
        f"live         the paced traced program (real Recorder + Agent) at {PACED_RATE:,} events/s, the page"
        f" following its session for {seconds:g} s, the Insights panel open"
    )
    report.add(
        f"             the page ingested {ingested:,.0f} events/s over the last {window} s; at the end it held"
        f" {e1:,} events on {lanes:,} lane(s), the session {server_events:,}"
    )
    report.add(
        f"             drawing work per frame p50 {work['p50_ms']:.1f} ms, p95 {work['p95_ms']:.1f} ms;"
        f" frames that drew: {rate['drawn']:,}, real duration p50 {rate['drawn_p50_ms']:.1f} ms,"
        f" p95 {rate['drawn_p95_ms']:.1f} ms"
    )
    report.add(
        f"             frames per second, each of the last {window} s: {' '.join(map(str, per_second))};"
        f" median {fps:g}, target >= {FPS_TARGET:g}: {verdict(fps >= FPS_TARGET)}"
    )
    report.add(
        f"             JS heap (CDP JSHeapUsedSize, every second) max {heap_max:.0f} MB; with its ArrayBuffers'"
        f" backing stores max {total_max:.0f} MB; target < {HEAP_TARGET_MB:g} MB: {verdict(total_max < HEAP_TARGET_MB)}"
    )
    for line in profiled:
        report.add(f"             {line}")

"""The flood phase: a synthetic agent at 1M events/s (real timestamps), the page following it for 8 s: the events/s
it ingested (binary batches, read in place) and its frames per second, each second (none may fall below 30); in a
bare Chromium driven over CDP (`bare`), then under Playwright."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from benchmarks.browser.bare import Bare
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
    """A synthetic agent at FLOOD_RATE events/s, each frame stamped as it leaves, a page following its session: the
    events/s the page ingested (binary batches, read in place) and its frames per second meanwhile. Twice: in a
    Chromium of its own driven over CDP (`bare`: as a user's browser; the figure against the targets), then under
    Playwright (whose driver gets every WebSocket frame: the figure earlier runs printed)."""
    seconds = options.flood_seconds
    report.add(f"flood        a synthetic agent at {FLOOD_RATE:,} events/s, the page following it for {seconds:g} s")
    with ExitStack() as stack:
        server, sid = _flooded(stack, seconds)
        page = stack.enter_context(Bare())
        page.goto(f"{server.base}?session={sid}")
        page.wait_for("(window.greenscope?.trace?.events ?? 0) > 0", 60)
        bare = _follow(page.evaluate, seconds)
    with ExitStack() as stack:
        server, sid = _flooded(stack, seconds)
        pw, cdp = open_page(stack, browser, f"{server.base}?session={sid}")
        pw.wait_for_function("greenscope.trace !== null && greenscope.trace.events > 0", timeout=60_000)
        driven = _follow(lambda expression: pw.evaluate(f"() => {expression}"), seconds)
        driven["js_heap_mb"], driven["buffers_mb"] = js_heap_mb(cdp)
    report.figures["flood"] = {"rate": FLOOD_RATE, "seconds": seconds, **bare, "playwright": driven}
    for name, got, verdicts in (("in a Chromium of its own", bare, True), ("under Playwright", driven, False)):
        per_second, ingested = got["fps_per_second"], got["ingested_events_per_s"]
        ingest_ok, fps_ok = ingested >= 0.95 * FLOOD_RATE, min(per_second, default=0) >= FPS_TARGET
        targets = (
            (f" (target >= {FLOOD_RATE:,}: {verdict(ingest_ok)})", f" (target >= {FPS_TARGET:g}: {verdict(fps_ok)})")
            if verdicts
            else ("", "")
        )
        report.add(
            f"             {name}: ingested {ingested:,.0f} events/s{targets[0]}; frames per second:"
            f" {' '.join(map(str, per_second))}, median {got['fps_median']:g}{targets[1]};"
            f" {got['events']:,} events at the end"
            f" ({1e3 * got['events'] / got['ingest_ms']:,.0f} a second of ingest work)"
        )
    report.add(
        f"             under Playwright: JS heap {driven['js_heap_mb']:.0f} MB"
        f" + {driven['buffers_mb']:.0f} MB of ArrayBuffers"
    )


def _flooded(stack: ExitStack, seconds: float) -> tuple[Server, str]:
    """A server (stopped with `stack`) and the session of a synthetic agent flooding it for `seconds` + 8 s: past the
    end of the measurement however long the browser takes to start (the page follows a live program)."""
    server = started(stack, Server())
    agent = started(stack, child("flood", server.agent, "0", str(seconds + 8), str(FLOOD_RATE)))
    return server, server.session_of(agent.pid)["id"]


def _follow(evaluate: Callable[[str], Any], seconds: float) -> dict[str, Any]:
    """A page following the flood for `seconds` (`evaluate`: a JS expression's value in it): events ingested a
    second, frames each second."""
    evaluate(f"({RAF_START})()")
    samples = each_second(seconds, lambda: (evaluate("greenscope.trace.events"),))
    stamps, draws = evaluate(f"({RAF_STOP})()")
    (t0, e0), (t1, e1) = samples[0], samples[-1]
    per_second = frames_each_second(stamps, len(samples) - 1)
    return {
        "ingested_events_per_s": (e1 - e0) / (t1 - t0),
        "fps_per_second": per_second,
        "fps_median": median(per_second),
        "raf": frame_rate(stamps, draws),
        "events": e1,
        "ingest_ms": evaluate("greenscope.stats.ingest"),
    }

"""Driving the timeline page in Chromium for the phases: opening it (on a session, or on a recording uploaded to a
fresh server), the page's heap, its frames (an injected requestAnimationFrame loop) and the drawing work it
reports, and the pans and zooms a user makes."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from contextlib import ExitStack
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.dashboard.report import percentile
from benchmarks.dashboard.server import Server, started

if TYPE_CHECKING:
    from playwright.sync_api import Browser, CDPSession, Page

VIEWPORT = {"width": 1400, "height": 900}
# A requestAnimationFrame loop noting each frame's time and the page's draws so far. The page's own frame callback
# runs after this one in a frame (it is requested later, by input or a batch), so the draws it makes in frame i
# show at frame i + 1: the gap from stamp i to stamp i + 1 is the real duration of a frame that drew.
RAF_START = """() => {
  const r = (window.__bench = { ts: [], draws: [], on: true });
  const tick = (t) => {
    r.ts.push(t);
    r.draws.push(greenscope.stats.draws);
    if (r.on) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""
RAF_STOP = "() => { window.__bench.on = false; return [window.__bench.ts, window.__bench.draws]; }"
COUNTS = """() => {
  const tr = greenscope.trace, m = performance.memory;
  return { lanes: tr.lanes.length, intervals: tr.lanes.reduce((s, l) => s + l.ts.n, 0), events: tr.events,
           used_js_heap_mb: m ? m.usedJSHeapSize / 2 ** 20 : null };
}"""
DRAIN = "greenscope.stats.frames.splice(0)"  # the page keeps only the last 600 frames' work: take them as they come
TWO_FRAMES = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def js_heap_mb(cdp: CDPSession) -> tuple[float, float]:
    """The page's JS heap in use (CDP ``Performance.getMetrics`` JSHeapUsedSize) and, outside it, the backing
    stores of its ArrayBuffers (the trace's typed arrays; ``Runtime.getHeapUsage``), in MB."""
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return metrics["JSHeapUsedSize"] / 2**20, cdp.send("Runtime.getHeapUsage")["backingStorageSize"] / 2**20


def new_page(stack: ExitStack, browser: Browser, url: str) -> Page:
    """A 1400x900 page at `url`, its context closed with `stack`."""
    context = browser.new_context(viewport=VIEWPORT)
    stack.callback(context.close)
    page = context.new_page()
    page.goto(url)
    return page


def open_page(stack: ExitStack, browser: Browser, url: str) -> tuple[Page, CDPSession]:
    """A 1400x900 page at `url` (closed with `stack`), and a CDP session on it with Performance metrics on."""
    page = new_page(stack, browser, url)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    return page, cdp


def open_recording(stack: ExitStack, browser: Browser, recording: Path) -> tuple[Page, CDPSession, dict, float]:
    """Upload `recording` to a fresh server (stopped with `stack`) and open its session in a page once all its
    events are in: the page, its CDP session, the session's description, and the seconds the page took."""
    server = started(stack, Server())
    with recording.open("rb") as f:
        sid = server.api("POST", "recordings", files={"file": (recording.name, f)})["id"]
    session = server.api("GET", f"sessions/{sid}")
    page, cdp, seconds = open_session(stack, browser, server, session)
    return page, cdp, session, seconds


def open_session(stack: ExitStack, browser: Browser, server: Server, session: dict) -> tuple[Page, CDPSession, float]:
    """Open `session` of `server` in a page (closed with `stack`) once all its events are in: the page, its CDP
    session, and the seconds from asking for the page to the last event in its model."""
    start = time.perf_counter()
    page, cdp = open_page(stack, browser, f"{server.base}?session={session['id']}")
    page.wait_for_function(f"greenscope.trace?.events === {session['events']}", timeout=300_000, polling=50)
    return page, cdp, time.perf_counter() - start


def frame_rate(stamps: list[float], draws: list[int]) -> dict[str, float]:
    """Figures of the RAF_START loop: frames per second, the median and p95 interval between frames, and those of
    the frames that drew."""
    gaps = [(b - a, d1 > d0) for (a, b), (d0, d1) in zip(pairwise(stamps), pairwise(draws), strict=True)]
    every, drew = sorted(gap for gap, _ in gaps), sorted(gap for gap, drawn in gaps if drawn)
    return {
        "seconds": sum(every) / 1000,
        "frames": len(stamps),
        "fps": len(every) / sum(every) * 1000 if every else float("nan"),
        "interval_p50_ms": median(every),
        "interval_p95_ms": percentile(every, 95),
        "drawn": len(drew),
        "drawn_p50_ms": median(drew),
        "drawn_p95_ms": percentile(drew, 95),
    }


def frames_each_second(stamps: list[float], seconds: int) -> list[int]:
    """The RAF_START loop's frames in each of the last `seconds` seconds before its last one, the oldest first."""
    last = stamps[-1]
    return [sum(last - (k + 1) * 1000 < t <= last - k * 1000 for t in stamps) for k in range(seconds)][::-1]


def draw_work(frames: list[float]) -> dict[str, float]:
    """The page's drawing work per frame (ms, `greenscope.stats.frames`): how many frames, p50 and p95."""
    ordered = sorted(frames)
    return {"frames": len(ordered), "p50_ms": median(ordered), "p95_ms": percentile(ordered, 95)}


def each_second(seconds: float, sample: Callable[[], tuple]) -> list[tuple]:
    """`sample()` once a second for `seconds` (whole seconds), each after the seconds since the first."""
    samples = []
    start = time.monotonic()
    for tick in range(1, int(seconds) + 1):
        time.sleep(max(0.0, start + tick - time.monotonic()))
        samples.append((time.monotonic() - start, *sample()))
    return samples


def interact(page: Page, seconds: float, rng: random.Random) -> list[float]:
    """Pan and zoom over the timeline for `seconds`, from a fit each round; the page's drawing ms per frame."""
    box = page.locator("#timeline").bounding_box()
    assert box is not None
    gutter, axis = page.evaluate("[greenscope.view.gutter, greenscope.timeline.axis]")
    left, right = box["x"] + gutter + 40, box["x"] + box["width"] - 40
    top, bottom = box["y"] + axis + 20, box["y"] + box["height"] - 20
    mouse, keyboard = page.mouse, page.keyboard

    def point() -> tuple[float, float]:
        return rng.uniform(left, right), rng.uniform(top, bottom)

    def wheel(notches: int, delta: float) -> None:
        mouse.move(*point())
        for _ in range(notches):
            mouse.wheel(0, delta)

    def drag(dx: float, dy: float) -> None:
        x, y = point()
        x, y = min(max(x, left - min(dx, 0)), right - max(dx, 0)), min(max(y, top - min(dy, 0)), bottom - max(dy, 0))
        mouse.move(x, y)
        mouse.down()
        mouse.move(x + dx, y + dy, steps=12)
        mouse.up()

    gestures: list[Callable[[], None]] = [
        lambda: wheel(6, -100),  # zoom in around a point
        lambda: drag(-300, 0),  # later times come into view
        lambda: drag(0, -200),  # lanes further down
        lambda: drag(300, 0),
        lambda: drag(0, 200),
        lambda: wheel(6, 100),  # and out, around another point
        lambda: [keyboard.press(key) for key in "++--"],
        lambda: wheel(3, 100),
        lambda: drag(250, 0),
        lambda: drag(-250, 0),
        lambda: wheel(3, -100),
    ]
    frames: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        keyboard.press("0")  # zoom to fit: every interval of the session in view
        for gesture in gestures:
            gesture()
            frames += page.evaluate(DRAIN)
    page.evaluate(TWO_FRAMES)
    return frames + page.evaluate(DRAIN)

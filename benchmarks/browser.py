"""The timeline page in headless Chromium under load: a real ``greenscope serve`` process, real traced programs.

    python -m benchmarks.browser              # both phases (also part of ``python -m benchmarks``)
    python -m benchmarks.browser --profile    # and where the page's time goes (CDP Profiler, then per part)

static  a real program (2,000 greenthreads in a GreenPool, each a burst of 260 sleep(0) then one long sleep: the
        shape a renderer that skips merged intervals gets wrong) recorded by ``greenscope record``:
        >= 1M state intervals, uploaded over REST, opened at /?session=ID; once all its events are in, fit, then
        ~10 s of continuous wheel zooms around various points, drags left/right and up/down, and +/- keys.
        Drawing work per frame is the page's own (`greenscope.stats.frames`); the real frame rate comes from an
        injected requestAnimationFrame loop.
lanes   100,000 greenthreads (two sleep(0) each) recorded and opened the same way: load time, and the drawing
        work while scrolling to the last lane, filtering over all of them, panning and zooming.
live    the dashboard benchmark's paced traced program (real Recorder + Agent, 50k events/s) streaming to the
        server, the page following its session for 15 s: frames per second, JS heap (CDP Performance.getMetrics)
        sampled every second, and the events/s the page ingested.
flood   a synthetic agent at 1M events/s (real timestamps), the page following it for 8 s: the events/s it
        ingested (binary batches) and its frames per second, each second (none may fall below 30).
step    the live control: a paused program stepped from the page, how long each step takes to show
        (`benchmarks.control`).

A report, not a test: it prints figures and PASS/MISS against the targets and exits 0. It stops every process it
starts (servers, the traced program, Chromium), by pid or through Playwright.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.control import measure_step
from benchmarks.dashboard import (
    PACED_RATE,
    Report,
    Server,
    child,
    percentile,
    phase_list,
    record_program,
    started,
    verdict,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, CDPSession, Page

FRAME_TARGET_MS = 16.0  # median drawing work per frame, 1M intervals, panning and zooming
INTERVALS_TARGET = 1_000_000
FPS_TARGET = 30.0  # live, following 50k events/s
HEAP_TARGET_MB = 500.0
VIEWPORT = {"width": 1400, "height": 900}
PHASES = ("static", "lanes", "live", "flood", "step")
FLOOD_RATE = 1_000_000  # events/s: the page's ingest target
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
PARTS = """() => {
  const g = greenscope, spent = (window.__parts = {});
  const wrap = (obj, name, label) => {
    const f = obj[name].bind(obj);
    spent[label] = { ms: 0, calls: 0 };
    obj[name] = (...args) => {
      const t = performance.now();
      try { return f(...args); } finally { spent[label].ms += performance.now() - t; spent[label].calls++; }
    };
  };
  wrap(g.timeline, "draw", "timeline.draw (all)");
  wrap(g.timeline, "lane", "timeline.lane (each lane's columns)");
  wrap(g.timeline, "updateRows", "timeline.updateRows");
  wrap(g.timeline, "drawOverlay", "timeline.drawOverlay");
  wrap(g.gauges, "draw", "gauges.draw");
  wrap(g.trace, "ingest", "trace.ingest");
}"""
COUNTS = """() => {
  const tr = greenscope.trace, m = performance.memory;
  return { lanes: tr.lanes.length, intervals: tr.lanes.reduce((s, l) => s + l.ts.n, 0), events: tr.events,
           used_js_heap_mb: m ? m.usedJSHeapSize / 2 ** 20 : null };
}"""


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def js_heap_mb(cdp: CDPSession) -> tuple[float, float]:
    """The page's JS heap in use (CDP ``Performance.getMetrics`` JSHeapUsedSize) and, outside it, the backing
    stores of its ArrayBuffers (the trace's typed arrays; ``Runtime.getHeapUsage``), in MB."""
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return metrics["JSHeapUsedSize"] / 2**20, cdp.send("Runtime.getHeapUsage")["backingStorageSize"] / 2**20


def open_page(stack: ExitStack, browser: Browser, url: str) -> tuple[Page, CDPSession]:
    """A 1400x900 page at `url` (closed with `stack`), and a CDP session on it with Performance metrics on."""
    context = browser.new_context(viewport=VIEWPORT)
    stack.callback(context.close)
    page = context.new_page()
    page.goto(url)
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    return page, cdp


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


# ---------------------------------------------------------------- profiling (--profile)


class Profile:
    """Where the page's time goes over a stretch of its life: the CDP sampling profiler (self and total ms per
    function) and performance.now() around the parts of a frame (PARTS)."""

    def __init__(self, page: Page, cdp: CDPSession) -> None:
        self.page, self.cdp = page, cdp
        page.evaluate(PARTS)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 200})  # µs
        cdp.send("Profiler.start")

    def stop(self, top: int = 14) -> list[str]:
        """Stop; the `top` functions by self time with their total (self and callees) time, then the parts."""
        profile = self.cdp.send("Profiler.stop")["profile"]
        self.cdp.send("Profiler.disable")
        nodes = {n["id"]: n for n in profile["nodes"]}
        parent = {c: n["id"] for n in profile["nodes"] for c in n.get("children", [])}
        name = {i: where(n["callFrame"]) for i, n in nodes.items()}
        own: dict[str, float] = {}
        total: dict[str, float] = {}
        for node, dt in zip(profile["samples"], profile["timeDeltas"], strict=True):
            ms = dt / 1000
            own[name[node]] = own.get(name[node], 0.0) + ms
            seen, at = set(), node
            while at is not None:
                if name[at] not in seen:
                    seen.add(name[at])
                    total[name[at]] = total.get(name[at], 0.0) + ms
                at = parent.get(at)
        busy = sum(ms for fn, ms in own.items() if fn not in ("(idle)", "(program)"))
        lines = [f"{'self ms':>9}{'total ms':>10}  function (sampled {sum(own.values()):,.0f} ms, {busy:,.0f} busy)"]
        for fn, ms in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
            lines.append(f"{ms:>9,.0f}{total[fn]:>10,.0f}  {fn}")
        parts = self.page.evaluate("window.__parts")
        lines += [f"{p['ms']:>9,.0f} ms in {p['calls']:>7,} calls: {label}" for label, p in parts.items()]
        return lines


def where(frame: dict) -> str:
    """A call frame as ``function file.js:line``."""
    url = frame["url"].rsplit("/", 1)[-1]
    fn = frame["functionName"] or "(anonymous)"
    return f"{fn} {url}:{frame['lineNumber'] + 1}" if url else fn


# ---------------------------------------------------------------- static: 1M intervals, panning and zooming


def open_recording(stack: ExitStack, browser: Browser, recording: Path) -> tuple[Page, CDPSession, dict, float]:
    """Upload `recording` to a fresh server (stopped with `stack`) and open its session in a page once all its
    events are in: the page, its CDP session, the session's description, and the seconds the page took."""
    server = started(stack, Server())
    with recording.open("rb") as f:
        sid = server.api("POST", "recordings", files={"file": (recording.name, f)})["id"]
    session = server.api("GET", f"sessions/{sid}")
    start = time.perf_counter()
    page, cdp = open_page(stack, browser, f"{server.base}?session={sid}")
    page.wait_for_function(f"greenscope.trace?.events === {session['events']}", timeout=300_000, polling=50)
    return page, cdp, session, time.perf_counter() - start


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
    drain = "greenscope.stats.frames.splice(0)"  # it keeps only the last 600: take them as they come
    frames: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        keyboard.press("0")  # zoom to fit: every interval of the session in view
        for gesture in gestures:
            gesture()
            frames += page.evaluate(drain)
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    return frames + page.evaluate(drain)


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
    ordered = sorted(frames)
    work = {"frames": len(ordered), "p50_ms": median(ordered), "p95_ms": percentile(ordered, 95)}
    work["max_ms"] = ordered[-1] if ordered else float("nan")
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
        page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        frames += page.evaluate("greenscope.stats.frames.splice(0)")
    ordered = sorted(frames)
    work = {"frames": len(ordered), "p50_ms": median(ordered), "p95_ms": percentile(ordered, 95)}
    report.figures["lanes"] = {"session_events": session["events"], **counts, "load_s": load_s, "draw_work": work}
    usable = counts["lanes"] >= options.many and work["p50_ms"] <= FRAME_TARGET_MS
    report.add(
        f"lanes        `greenscope record` of {options.many:,} greenthreads ({made_in:.1f} s): {session['events']:,}"
        f" events, {counts['lanes']:,} lanes, loaded in {load_s:.1f} s"
    )
    report.add(
        f"             scrolling, filtering, zooming: drawing work per frame p50 {work['p50_ms']:.1f} ms,"
        f" p95 {work['p95_ms']:.1f} ms over {len(ordered)} frames (p50 <= {FRAME_TARGET_MS:g}: {verdict(usable)})"
    )


# ---------------------------------------------------------------- live: following 50k events/s


def measure_live(report: Report, browser: Browser, options: Options) -> None:
    """The paced program streaming, the page following it: frames per second, JS heap, events/s ingested."""
    seconds = options.live_seconds
    samples: list[tuple[float, int, float, float]] = []  # (s since the page opened, events, heap MB, buffers MB)
    with ExitStack() as stack:
        server = started(stack, Server())
        program = started(stack, child("traced", server.agent, str(PACED_RATE), str(seconds + 5)))
        sid = server.session_of(program.pid)["id"]
        page, cdp = open_page(stack, browser, f"{server.base}?session={sid}")
        page.wait_for_function("greenscope.trace !== null")
        page.keyboard.press("i")  # the Insights panel open: it asks for the analysis as the session grows
        profile = Profile(page, cdp) if options.profile else None
        page.evaluate(RAF_START)
        start = time.monotonic()
        for tick in range(1, int(seconds) + 1):
            time.sleep(max(0.0, start + tick - time.monotonic()))
            events = page.evaluate("greenscope.trace.events")
            samples.append((time.monotonic() - start, events, *js_heap_mb(cdp)))
        stamps, draws = page.evaluate(RAF_STOP)
        work = sorted(page.evaluate("greenscope.stats.frames"))
        lanes = page.evaluate("greenscope.trace.lanes.length")
        server_events = server.api("GET", f"sessions/{sid}")["events"]
        profiled = profile.stop() if profile else []
    window = min(10, len(samples) - 1)  # the last 10 s: the page has caught up with the session's start by then
    last = stamps[-1]
    per_second = [sum(last - (k + 1) * 1000 < t <= last - k * 1000 for t in stamps) for k in range(window)][::-1]
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
        "draw_work": {"frames": len(work), "p50_ms": median(work), "p95_ms": percentile(work, 95)},
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
        f"             drawing work per frame p50 {median(work):.1f} ms, p95 {percentile(work, 95):.1f} ms;"
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


# ---------------------------------------------------------------- flood: 1M events/s of binary batches


def measure_flood(report: Report, browser: Browser, options: Options) -> None:
    """A synthetic agent at FLOOD_RATE events/s, each frame stamped as it leaves, the page following its session:
    the events/s the page ingested (binary batches, read in place) and its frames per second meanwhile."""
    seconds = options.flood_seconds
    samples: list[tuple[float, int]] = []
    with ExitStack() as stack:
        server = started(stack, Server())
        agent = started(stack, child("flood", server.agent, "0", str(seconds + 3), str(FLOOD_RATE)))
        sid = server.session_of(agent.pid)["id"]
        page, cdp = open_page(stack, browser, f"{server.base}?session={sid}")
        page.wait_for_function("greenscope.trace !== null && greenscope.trace.events > 0", timeout=60_000)
        page.evaluate(RAF_START)
        start = time.monotonic()
        for tick in range(1, int(seconds) + 1):
            time.sleep(max(0.0, start + tick - time.monotonic()))
            samples.append((time.monotonic() - start, page.evaluate("greenscope.trace.events")))
        stamps, draws = page.evaluate(RAF_STOP)
        ingest_ms = page.evaluate("greenscope.stats.ingest")
        heap, buffers = js_heap_mb(cdp)
    (t0, e0), (t1, e1) = samples[0], samples[-1]
    ingested = (e1 - e0) / (t1 - t0)
    last = stamps[-1]
    window = len(samples) - 1
    per_second = [sum(last - (k + 1) * 1000 < t <= last - k * 1000 for t in stamps) for k in range(window)][::-1]
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


# ---------------------------------------------------------------- entry points


@dataclass
class Options:
    """What to run, and how big and long."""

    greenthreads: int = 2_000
    sleeps: int = 260
    many: int = 100_000  # greenthreads in the "lanes" phase
    interact_seconds: float = 10.0
    live_seconds: float = 15.0
    flood_seconds: float = 8.0
    profile: bool = False
    only: tuple[str, ...] = PHASES


def run(options: Options) -> dict[str, Any]:
    """Run the phases in one headless Chromium, printing as it goes; return the figures."""
    report = Report()
    report.add("browser: the timeline page in headless Chromium (1400x900) against a real `greenscope serve`")
    phases = {
        "static": measure_static,
        "lanes": measure_lanes,
        "live": measure_live,
        "flood": measure_flood,
        "step": measure_step,
    }
    try:
        from playwright.sync_api import sync_playwright  # the test extra: `python -m benchmarks` runs without it

        from benchmarks.chromium import launch_chromium

        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                for name in options.only:
                    try:
                        phases[name](report, browser, options)
                    except Exception as e:  # a report: say what failed and go on
                        report.add(f"{name:<13}error: {type(e).__name__}: {e}")
                        report.figures[name] = {"error": str(e)}
            finally:
                browser.close()
    except Exception as e:  # no Playwright, or no Chromium
        report.add(f"{'':<13}error: {type(e).__name__}: {e}")
        report.figures["error"] = str(e)
    return report.figures


def main(argv: list[str]) -> int:
    """The report; ``--profile`` adds where the page's time goes."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.browser", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--only", type=partial(phase_list, phases=PHASES), default=PHASES, help=f"comma list of {','.join(PHASES)}"
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="the live phase (default 15)")
    parser.add_argument("--profile", action="store_true", help="CDP Profiler and per-part timings (slows the page)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures to PATH")
    args = parser.parse_args(argv)
    figures = run(Options(live_seconds=args.seconds, profile=args.profile, only=args.only))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Pixel truth: what reaches the timeline's canvas, column by column, against what the events say.

Real programs of known shapes (examples/timeline/) are recorded, loaded in the page (or streamed
live), drawn at several zooms, read back from the canvas, and compared with an oracle computed in
Python from `runtime.trace.states.intervals()` (tests/support/pixels.py). At most a one-column
error at an interval's edge is allowed; a long state missing, a lane drawn at the wrong place or in
a colour that is no state fails.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page

from runtime.trace.codec import END, EVENTS, HELLO, MAGIC, encode_frame, read_recording
from runtime.trace.events import DROPPED, SPAWN, describe
from runtime.trace.states import DONE, RUNNING, hubs, intervals
from tests.support.dashboard import Server
from tests.support.pages import load, show
from tests.support.pixels import Snapshot, mismatches, oracle, read
from tests.support.pixels import describe as explain

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "timeline"
LONG = 0.1  # seconds each shape holds its long state


def record(out: Path, program: str, *args: str) -> Path:
    subprocess.run(
        [sys.executable, "-m", "visualizer", "record", "-o", str(out), str(EXAMPLES / program), *args],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record(tmp_path_factory.mktemp("shapes") / "shapes.gsc", "shapes.py", str(LONG))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record(tmp_path_factory.mktemp("tiny") / "tiny.gsc", "tiny.py", "100000")


def with_a_gap(path: Path, out: Path, start: float, stop: float) -> Path:
    """`path`'s recording with the events between `start` and `stop` (shares of its run) lost, and
    said so by a ``dropped`` event where the stream resumes: as the agent reports a full buffer."""
    process, events, _ = read_recording(path.read_bytes())
    t0, t1 = events[0][1], events[-1][1]
    a, b = t0 + start * (t1 - t0), t0 + stop * (t1 - t0)
    kept = [e for e in events if not a <= e[1] < b]
    lost = len(events) - len(kept)
    at = next(i for i, e in enumerate(kept) if e[1] >= b)
    kept.insert(at, (DROPPED, kept[at][1], lost))
    frames = [
        encode_frame(HELLO, {"schema": describe(), "process": process}),
        encode_frame(EVENTS, kept),
        encode_frame(END, {"dropped": lost}),
    ]
    out.write_bytes(MAGIC + b"".join(frames))
    return out


def assert_true_to_the_events(page: Page, events: list[tuple], what: str) -> Snapshot:
    """Every lane in view, every column, as the oracle says."""
    snap = read(page)
    want = oracle(events[: snap.events], snap)
    assert snap.lanes, f"{what}: no lane drawn"
    for gid, drawn in snap.lanes.items():
        bad = mismatches(drawn, want[gid])
        assert not bad, f"{what}, {'hub' if gid == 0 else f'gt{gid}'}: {explain(drawn, want[gid], bad)}"
    return snap


def long_starts(events: list[tuple]) -> dict[str, float]:
    """Per shape (a spawned function's name), when its longest interval not done begins, from the origin."""
    names = {e[2]: e[4] for e in events if e[0] == SPAWN}
    base = events[0][1]
    out = {}
    for gid, ivs in intervals(events).items():
        live = [iv for iv in ivs if iv.state != DONE]
        if gid in names and live:
            longest = max(live, key=lambda iv: iv.end - iv.start)
            out[names[gid]] = longest.start - base
    return out


def zooms(events: list[tuple], end: float, centres: list[float], width: int) -> list[tuple[str, float, float]]:
    """Fit, 10x and 1000x around each centre, and a view where one running interval is exactly one pixel."""
    views = [("fit", 0.0, end)]
    for c in centres:
        for k in (10, 1000):
            span = end / k
            views.append((f"{k}x at {c / 1e6:.3f} ms", c - span / 2, c + span / 2))
    base = events[0][1]
    run = next(
        iv
        for ivs in intervals(events).values()
        for iv in ivs
        if iv.state == RUNNING and iv.end - iv.start > 100 and iv.start > base
    )
    d = float(run.end - run.start)
    t0 = run.start - base - 200 * d
    views.append((f"one pixel = one interval of {d:.0f} ns", t0, t0 + width * d))
    return views


def test_every_lane_of_every_shape_at_every_zoom(page: Page, shapes: Path):
    events = load(page, shapes)
    page.keyboard.press("0")
    snap = read(page)
    assert snap.t0 == 0 and snap.t1 >= snap.until > 0  # a recording opens fitted to its whole run
    gids = set(intervals(events)) | {0}
    assert set(snap.lanes) == gids  # every greenthread has its lane (and the hub its own)
    starts = long_starts(events)
    centres = [starts[f"{s}_after_burst"] for s in ("running", "ready", "io", "queue", "sync", "pool", "sleep")]
    centres += [starts["long_then_burst"] + LONG * 1e9, starts["alternating"]]
    for name, t0, t1 in zooms(events, snap.until, centres, snap.width):
        show(page, t0, t1)
        assert_true_to_the_events(page, events, name)


def test_each_long_state_after_a_burst_fills_its_lane(page: Page, shapes: Path):
    """The bug this suite was written for: a long state right after hundreds of tiny intervals was not drawn.
    At fit, each shape's lane shows its long state over (nearly) LONG seconds' worth of columns."""
    events = load(page, shapes)
    page.keyboard.press("0")
    snap = read(page)
    names = {e[2]: e[4] for e in events if e[0] == SPAWN}
    per_px = (snap.t1 - snap.t0) / snap.width
    for state in ("running", "ready", "io", "queue", "sync", "pool", "sleep"):
        gid = next(g for g, n in names.items() if n == f"{state}_after_burst")
        columns = snap.lanes[gid].count(state)
        assert columns >= 0.8 * LONG * 1e9 / per_px, f"{state}_after_burst: {columns} columns of {state}"


def test_a_lane_with_a_gap_of_lost_events(page: Page, shapes: Path, tmp_path: Path):
    gap = with_a_gap(shapes, tmp_path / "gap.gsc", 0.40, 0.45)
    events = load(page, gap)
    assert page.evaluate("greenscope.trace.dropped") > 0
    page.keyboard.press("0")
    snap = assert_true_to_the_events(page, events, "fit")
    assert any("lost" in lane for lane in snap.lanes.values())  # the gap is drawn, as unknown
    at = next(e[1] for e in events if e[0] == DROPPED) - events[0][1]
    for k in (10, 1000):
        span = snap.until / k
        show(page, at - span / 2, at + span / 2)
        assert_true_to_the_events(page, events, f"{k}x at the gap")


def test_a_hundred_thousand_tiny_intervals_on_one_lane(page: Page, tiny: Path):
    events = load(page, tiny)
    page.keyboard.press("0")
    snap = assert_true_to_the_events(page, events, "fit")
    counts = [len(ivs) for ivs in intervals(events).values()]
    assert max(counts) >= 100_000
    for k in (10, 1000):
        span = snap.until / k
        show(page, snap.until / 2 - span / 2, snap.until / 2 + span / 2)
        assert_true_to_the_events(page, events, f"{k}x")


def test_a_batch_goes_in_a_slice_at_a_time_with_frames_drawn_between(page: Page, tiny: Path):
    """The page takes a batch of the server's in slices (feed.js), so it draws on while 100k events come in: some
    frames come while a batch is part of the way in, and all of them are in once (taken whole, a batch was one task
    of up to 200 ms, and no frame came until it was in)."""
    page.wait_for_function("greenscope.page.opened")
    page.evaluate(
        """() => {
          const feed = greenscope.feed, seen = (window.__partway = []);
          const tick = () => {
            const job = feed.queue[0], r = job?.reading;
            if (r && 0 < r.next && r.next < r.kinds.length) seen.push(r.next);
            requestAnimationFrame(tick);
          };
          requestAnimationFrame(tick);
        }"""
    )
    events = load(page, tiny)
    partway = page.evaluate("window.__partway")
    assert len(partway) >= 2 and all(n % 4096 == 0 for n in partway)  # a frame after each few slices of 4096
    assert page.evaluate("greenscope.trace.events") == len(events)


def test_long_after_many_short_and_alternating_draw_the_same_at_every_zoom(page: Page, shapes: Path):
    """The same data draws the same at different zooms: a state shown over a time range at one zoom is
    shown over it at another (compared at the columns the two views share, at 2x)."""
    load(page, shapes)
    page.keyboard.press("0")
    whole = read(page)
    show(page, 0, whole.until / 2)
    half = read(page)
    for gid, cols in whole.lanes.items():
        if gid not in half.lanes:
            continue
        # column c of the fit view covers columns 2c and 2c+1 of the half view
        for c in range(whole.width // 2 - 1):
            a, b = half.lanes[gid][2 * c], half.lanes[gid][2 * c + 1]
            if a == b and a is not None:
                assert cols[c] == a, f"gt{gid} column {c}: {cols[c]} at fit, {a} in both halves at 2x"


def test_a_live_session_is_drawn_true_while_events_arrive(page: Page, server: Server):
    """A program streamed live (`greenscope record --connect`): snapshots taken while its events still
    arrive, each against the events the page had then (the session's recording, cut there)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "visualizer", "record", "--connect", server.agent, str(EXAMPLES / "shapes.py"), "0.4"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        page.goto(f"{server.base}?pid={proc.pid}")  # the page waits for its session, and opens it
        page.wait_for_function(
            f"greenscope.page.session && greenscope.page.session.pid === {proc.pid} && greenscope.trace.events > 500"
        )
        sid = page.evaluate("greenscope.page.session.id")
        snaps = []
        for _ in range(3):
            snaps.append(("following", read(page)))
            page.wait_for_timeout(400)
        now = page.evaluate("greenscope.trace.now")
        show(page, now - 20e6, now)  # the last 20 ms, still arriving
        snaps.append(("the last 20 ms", read(page)))
        page.evaluate("greenscope.viewport.setFollow(true)")
        assert proc.wait(60) == 0, proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()
    page.wait_for_function("greenscope.page.session.state === 'ended'")
    recording = server.get(f"api/sessions/{sid}/recording")
    events = read_recording(recording.content)[1]
    assert [s.events for _, s in snaps] == sorted(s.events for _, s in snaps)
    assert snaps[0][1].events < len(events)  # the first was taken while the program still ran
    for what, snap in snaps:
        assert snap.t0 == 0 or what != "following"  # a live session is shown from its start
        want = oracle(events[: snap.events], snap)
        for gid, drawn in snap.lanes.items():
            bad = mismatches(drawn, want[gid])
            assert not bad, f"{what} at {snap.events} events, gt{gid}: {explain(drawn, want[gid], bad)}"


def test_each_hub_of_a_two_thread_program_has_its_lane_and_its_greenthreads(page: Page, tmp_path: Path):
    out = tmp_path / "two.gsc"
    cmd = [sys.executable, "-m", "visualizer", "record", "--no-patch", "-o", str(out), str(EXAMPLES / "two_hubs.py")]
    subprocess.run(cmd, check=True, capture_output=True)
    events = load(page, out)
    page.keyboard.press("0")
    snap = assert_true_to_the_events(page, events, "fit")
    assert {0, -1} <= set(snap.lanes)  # both hubs drawn, each true to its own waits
    order = page.evaluate(
        """(() => { const t = greenscope.timeline; return Array.from(t.rows.slice(0, t.nrows), r => {
             if (r >= 0) return greenscope.trace.lanes[r].gid;
             const h = t.header(r); return h.hub ? `hub ${h.hub.gid}` : null; }); })()"""
    )
    below = {}  # each greenthread's row: under which hub's row
    hub = None
    for row in order:
        if isinstance(row, str):
            hub = int(row.split()[1])
        elif row is not None:
            below[row] = hub
    assert {g: below[g] for g in hubs(events) if g in below} == hubs(events)


def counts_at(events: list[tuple], t: float) -> dict[str, int]:
    """Greenthreads per state at `t` (absolute ns) as the events say: each one's interval holding t (the last one
    holds on to the end)."""
    out: dict[str, int] = {}
    for ivs in intervals(events).values():
        held = next((iv for iv in ivs if iv.start <= t < iv.end), ivs[-1] if ivs and t >= ivs[-1].start else None)
        if held:
            out[held.state] = out.get(held.state, 0) + 1
    return out


def test_the_states_gauge_says_the_greenthreads_in_each_state_the_events_give(page: Page, shapes: Path):
    """Hovering the gauge of greenthreads per state, at the middle of each shape's long state and in the gutter (now):
    its tooltip's counts are the intervals' (the page keeps the moves between states, not a row of counts each)."""
    events = load(page, shapes)
    page.keyboard.press("0")
    read(page)  # drawn
    base, end = events[0][1], events[-1][1]
    box = page.locator("#gauges").bounding_box()
    y = box["y"] + 0.5 * page.evaluate("greenscope.gauges.theme.gauge")  # the first strip: the states
    bounds = sorted({iv.start for ivs in intervals(events).values() for iv in ivs})
    starts = long_starts(events)
    checked = 0
    for name in ("running", "ready", "io", "queue", "sync", "pool", "sleep"):
        x = page.evaluate("t => Math.round(greenscope.view.x(t))", starts[f"{name}_after_burst"] + LONG * 1e9 / 2)
        page.mouse.move(box["x"] + x, y)
        t = base + page.evaluate("x => greenscope.view.t(x)", x)
        near = page.evaluate("x => greenscope.view.t(x + 1) - greenscope.view.t(x)", x)
        if any(abs(b - t) < near for b in bounds):
            continue  # a greenthread moves within a pixel of here: the hovered time is not the one to check
        title = page.locator("#gauges").get_attribute("title")
        shown = {s: int(n) for s, n in (line.split() for line in title.splitlines()[1:])}
        assert title.startswith("greenthreads at ") and shown == counts_at(events, t), (name, title)
        checked += 1
    assert checked >= 5
    page.mouse.move(box["x"] + 5, y)  # the gutter: now
    title = page.locator("#gauges").get_attribute("title")
    assert title.startswith("greenthreads now")
    assert {s: int(n) for s, n in (line.split() for line in title.splitlines()[1:])} == counts_at(events, end)

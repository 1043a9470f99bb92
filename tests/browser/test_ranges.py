"""A recording longer than what memory holds of it: the overview strip draws all of it (a bar in each pixel column
that has events), a span dragged across it is read back from disk and drawn true to its events at several zooms (the
pixels against `states.intervals` of that span, midway through the run), and "Latest" goes back."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from runtime.trace.codec import read_recording
from tests.support.dashboard import Server
from tests.support.pages import show
from tests.support.pixels import describe, mismatches, oracle, read, rgb

ROOT = Path(__file__).resolve().parents[2]
WINDOW = 800  # events the server keeps in memory per session: a third of the recording's

# the overview canvas's bottom row of pixels read back, and the bars' two colours
BARS = """() => {
  const c = document.getElementById('overview-canvas'), th = greenscope.theme;
  const img = c.getContext('2d').getImageData(0, c.height - 1, c.width, 1).data;
  const px = [];
  for (let x = 0; x < c.width; x++) px.push((img[4 * x] << 16) | (img[4 * x + 1] << 8) | img[4 * x + 2]);
  return { px, lit: th.accent, dim: th.dim };
}"""


def bars(page: Page) -> list[str | None]:
    """Each pixel column of the overview: "lit" (a bar of events the page holds), "dim" (a bar of others), None."""
    got = page.evaluate(BARS)
    names = {rgb(got["lit"]): "lit", rgb(got["dim"]): "dim"}
    return [names.get(px) for px in got["px"]]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A dashboard that keeps only `WINDOW` events of a session in memory (the `page` fixture's, here)."""
    it = Server("--window", str(WINDOW), log=tmp_path_factory.mktemp("ranges") / "serve.log")
    yield it
    it.close()


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("shapes") / "shapes.gsc"
    program = ROOT / "examples" / "timeline" / "shapes.py"
    subprocess.run([sys.executable, "-m", "visualizer", "record", "-o", str(out), str(program), "0.1"], check=True)
    return out


def test_a_span_of_the_recording_is_read_from_disk_and_drawn_true(page: Page, server: Server, shapes: Path):
    events = read_recording(shapes.read_bytes())[1]
    assert len(events) > 3 * WINDOW
    session = server.http.post(f"{server.base}api/recordings", data=shapes.read_bytes()).json()
    assert session["retained"] == WINDOW and session["trimmed"] == len(events) - WINDOW
    page.goto(f"{server.base}?session={session['id']}")
    page.wait_for_function(f"greenscope.trace?.events === {WINDOW}")
    strip = page.locator("#overview")
    expect(strip).to_be_visible()
    expect(page.locator("#overview-label")).to_contain_text(f"{len(events):,}".replace(",", "\u2009"))
    expect(page.locator("#overview-latest")).to_be_hidden()

    box = page.locator("#overview-canvas").bounding_box()
    width = round(box["width"])
    page.wait_for_function("document.getElementById('overview').dataset.span !== undefined")
    counts = server.get(f"api/sessions/{session['id']}/overview?buckets={width}").json()["counts"]
    assert abs(sum(counts) - len(events)) < 1
    drawn = bars(page)
    assert [bar is not None for bar in drawn] == [n > 0 for n in counts]  # a bar where, and only where, events are
    assert drawn.index("lit") > 0.5 * width and "dim" not in drawn[drawn.index("lit") :]  # the window: the latest

    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 0.30 * box["width"], y)
    page.mouse.down()
    page.mouse.move(box["x"] + 0.45 * box["width"], y, steps=4)
    page.mouse.up()
    page.wait_for_function(
        "greenscope.page.range?.events > 0 && greenscope.trace.events === greenscope.page.range.events"
    )
    span = page.evaluate("greenscope.page.range")
    first, n = span["first"], span["events"]
    assert first > 0 and first + n <= len(events) - WINDOW  # events memory does not hold: from disk
    expect(page.locator("#overview-latest")).to_be_visible()
    expect(page.locator("#overview-label")).to_contain_text("read from disk")
    held = events[first : first + n]
    base = events[0][1]
    start, stop = held[0][1] - base, max(e[1] for e in held) - base
    assert span["start"] <= stop and span["stop"] >= start  # what was asked for, reached into
    checked = []
    for name, t0, t1 in (
        ("as picked", span["start"], span["stop"]),
        ("fit", None, None),
        ("10x", start + (stop - start) * 0.45, start + (stop - start) * 0.55),
    ):
        if t0 is None:
            page.keyboard.press("0")
        else:
            show(page, t0, t1)
        snap = read(page)
        want = oracle(held, snap, midway=True)
        for gid, drawn in snap.lanes.items():
            bad = mismatches(drawn, want[gid])
            assert not bad, f"{name}, {'hub' if gid == 0 else f'gt{gid}'}: {describe(drawn, want[gid], bad)}"
        checked.append(sum(1 for lane in snap.lanes.values() for s in lane if s))
    assert min(checked) > 1000  # each view drew lanes (not an empty picture, trivially true)

    page.click("#overview-latest")
    page.wait_for_function(f"!greenscope.page.range && greenscope.trace.events === {WINDOW}")
    expect(page.locator("#overview-latest")).to_be_hidden()

    span_ns = float(page.locator("#overview").get_attribute("data-span"))
    view = page.evaluate("greenscope.view.t1 - greenscope.view.t0")
    page.mouse.click(box["x"] + 0.10 * box["width"], y)  # a click: a span as wide as the view, around there
    page.wait_for_function("greenscope.page.range?.events > 0")
    picked, pixel = page.evaluate("greenscope.page.range"), span_ns / box["width"]
    at = 0.10 * span_ns
    assert abs(picked["start"] - max(0.0, at - view / 2)) <= pixel and abs(picked["stop"] - (at + view / 2)) <= pixel


def test_a_page_that_reconnects_holds_each_event_once(page: Page, server: Server, shapes: Path):
    """Once: after the connection dropped, the server sent the session's history again into the page's trace, and
    the page held every event twice."""
    session = server.http.post(f"{server.base}api/recordings", data=shapes.read_bytes()).json()
    page.goto(f"{server.base}?session={session['id']}")
    page.wait_for_function(f"greenscope.trace?.events === {WINDOW}")
    for span in (None, [0, 10**8]):
        if span:
            page.evaluate("s => greenscope.sessions.open(greenscope.page.session.id, s)", span)
            page.wait_for_function("greenscope.page.range?.events > 0")
        held = page.evaluate("greenscope.page.range?.events ?? greenscope.trace.events")
        page.evaluate("greenscope.stream.socket.disconnect()")
        page.evaluate("greenscope.stream.socket.connect()")
        page.wait_for_function("greenscope.stream.socket.connected")
        page.wait_for_function(f"greenscope.trace.events === {held}")
        page.wait_for_timeout(500)  # a second copy would be coming in by now
        assert page.evaluate("greenscope.trace.events") == held
        assert page.evaluate("JSON.stringify(greenscope.stream.range)") == (
            "null" if span is None else str(span).replace(" ", "")
        )


def test_a_live_session_that_outgrows_the_page_starts_again_from_the_servers_window(page: Page, server: Server):
    """A page left following a busy program keeps its memory bounded: past `maxEvents` (and twice the history the
    server sent), it opens the session again, getting what the server holds in memory; the rest is on disk."""
    sid = server.launch("crawler", continuous=True, delay=0.001)["id"]
    try:
        page.goto(f"{server.base}?session={sid}")
        page.wait_for_function("greenscope.page.session?.state === 'running'")
        page.evaluate("greenscope.page.maxEvents = 3000")
        page.wait_for_function("greenscope.page.rollovers >= 1", timeout=30_000)
        page.evaluate("greenscope.page.maxEvents = 1e12")  # once is what this test looks at
        expect(page.locator("#status")).to_contain_text("starts again from the latest the server holds")
        page.wait_for_function("greenscope.trace.events > 0")
        # it starts at the server's window, past the more than 3000 events it held (on disk now), not from the first
        # (not against what it holds now: the program's events keep coming, and once it held more than came before)
        assert page.evaluate("greenscope.trace.earlier") > 3000 - WINDOW
        expect(page.locator("#overview")).to_be_visible()
    finally:
        server.http.delete(f"{server.base}api/sessions/{sid}", timeout=10)

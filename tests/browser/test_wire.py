"""The wire to the page on a recording made for it: columns that repeat hundreds of values (coded with 2-byte
indexes), a few (1-byte), or mostly distinct ones (a list), and times on a clock past 2**53 ns — each shown as the
events say, in the page's model and in its details panel."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from runtime.trace.codec import END, EVENTS, HELLO, MAGIC, encode_frame
from runtime.trace.events import BLOCK, SPAWN, SWITCH, WAKE, Batch, describe
from runtime.trace.states import intervals

ORIGIN = 2**60  # ns on a clock of 36 years of uptime: not exact in a float64
GREENTHREADS = 400


def blocks_at_many_places(path: Path) -> list[tuple]:
    """Greenthreads that each block three times at a code line of their own (400 lines, over and over: coded in
    2-byte indexes), on a peer of three (1 byte), then stay blocked; each spawned at a site of its own (a list)."""
    events: list[tuple] = []
    ts = ORIGIN
    for gid in range(2, GREENTHREADS + 2):
        events.append((SPAWN, ts, gid, 1, "handler", f"app.py:{gid} in main", None))
        ts += 7
    for round_ in range(3):
        for gid in range(2, GREENTHREADS + 2):
            if round_:
                events.append((WAKE, ts, gid, "fd_ready", 0, 0))
            events.append((SWITCH, ts + 1, 0, gid))
            events.append((BLOCK, ts + 2, gid, "io_read", None, f"10.0.{gid % 3}.1:80", f"app.py:{gid} in handler"))
            events.append((SWITCH, ts + 3, gid, 0))
            ts += 1_000_003
    with path.open("wb") as out:
        out.write(MAGIC + encode_frame(HELLO, {"schema": describe(), "process": {"pid": 1, "argv": ["app.py"]}}))
        out.write(encode_frame(EVENTS, Batch.of(events)))
        out.write(encode_frame(END, {"dropped": 0}))
    return events


def test_repeated_distinct_and_listed_columns_reach_the_page_as_the_events_say(page: Page, tmp_path: Path):
    path = tmp_path / "places.gsc"
    events = blocks_at_many_places(path)
    page.set_input_files("#file-input", str(path))
    page.wait_for_function(f"greenscope.trace?.events === {len(events)}")
    shown = page.evaluate(
        """() => greenscope.trace.lanes.map(l => [l.gid, l.site, greenscope.trace.intervals(l),
             [...Array(l.ts.n).keys()].map(i => greenscope.trace.detail(l.wh.a[i]) ?? null),
             [...Array(l.ts.n).keys()].map(i => greenscope.trace.detail(l.info.a[i]) ?? null)])"""
    )
    python = intervals(events)
    assert len(shown) == GREENTHREADS
    for gid, site, ivs, wheres, peers in shown:
        assert site == f"app.py:{gid} in main"
        assert [(s + ORIGIN, e + ORIGIN, detail) for s, e, _, detail in ivs] == [
            (iv.start, iv.end, iv.detail) for iv in python[gid]
        ]  # exact to the ns, though the clock is past 2**53
        blocked = [i for i, (_, _, _, detail) in enumerate(ivs) if detail == "io_read"]
        assert len(blocked) == 3 and {wheres[i] for i in blocked} == {f"app.py:{gid} in handler"}
        assert {peers[i] for i in blocked} == {f"10.0.{gid % 3}.1:80"}
    gid, x, y = page.evaluate(
        """(() => {
          const g = greenscope, lane = g.trace.lanes[300];
          g.timeline.reveal(lane, g.theme);
          const r = g.timeline.rowOf[lane.index];
          return [lane.gid, g.view.gutter + g.view.width - 2, g.timeline.rowY(r, g.theme) + g.theme.row / 2];
        })()"""
    )
    page.wait_for_timeout(50)  # one frame for the scroll
    page.mouse.click(x, y + page.locator("#timeline").bounding_box()["y"])
    expect(page.locator("#details h3")).to_contain_text(f"gt{gid}")
    expect(page.locator("#details")).to_contain_text(f"io_read 10.0.{gid % 3}.1:80 at app.py:{gid} in handler")

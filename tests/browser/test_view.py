"""The timeline as a user moves around it: what a session opens on, lanes that hold still, the sort,
a pool's waiters, keys and focus, and a selection that stays readable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from runtime.trace.events import BLOCK, RESOURCE, SPAWN
from runtime.trace.states import WAITING, intervals
from tests.support.dashboard import Server
from tests.support.pages import close_menu, in_menu, load, show

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "timeline"


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    folder = tmp_path_factory.mktemp("view")
    for name, args in (("shapes", ["0.05"]), ("many_wakes", ["600"])):
        out[name] = folder / f"{name}.gsc"
        cmd = [sys.executable, "-m", "visualizer", "record", "-o", str(out[name]), str(EXAMPLES / f"{name}.py"), *args]
        subprocess.run(cmd, check=True, capture_output=True)
    return out


def rows(page: Page) -> list[int]:
    """The rows as drawn now: lane gids, -1 the hub, other negatives headers."""
    page.evaluate("greenscope.drawNow()")
    return page.evaluate(
        "(() => { const t = greenscope.timeline; return Array.from(t.rows.slice(0, t.nrows), "
        "r => r >= 0 ? greenscope.trace.lanes[r].gid : r); })()"
    )


def row_box(page: Page, index: int) -> tuple[float, float]:
    """Page coordinates of the middle of row `index`, in the plot."""
    y = page.evaluate(f"greenscope.timeline.rowY({index}, greenscope.theme) + greenscope.theme.row / 2")
    box = page.locator("#timeline").bounding_box()
    return box["x"] + box["width"] * 0.7, box["y"] + y


def test_an_empty_page_says_what_to_do(browser: Browser, tmp_path: Path):
    server = Server(log=tmp_path / "serve.log")  # a dashboard with no session at all
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        page.goto(server.base)
        page.wait_for_function("window.greenscope && greenscope.page.opened")
        expect(page.locator("#empty")).to_be_visible()
        expect(page.locator("#empty")).to_contain_text("launch a workload", ignore_case=True)
        expect(page.locator("#empty")).to_contain_text("load a recording")
        page.click("#empty-launch")
        expect(page.locator("#launcher")).to_be_visible()
        expect(page.locator("#launch-workload")).to_have_value("crawler")  # every talk starts with it
    finally:
        context.close()
        server.close()


def test_a_recording_opens_fitted_to_its_whole_run(page: Page, recordings: dict[str, Path]):
    load(page, recordings["shapes"])
    page.evaluate("greenscope.drawNow()")
    view = page.evaluate("[greenscope.view.t0, greenscope.view.t1, greenscope.trace.now, greenscope.viewport.follow]")
    assert view[0] == 0 and view[1] == pytest.approx(view[2]) and view[3] is False
    sid = page.evaluate("greenscope.page.session.id")
    page.goto(f"{page.url.split('?')[0]}?session={sid}")  # opened by its URL: the same
    page.wait_for_function("greenscope.trace && greenscope.trace.events > 0 && !greenscope.viewport.fitPending")
    page.evaluate("greenscope.drawNow()")
    again = page.evaluate("[greenscope.view.t0, greenscope.view.t1, greenscope.trace.now]")
    assert again[0] == 0 and again[1] == pytest.approx(again[2])


def test_the_sorts_order_lanes_as_the_events_say(page: Page, recordings: dict[str, Path]):
    events = load(page, recordings["shapes"])
    page.keyboard.press("h")  # every lane, ended or not
    until = page.evaluate("greenscope.viewport.until()")
    base = events[0][1]
    names = {e[2]: e[4] for e in events if e[0] == SPAWN}
    ivs = intervals(events)
    blocked = {
        gid: sum(iv.end - iv.start for iv in lane if iv.state in WAITING and iv.start - base <= until)
        for gid, lane in ivs.items()
    }

    def group_of_main(order: list[int]) -> list[int]:
        end = next((i for i, r in enumerate(order) if i > 1 and r < -1), len(order))
        return [r for r in order[2:end] if r > 0]  # the hub, the first group's header, its lanes

    creation = group_of_main(rows(page))
    in_menu(page)
    page.select_option("#sort", "blocked")
    by_blocked = group_of_main(rows(page))
    assert sorted(creation) == sorted(by_blocked)
    assert [blocked[g] for g in by_blocked] == sorted((blocked[g] for g in by_blocked), reverse=True)
    page.select_option("#sort", "function")
    by_function = group_of_main(rows(page))
    functions = [names.get(g, "main") for g in by_function]
    assert functions == sorted(functions, key=str.lower)
    page.keyboard.press("s")  # the key cycles the sorts: back to creation
    assert page.evaluate("document.getElementById('sort').value") == "creation"
    assert group_of_main(rows(page)) == creation


def test_a_pool_lists_the_greenthreads_waiting_for_its_slots(page: Page, recordings: dict[str, Path]):
    events = load(page, recordings["shapes"])
    page.keyboard.press("h")
    pool = next(e[2] for e in events if e[0] == RESOURCE and e[4] == "one slot")
    waiters = {e[2] for e in events if e[0] == BLOCK and e[3] == "pool_slot" and e[4] == pool}
    members = {e[2] for e in events if e[0] == SPAWN and e[6] == pool}
    assert waiters and members and not waiters & members
    in_menu(page)
    page.select_option("#filter-pool", str(pool))
    shown = [r for r in rows(page) if r > 0]
    assert set(shown) == waiters | members  # its members, and the spawner that waited for a slot
    labels = page.evaluate(
        "(() => { const t = greenscope.timeline; return Array.from(t.rows.slice(0, t.nrows)).filter(r => r <= -2)"
        ".map(r => t.header(r)).map(h => (h.waiters ? 'waiting for ' : '') + h.group.label); })()"
    )
    assert "waiting for one slot" in labels


def test_rows_hold_still_under_the_pointer_and_a_click_selects_what_was_hovered(page: Page, server: Server):
    page.goto(server.base)
    page.click("#btn-launch")
    page.select_option("#launch-workload", "saturation")
    page.fill("#launch-form [name=size]", "3")
    page.fill("#launch-form [name=rate]", "150")
    page.fill("#launch-form [name=duration]", "6")
    page.click("#launch-submit")
    page.wait_for_function("greenscope.trace && greenscope.trace.lanes.length > 60")
    page.select_option("#filter-state", str(page.evaluate("greenscope.model.states.indexOf('pool')")))
    in_menu(page)
    page.select_option("#sort", "blocked")  # both move lanes as time passes
    close_menu(page)
    page.wait_for_function("greenscope.timeline.nrows > 8")
    x, y = row_box(page, 5)
    page.mouse.move(x, y)
    held = rows(page)
    page.wait_for_timeout(1600)  # three of the twice-a-second re-sorts
    assert rows(page) == held  # the rows held still under the pointer
    tip = page.locator("#tooltip").inner_text()
    page.mouse.click(x, y)
    gid = page.evaluate("greenscope.timeline.selected && greenscope.timeline.selected.gid")
    assert gid == held[5] and f"gt{gid} " in tip  # the lane under the pointer, the tooltip's
    page.mouse.move(5, 5)  # away: the rows follow the data again
    page.wait_for_function(
        """(held) => { greenscope.drawNow(); const t = greenscope.timeline;
             const now = Array.from(t.rows.slice(0, t.nrows), r => r >= 0 ? greenscope.trace.lanes[r].gid : r);
             return JSON.stringify(now) !== JSON.stringify(held); }""",
        arg=held,
    )


def test_escape_leaves_the_filter_box_and_used_controls_let_go_of_the_keys(page: Page, recordings: dict[str, Path]):
    load(page, recordings["shapes"])
    page.keyboard.press("/")
    page.keyboard.type("burst")
    assert page.evaluate("document.activeElement.id") == "filter-text"
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.id") != "filter-text"
    theme = page.evaluate("document.documentElement.dataset.theme")
    page.keyboard.press("t")  # a shortcut again, not a letter typed into the filter
    assert page.evaluate("document.documentElement.dataset.theme") != theme
    assert page.input_value("#filter-text") == "burst"
    # the seek slider, then a key
    page.click("#btn-play")
    page.click("#btn-play")
    page.locator("#replay-seek").fill("300")
    page.dispatch_event("#replay-seek", "change")
    page.keyboard.press("0")
    assert page.evaluate("greenscope.view.t0") == 0
    # a button, then space: pauses the view (not a second press of the button)
    page.click("#btn-zoom-in")
    page.keyboard.press("Space")
    assert page.evaluate("greenscope.viewport.paused")


def test_a_lane_woken_hundreds_of_times_keeps_the_view_readable(page: Page, recordings: dict[str, Path]):
    events = load(page, recordings["many_wakes"])
    page.keyboard.press("h")
    consumer = next(e[2] for e in events if e[0] == SPAWN and e[4] == "consumer")
    page.evaluate(
        f"""(() => {{ const g = greenscope, lane = g.trace.byGid.get({consumer});
            g.timeline.selected = lane; g.timeline.reveal(lane, g.theme); }})()"""
    )
    assert page.evaluate(f"greenscope.trace.byGid.get({consumer}).wakeTs.n") >= 500

    def covered() -> float:
        """The share of the overlay's plot area the selection drew on."""
        return page.evaluate(
            """(() => { const g = greenscope; g.drawNow(); const c = document.getElementById('overlay');
              const v = g.view, top = g.timeline.axis;
              const d = c.getContext('2d').getImageData(v.gutter, top, v.width, c.height - top).data;
              let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
              return n / (d.length / 4); })()"""
        )

    assert covered() < 0.15  # not a wall of full-height lines
    arrows = page.evaluate("greenscope.timeline.arrows")
    assert 0 < arrows <= 120
    until = page.evaluate("greenscope.viewport.until()")
    show(page, until * 0.5, until * 0.52)  # zoomed in: only the wakes in view, each one drawn
    in_view = page.evaluate(
        f"""(() => {{ const l = greenscope.trace.byGid.get({consumer}), v = greenscope.view;
              let n = 0; for (let i = 0; i < l.wakeTs.n; i++) if (l.wakeTs.a[i] >= v.t0 && l.wakeTs.a[i] <= v.t1) n++;
              return n; }})()"""
    )
    covered()
    assert 0 < page.evaluate("greenscope.timeline.arrows") <= in_view

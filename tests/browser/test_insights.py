"""The Insights, Tasks and Resources tabs and range selection, on real workloads: the page shows what the
analysis (runtime/trace/analysis/) says, and a click on a finding takes you to its culprit."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from runtime.trace.analysis import analyse
from runtime.trace.codec import read_recording
from tests.support.dashboard import Server

WORKLOADS = Path(__file__).resolve().parents[2] / "visualizer" / "workloads"


def ended(page: Page, server: Server, workload: str, **params: object) -> str:
    """Launch `workload`, open it, wait until it ended and the page has all its events; its session id."""
    sid = server.launch(workload, **params)["id"]
    page.goto(f"{server.base}?session={sid}")
    try:
        page.wait_for_function(
            "greenscope.page.session && greenscope.page.session.state === 'ended' &&"
            " greenscope.trace && greenscope.trace.events >= greenscope.page.session.events",
            timeout=40_000,  # under the test's own timeout: what was seen is said
        )
    except PlaywrightTimeout:
        seen = page.evaluate("({session: greenscope.page.session, events: greenscope.trace?.events})")
        said = server.get(f"api/sessions/{sid}").json()
        raise AssertionError(f"the page saw {seen}; the server says {said}") from None
    return sid


def test_a_saturated_pool_is_named_and_its_longest_waiter_selected(page: Page, server: Server):
    sid = ended(page, server, "saturation", size=2, rate=100, duration=1.5)
    page.keyboard.press("i")
    finding = page.locator("#findings .finding[data-kind=pool]").first
    expect(finding).to_contain_text("pool `servers` was full")
    report = server.get(f"api/sessions/{sid}/analysis").json()
    longest = next(p for p in report["pools"] if p["name"] == "servers")["longest_wait"]
    finding.click()
    page.wait_for_function(f"greenscope.timeline.selected && greenscope.timeline.selected.gid === {longest['gid']}")
    at = longest["at"]  # ns since the session's origin, as the page counts
    view = page.evaluate("[greenscope.view.t0, greenscope.view.t1]")
    assert view[0] <= at <= view[1]  # the moment it began to wait is in view


def test_a_greenthread_that_blocks_the_hub_is_found(page: Page, server: Server):
    ended(page, server, "blocker", stalls=2, block=0.1, every=0.05)
    page.keyboard.press("i")
    expect(page.locator("#findings .finding[data-kind=stall]")).to_contain_text("`blocker` held the hub 2 times")


def test_the_tasks_table_sorts_as_the_server_does(page: Page, server: Server):
    sid = ended(page, server, "pipeline", items=100, produce=0.002, work=0.004)
    page.keyboard.press("i")
    page.click("#side-tabs [data-tab=tasks]")
    expect(page.locator("#tasks-table tr[data-gid]").first).to_be_visible()
    page.click("#tasks-table button.sort[data-sort=wakes]")
    expect(page.locator("#tasks-table button.sort[data-sort=wakes]")).to_have_attribute("aria-pressed", "true")
    want = [t["gid"] for t in server.get(f"api/sessions/{sid}/analysis?tasks=200&sort=wakes").json()["tasks"]]
    shown = page.eval_on_selector_all("#tasks-table tr[data-gid]", "rows => rows.map(r => Number(r.dataset.gid))")
    assert shown == want
    wakes = page.eval_on_selector_all("#tasks-table tr[data-gid] td:nth-child(8)", "tds => tds.map(c => c.textContent)")
    counts = [int(w.replace("\u2009", "")) for w in wakes]
    assert counts == sorted(counts, reverse=True) and counts[0] > 0


def test_a_selected_range_shows_the_analysis_totals_for_it(page: Page, server: Server):
    sid = ended(page, server, "pipeline", items=100, produce=0.002, work=0.004)
    page.keyboard.press("0")
    box = page.locator("#timeline").bounding_box()
    gutter = page.evaluate("greenscope.view.gutter")
    x0, x1, y = box["x"] + gutter + 100, box["x"] + gutter + 400, box["y"] + 60
    page.keyboard.down("Shift")
    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move(x1, y, steps=8)
    page.mouse.up()
    page.keyboard.up("Shift")
    expect(page.locator("#range-states")).to_be_visible()
    t0, t1 = page.evaluate("[greenscope.timeline.range.t0, greenscope.timeline.range.t1]")
    origin = int(server.get(f"api/sessions/{sid}").json()["origin"])
    events = read_recording(server.get(f"api/sessions/{sid}/recording").content)[1]
    want = analyse(events, round(t0) + origin, round(t1) + origin)
    shown = page.eval_on_selector_all(
        "#range-states tr[data-state]", "rows => rows.map(r => [r.dataset.state, Number(r.cells[1].dataset.ns)])"
    )
    assert shown and dict(shown) == {s: ns for s, ns in want["states"].items() if ns}
    funcs = page.eval_on_selector_all(
        "#range-functions tr[data-func]", "rows => rows.map(r => [r.dataset.func, Number(r.cells[2].dataset.ns)])"
    )
    assert dict(funcs) == {f["func"]: f["states"]["running"] for f in want["functions"]}


def line_of(path: Path, text: str) -> int:
    """The number of the first line of `path` holding `text`."""
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_a_stall_names_the_line_that_blocks_and_shows_its_stack(page: Page, server: Server):
    ended(page, server, "blocker", stalls=2, block=0.1, every=0.05)
    line = line_of(WORKLOADS / "blocker.py", "time.sleep(args.block)")
    page.keyboard.press("i")
    # the blocker's (on a loaded machine the main greenthread may hold the hub past the threshold too: a finding of
    # its own, beside this one)
    finding = page.locator("#findings .finding[data-kind=stall]").filter(has_text="`blocker` held the hub")
    expect(finding).to_contain_text(f", in blocker.py:{line} in blocker")  # from the program's directory
    expect(finding).to_contain_text("timers fired up to")
    finding.click()
    expect(page.locator("#side-tabs [data-tab=details]")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#detail-stalls")).to_contain_text(f"blocker.py:{line} in blocker")


def test_the_tooltip_says_where_a_greenthread_waits(page: Page, server: Server):
    ended(page, server, "pipeline", items=100, produce=0.002, work=0.004)
    line = line_of(WORKLOADS / "pipeline.py", "jobs.get()")
    page.keyboard.press("h")
    page.keyboard.press("0")
    # a consumer's longest wait on the queue: hover its middle
    x, y = page.evaluate(
        """(() => { const g = greenscope, tr = g.trace, q = g.model.states.indexOf('queue');
             let best = null;
             for (const l of tr.lanes) {
               if (l.func !== 'consumer' || g.timeline.rowOf[l.index] < 0) continue;
               for (let i = 0; i < l.ts.n; i++) {
                 const d = tr.endOf(l, i) - l.ts.a[i];
                 if (l.st.a[i] === q && (!best || d > best.d)) best = { l, i, d };
               }
             }
             const t = best.l.ts.a[best.i] + best.d / 2;
             g.view.t0 = Math.max(0, t - best.d); g.view.t1 = t + best.d; g.viewport.setFollow(false); g.drawNow();
             const r = g.timeline.rowOf[best.l.index];
             return [g.view.x(t), g.timeline.rowY(r, g.theme) + g.theme.row / 2]; })()"""
    )
    box = page.locator("#timeline").bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    expect(page.locator("#tooltip")).to_contain_text(f"queue_get jobs at pipeline.py:{line} in consumer")

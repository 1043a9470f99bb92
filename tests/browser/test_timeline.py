"""The timeline page in a real Chromium against a real dashboard and real workloads."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from runtime.trace.codec import read_recording
from runtime.trace.states import intervals
from tests.support.dashboard import Server
from tests.support.pages import in_menu

ROOT = Path(__file__).resolve().parents[2]


def launch(page: Page, workload: str, **params: object) -> str:
    """Fill the launcher's form for `workload` and launch it; returns the new session's id."""
    page.click("#btn-launch")
    page.select_option("#launch-workload", workload)
    for name, value in params.items():
        page.fill(f"#launch-form [name={name}]", str(value))
    before = page.evaluate("greenscope.page.session && greenscope.page.session.id")
    page.click("#launch-submit")
    page.wait_for_function(f"greenscope.page.session && greenscope.page.session.id !== {json.dumps(before)}")
    sid = page.evaluate("greenscope.page.session.id")
    assert page.url.endswith(f"?session={sid}")
    return sid


def timeline(page: Page) -> dict:
    """What the timeline shows now, once the frames in flight are drawn: t0, t1, lanes, events, rows."""
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    data = page.eval_on_selector("#timeline", "c => ({...c.dataset})")
    return {k: float(v) for k, v in data.items()}


def wait_for(page: Page, js: str, timeout: float = 20_000) -> object:
    return page.wait_for_function(js, timeout=timeout).json_value()


def test_launch_the_crawler_and_watch_lanes_grow_live(page: Page, tmp_path: Path):
    launch(page, "crawler", pages=400, size=10, delay=0.02)
    wait_for(page, "document.querySelector('#timeline').dataset.lanes > 5")
    before = timeline(page)
    wait_for(page, f"document.querySelector('#timeline').dataset.lanes > {before['lanes'] + 20}")
    after = timeline(page)
    assert after["events"] > before["events"]
    # a live session is shown from its start until it outgrows the view: nothing in negative time
    assert before["t0"] == after["t0"] == 0
    assert page.evaluate("greenscope.viewport.until() <= greenscope.view.t1 && greenscope.viewport.follow")
    expect(page.locator("#session-state")).to_have_text("running")
    page.screenshot(path=tmp_path / "crawler.png")


def test_an_undersized_pool_shows_saturation(page: Page):
    launch(page, "saturation", size=2, rate=200, duration=5)
    # the pool's gauge: running pinned at its size while spawners wait, shaded
    found = wait_for(
        page,
        """(() => {
          const tr = greenscope.trace;
          for (const r of tr.resources.values()) {
            if (r.type !== 'pool') continue;
            const s = r.series, n = s.ts.n;
            for (let i = 0; i < n; i++)
              if (s.cols[1].a[i] >= s.cols[0].a[i] && s.cols[2].a[i] > 0) return r.name;
          }
          return false;
        })()""",
    )
    assert found == "servers"
    wait_for(page, "greenscope.gauges.saturated() > 0")
    # hovering the pool's strip (in the gutter: its values now) shows them in the strip's tooltip
    row = page.evaluate("greenscope.gauges.strips.findIndex(s => s.kind === 'pool')")
    box = page.locator("#gauges").bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + (row + 0.5) * page.evaluate("greenscope.gauges.theme.gauge"))
    title = page.locator("#gauges").get_attribute("title")
    assert title.startswith("pool servers now") and "running 2 of 2" in title and "saturated" in title, title


def test_clicking_a_lane_shows_its_spawn_site(page: Page):
    launch(page, "crawler", pages=100, size=5, delay=0.02)
    wait_for(page, "greenscope.trace && greenscope.trace.lanes.some(l => l.site && l.pool !== null)")
    page.click("#btn-pause")
    gid, x, y = page.evaluate(
        """(() => {
          const g = greenscope, shown = (l) => g.timeline.rowOf[l.index] >= 0;
          const lane = g.trace.lanes.find(l => l.site && l.pool !== null && shown(l));
          g.timeline.reveal(lane, g.theme);
          const r = g.timeline.rowOf[lane.index];
          return [lane.gid, g.view.gutter + g.view.width / 2, g.timeline.rowY(r, g.theme) + g.theme.row / 2];
        })()"""
    )
    page.wait_for_timeout(50)  # one frame for the scroll
    page.mouse.click(x, y + page.locator("#timeline").bounding_box()["y"])
    expect(page.locator("#details")).to_be_visible()
    expect(page.locator("#details h3")).to_contain_text(f"gt{gid}")
    expect(page.locator("#detail-site")).to_contain_text("crawler.py:")
    assert not page.locator("#detail-site").inner_text().startswith("/")  # from the program's directory
    page.mouse.move(x + 5, y + page.locator("#timeline").bounding_box()["y"])  # hover: a tooltip
    expect(page.locator("#tooltip")).to_be_visible()
    expect(page.locator("#tooltip")).to_contain_text(f"gt{gid} fetch")
    page.mouse.move(20, y + page.locator("#timeline").bounding_box()["y"])  # over its label: where it was spawned
    expect(page.locator("#tooltip")).to_contain_text("crawler.py:")
    assert "/" not in page.locator("#tooltip").inner_text().split("\n")[1]  # from the program's directory


def rows(page: Page) -> list[int]:
    """The timeline's rows as drawn now: lane gids, -1 the hub, other negatives headers."""
    page.evaluate("greenscope.drawNow()")
    return page.evaluate(
        "(() => { const t = greenscope.timeline; return Array.from(t.rows.slice(0, t.nrows), "
        "r => r >= 0 ? greenscope.trace.lanes[r].gid : r); })()"
    )


def test_pause_freezes_the_view_and_its_lanes_while_events_keep_arriving(page: Page):
    launch(page, "saturation", duration=5, rate=100)
    wait_for(page, "document.querySelector('#timeline').dataset.events > 200")
    page.click("#btn-pause")
    frozen, frozen_rows = timeline(page), rows(page)
    until = page.evaluate("greenscope.viewport.until()")
    lanes = page.evaluate("greenscope.trace.lanes.length")
    wait_for(page, f"greenscope.trace.lanes.length > {lanes + 20}")  # new greenthreads came meanwhile
    now = timeline(page)
    assert (now["t0"], now["t1"]) == (frozen["t0"], frozen["t1"])
    assert rows(page) == frozen_rows  # no row appeared or moved
    page.keyboard.press("Space")  # resume (the button clicked let go of the focus): following again
    wait_for(page, f"greenscope.viewport.until() > {until} && greenscope.viewport.follow")
    assert len(rows(page)) > len(frozen_rows)


def test_zoom_and_pan_change_the_visible_range(page: Page):
    launch(page, "pipeline", items=200, produce=0.002, work=0.004)
    wait_for(page, "greenscope.page.session.state === 'ended' && greenscope.trace.events > 100")
    page.click("#btn-fit")
    fit = timeline(page)
    box = page.locator("#timeline").bounding_box()
    cx, cy = box["x"] + box["width"] * 0.6, box["y"] + 80
    page.mouse.move(cx, cy)
    page.mouse.wheel(0, -600)  # zoom in around the pointer
    span = "document.querySelector('#timeline').dataset.t1 - document.querySelector('#timeline').dataset.t0"
    wait_for(page, f"{span} < {(fit['t1'] - fit['t0']) / 2}")

    zoomed = timeline(page)
    assert zoomed["t0"] > fit["t0"]
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx - 200, cy, steps=5)  # drag left: later times come into view
    page.mouse.up()
    panned = timeline(page)
    assert panned["t0"] > zoomed["t0"]
    assert panned["t1"] - panned["t0"] == pytest.approx(zoomed["t1"] - zoomed["t0"], rel=1e-6)
    page.keyboard.press("0")  # zoom to fit
    wait_for(page, "document.querySelector('#timeline').dataset.t0 == 0")


def record(tmp_path: Path) -> Path:
    """A recording of a small program with a pool, a queue and a crash, by `greenscope record`."""
    prog = tmp_path / "prog.py"
    prog.write_text(
        textwrap.dedent(
            """
            import runtime as eventlet
            q = eventlet.Queue(2)
            def worker(n):
                for i in range(5):
                    q.put(i)
                    eventlet.sleep(0.01)
                if n == 3:
                    raise ValueError("worker 3 fails")
            def consume():
                for _ in range(30):
                    q.get()
            consumer = eventlet.spawn(consume)
            pool = eventlet.GreenPool(3)
            for n in range(6):
                pool.spawn(worker, n)
            pool.waitall()
            consumer.wait()
            """
        )
    )
    out = tmp_path / "trace.gsc"
    subprocess.run([sys.executable, "-m", "visualizer", "record", "-o", str(out), str(prog)], check=True, cwd=tmp_path)
    return out


def test_a_recording_loads_replays_and_shows_the_same_intervals_as_python(page: Page, tmp_path: Path):
    path = record(tmp_path)
    page.set_input_files("#file-input", str(path))
    wait_for(page, "greenscope.page.session && greenscope.page.session.source === 'recording'")
    _, events = read_recording(path.read_bytes())[:2]
    wait_for(page, f"greenscope.trace.events >= {len(events)}")
    # the browser's intervals are the Python model's (runtime/trace/states.py), state by state
    py = {
        gid: normalise([(iv.start, iv.end, python_state(iv.state, iv.detail)) for iv in ivs])
        for gid, ivs in intervals(events).items()
    }
    js = page.evaluate(
        """(base) => Object.fromEntries(greenscope.trace.lanes.map(l =>
             [l.gid, greenscope.trace.intervals(l).map(([s, e, st]) => [s + base, e + base, st])]))""",
        events[0][1],
    )
    assert {int(gid): normalise([tuple(iv) for iv in ivs]) for gid, ivs in js.items()} == py
    expect(page.locator("#btn-play")).to_be_enabled()
    page.select_option("#replay-speed", "0.1")  # ~100 ms of program: a second of replay
    page.click("#btn-play")
    first = page.evaluate("greenscope.viewport.replay.t")
    wait_for(page, f"greenscope.viewport.replay.t > {first}")
    assert page.evaluate("greenscope.viewport.replay.playing")
    page.click("#btn-play")  # pause the replay, then seek to the middle
    page.fill("#replay-seek", "500")
    page.dispatch_event("#replay-seek", "input")
    assert page.evaluate("greenscope.viewport.replay.t / greenscope.trace.end") == pytest.approx(0.5, abs=0.01)


def test_a_dropped_recording_loads_and_a_bad_one_is_refused(page: Page, tmp_path: Path):
    path = record(tmp_path)
    drop = """async ([name, bytes]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(bytes)], name));
        document.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
    }"""
    page.expected_errors.append("status of 400 (BAD REQUEST) (http://127.0.0.1:")
    page.evaluate(drop, ["junk.gsc", list(b"not a recording at all")])
    expect(page.locator("#status")).to_contain_text("not a readable recording")
    expect(page.locator("#status")).to_have_class("error")
    page.evaluate(drop, [path.name, list(path.read_bytes())])
    wait_for(page, "greenscope.page.session && greenscope.page.session.source === 'recording'")
    wait_for(page, "greenscope.trace.marks.length > 0")  # worker 3's ValueError, marked on its lane


def test_bad_parameters_show_an_error_next_to_the_field(page: Page, server: Server):
    sessions = len(server.get("api/sessions").json())
    page.expected_errors.append("status of 400 (BAD REQUEST) (http://127.0.0.1:")  # the server's refusal
    page.click("#btn-launch")
    page.select_option("#launch-workload", "crawler")
    page.fill("#launch-form [name=size]", "0")  # below its minimum: refused before any request
    page.click("#launch-submit")
    expect(page.locator("[data-error-for=size]")).not_to_be_empty()
    page.fill("#launch-form [name=size]", "5")
    page.fill("#launch-form [name=target]", "http://example.com/")  # only the server knows: not allowed
    page.click("#launch-submit")
    expect(page.locator("[data-error-for=target]")).to_contain_text("external")
    assert len(server.get("api/sessions").json()) == sessions


def python_state(state: str, detail: str | None) -> str:
    """states.py's (state, detail) as the browser's state names."""
    if state != "blocked":
        return state
    return {
        "io_read": "io",
        "io_write": "io",
        "queue_get": "queue",
        "queue_put": "queue",
        "pool_slot": "pool",
        "sleep": "sleep",
    }.get(detail, "sync")


def normalise(ivs: list[tuple]) -> list[tuple]:
    """Intervals with zero-length ones dropped and neighbours in the same state merged."""
    out: list[list] = []
    for start, end, state in ivs:
        if end <= start:
            continue
        if out and out[-1][2] == state and out[-1][1] == start:
            out[-1][1] = end
        else:
            out.append([start, end, state])
    return [tuple(iv) for iv in out]


def test_downloads_help_themes_and_filters(page: Page, server: Server):
    sid = launch(page, "pipeline", items=50, produce=0.002, work=0.004)
    wait_for(page, "greenscope.page.session.state === 'ended'")
    total = server.get(f"api/sessions/{sid}").json()["events"]
    wait_for(page, f"greenscope.trace.events === {total}")
    in_menu(page)
    with page.expect_download() as rec:
        page.click("#dl-recording")
    process, events, complete = read_recording(Path(rec.value.path()).read_bytes())
    assert complete and process["pid"] and len(events) == page.evaluate("greenscope.trace.events")
    with page.expect_download() as chrome:
        page.click("#dl-chrome")
    assert rec.value.suggested_filename == f"session-{sid}.gsc"
    assert json.loads(Path(chrome.value.path()).read_text())["traceEvents"]
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    expect(page.locator("#help-keys")).to_contain_text("zoom to fit")
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()
    theme = page.evaluate("document.documentElement.dataset.theme")
    page.keyboard.press("t")
    expect(page.locator("html")).not_to_have_attribute("data-theme", theme)
    page.keyboard.press("p")
    expect(page.locator("html")).to_have_attribute("data-projector", "")
    page.keyboard.press("0")
    rows = timeline(page)["rows"]
    page.fill("#filter-text", "consumer")  # the pipeline's consumers only
    filtered = timeline(page)["rows"]
    names = page.evaluate(
        "Array.from(greenscope.timeline.rows.slice(0, greenscope.timeline.nrows)).filter(r => r >= 0)"
        ".map(r => greenscope.trace.lanes[r].func)"
    )
    assert names and all("consumer" in n for n in names) and filtered < rows


def test_a_server_with_a_token_works_from_the_url_it_prints(browser, token_server: Server):
    context = browser.new_context()
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(token_server.base)  # no token: refused
        assert "token" in page.content()
        page.goto(token_server.url)  # the URL `serve` printed, token and all
        assert "token" not in page.url  # not left on show (a projector)
        sid = launch(page, "pipeline", items=20)
        wait_for(page, "greenscope.trace.events > 0")
        in_menu(page)
        with page.expect_download() as rec:
            page.click("#dl-recording")
        assert rec.value.suggested_filename == f"session-{sid}.gsc"
        assert errors == []
    finally:
        context.close()


def test_the_legend_tells_the_red_marks_apart(page: Page):
    """Red marks mean four things (an error, events lost, a late timer, a stall): the legend names each and
    where it is drawn (the late timers' ticks on the hub's lane once read as lost events)."""
    legend = page.locator("#legend")
    for label in (
        "error / kill",
        "events lost here (on the time axis)",
        "a timer fired ≥ 1 ms late (on the hub's lane)",
        "a stall: one greenthread held the hub",
    ):
        expect(legend).to_contain_text(label)

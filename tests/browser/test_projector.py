"""The page on a projector: what fits at 1024x768, 1280x720 and 1920x1080, contrast, the presenter's URL."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.dashboard import Server

SIZES = [(1024, 768), (1280, 720), (1920, 1080)]
ALWAYS_THERE = [  # the controls a speaker needs: never wrapped away nor cut off
    "#btn-launch", "#btn-stop", "#btn-insights", "#menu > summary", "#btn-help",
    "#btn-follow", "#btn-pause", "#btn-zoom-out", "#btn-zoom-in", "#btn-fit", "#btn-play",
]  # fmt: skip

# WCAG's contrast ratio of every piece of text on the page against what is behind it (inactive controls and
# the placeholder aside, as WCAG does), and of the colours the canvas draws its text in.
CONTRASTS = """() => {
  const lum = (css) => {
    const [r, g, b] = css.match(/[\\d.]+/g).slice(0, 3).map(Number).map((c) => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const opaque = (css) => !/rgba\\(.*,\\s*0\\)$/.test(css) && css !== "transparent";
  const behind = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const bg = getComputedStyle(e).backgroundColor;
      if (opaque(bg)) return bg;
    }
    return getComputedStyle(document.body).backgroundColor;
  };
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const text = [...el.childNodes].filter((n) => n.nodeType === 3 && n.textContent.trim()).map((n) => n.textContent);
    if (!text.length || !el.getClientRects().length || el.closest("canvas, [hidden], dialog:not([open])")) continue;
    if (el.closest(":disabled, [aria-disabled=true], #menu:not([open]) .menu-body")) continue;
    const s = getComputedStyle(el);
    if (s.visibility === "hidden" || Number(s.opacity) < 1) continue;
    out.push({ text: text.join(" ").slice(0, 40), ratio: ratio(s.color, behind(el)) });
  }
  const th = greenscope.theme;
  const canvas = document.createElement("canvas").getContext("2d");
  const rgb = (c) => {
    canvas.fillStyle = c;
    canvas.fillRect(0, 0, 1, 1);
    const d = canvas.getImageData(0, 0, 1, 1).data;
    return `rgb(${d[0]}, ${d[1]}, ${d[2]})`;
  };
  const drawn = [["lane label", th.fg, th.bg], ["axis", th.dim, th.panel], ["group", th.dim, th.panel]];
  for (const [what, fg, bg] of drawn) {
    out.push({ text: `canvas: ${what}`, ratio: ratio(rgb(fg), rgb(bg)) });
  }
  return out;
}"""


@pytest.fixture(scope="module")
def crawler(server: Server) -> str:
    """A crawler session with lanes to show (the launch's id)."""
    return server.launch("crawler", pages=300, size=8, delay=0.05)["id"]


@pytest.fixture(params=SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def projector(request: pytest.FixtureRequest, browser: Browser, server: Server, crawler: str) -> Iterator[Page]:
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.add_init_script("localStorage.setItem('greenscope.projector', '1')")
    page.goto(f"{server.base}?session={crawler}")
    page.wait_for_function("greenscope.trace && greenscope.trace.lanes.length > 20")
    page.evaluate("greenscope.drawNow()")
    yield page
    context.close()


def test_two_rows_of_controls_every_one_in_view(projector: Page):
    width, height = projector.viewport_size["width"], projector.viewport_size["height"]
    for bar in ("#bar", "#tools"):
        row = projector.locator(f"{bar} #btn-help, {bar} #btn-follow").first.bounding_box()
        assert projector.locator(bar).bounding_box()["height"] <= row["height"] * 1.6  # one row each
    for selector in ALWAYS_THERE:
        box = projector.locator(selector).bounding_box()
        assert box and 0 <= box["x"] and box["x"] + box["width"] <= width, selector
        assert box["y"] + box["height"] <= height, selector


def test_the_view_range_is_in_view_with_its_times_whole(projector: Page):
    """Once: at 1280x720 the range ("2.42 s \N{EN DASH}") was cut off, at 1024x768 it was past the right edge; the
    filters give up their room first, and the times come before the counts (an ellipsis may take those; the title
    has all).
    The times of a minute into a session (32.4 s to 42.4 s) are the widest a talk sees."""
    projector.evaluate("greenscope.viewport.setFollow(false); greenscope.viewport.setRange(32.4e9, 42.4e9)")
    projector.evaluate("greenscope.drawNow()")
    box, shown, need, text, title = projector.evaluate(
        """(() => { const el = document.getElementById('view-range'), b = el.getBoundingClientRect();
             const ctx = document.createElement('canvas').getContext('2d');
             ctx.font = getComputedStyle(el).font;
             const times = el.textContent.split(' · ')[0];
             return [[b.x, b.width], el.clientWidth, ctx.measureText(times).width, el.textContent, el.title];
           })()"""
    )
    assert " \N{EN DASH} " in text and title == text
    assert 0 <= box[0] and box[0] + box[1] <= projector.viewport_size["width"], box
    assert shown >= need, (shown, need, text)


def test_at_least_twelve_lanes_are_in_view(projector: Page):
    lanes = projector.evaluate(
        """(() => { const t = greenscope.timeline, th = greenscope.theme, last = t.scrollRow + t.visibleRows(th);
             let n = 0; for (let r = t.scrollRow; r < Math.min(last, t.nrows); r++) if (t.rows[r] >= 0) n++;
             return n; })()"""
    )
    assert lanes >= 12


def test_the_axis_labels_stand_apart_in_large_type(projector: Page):
    """Once: with the side panel open, ticks of 100 ms twenty seconds in ("23200 ms23300 ms") ran into each other."""
    projector.keyboard.press("i")
    projector.evaluate("greenscope.viewport.setFollow(false); greenscope.viewport.setRange(20e9, 20.5e9)")
    spans = projector.evaluate(  # each label's left and right edge, as drawn (3 px right of its tick)
        """(() => { const g = greenscope, ctx = document.getElementById('timeline').getContext('2d');
             g.drawNow(); ctx.font = g.theme.font;
             return g.timeline.axisTicks(ctx).filter(([t]) => g.view.x(t) >= g.view.gutter)
               .map(([t, text]) => [g.view.x(t) + 3, g.view.x(t) + 3 + ctx.measureText(text).width]); })()"""
    )
    assert len(spans) >= 2
    assert all(a[1] + 8 <= b[0] for a, b in itertools.pairwise(spans)), spans


def test_the_launcher_and_its_launch_button_fit(projector: Page):
    projector.keyboard.press("l")
    expect(projector.locator("#launch-submit")).to_be_visible()
    height, width = projector.viewport_size["height"], projector.viewport_size["width"]
    dialog = projector.locator("#launcher").bounding_box()
    button = projector.locator("#launch-submit").bounding_box()
    assert dialog["y"] >= 0 and dialog["y"] + dialog["height"] <= height and dialog["x"] + dialog["width"] <= width
    assert button["y"] + button["height"] <= dialog["y"] + dialog["height"]


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_every_text_has_a_contrast_of_seven_to_one(projector: Page, theme: str):
    if projector.evaluate("document.documentElement.dataset.theme") != theme:
        projector.keyboard.press("t")
    projector.keyboard.press("i")  # the side panel too
    projector.wait_for_timeout(200)
    low = [c for c in projector.evaluate(CONTRASTS) if c["ratio"] < 7]
    assert low == []


def test_the_presenter_url_opens_a_workload_in_projector_mode(browser: Browser, server: Server):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.goto(f"{server.base}?presenter=pipeline")
        page.wait_for_function("greenscope.page.session && greenscope.page.session.workload === 'pipeline'")
        assert page.evaluate("'projector' in document.documentElement.dataset")
        page.wait_for_function("greenscope.trace.events > 0")
        session = page.evaluate("greenscope.page.session")
        assert session["params"]["continuous"] is True and session["state"] == "running"  # until the talk stops it
        assert server.http.delete(f"{server.base}api/sessions/{session['id']}", timeout=10).json()["state"] == "stopped"
    finally:
        context.close()

"""The timeline's pixel oracle: what each pixel column of each lane must show, computed in Python
from `runtime.trace.states.intervals()` — never from the page's own model — and the page's canvas
read back and compared with it.

The rule (static/js/columns.js): column c of a view [t0, t1] over `width` px covers
[t0 + c·w, t0 + (c+1)·w), w = (t1 - t0) / width, and shows the state that held most of that
time (the first in `STATES` order on a tie); columns with none of the lane's time show nothing.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from playwright.sync_api import Page

from runtime.trace.events import HUB_WAIT, HUB_WAKE
from runtime.trace.states import STATES, intervals

HUB_STATES = ("hub-busy", "hub-wait")

# Reads, in one task after a synchronous draw (nothing ingested in between), every lane row in
# view: the colour of the pixel column at the row's middle, and what the view was.
READ = """() => {
  const g = greenscope, tr = g.trace, tl = g.timeline, v = g.view, th = g.theme;
  g.drawNow();
  const canvas = document.getElementById('timeline');
  const dpr = window.devicePixelRatio || 1;
  const img = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const rows = [];
  const last = Math.min(tl.nrows, tl.scrollRow + tl.visibleRows(th));
  for (let r = tl.scrollRow; r < last; r++) {
    const code = tl.rows[r], hub = code < 0 ? tl.header(code).hub : null;
    if (code < 0 && !hub) continue;  // a group's header
    const y = Math.round((tl.rowY(r, th) + Math.floor(th.row / 2)) * dpr);
    const px = [];
    for (let c = 0; c < v.width; c++) {
      const i = (y * canvas.width + Math.round((v.gutter + c) * dpr)) * 4;
      px.push((img[i] << 16) | (img[i + 1] << 8) | img[i + 2]);
    }
    rows.push({ gid: hub ? hub.gid : tr.lanes[code].gid, px });  // hubs are gid 0 and below
  }
  return {
    t0: v.t0, t1: v.t1, width: v.width, until: Math.min(g.viewport.until(), tr.now), base: tr.base,
    events: tr.events, rows,
    colours: { states: th.states, hub: [th.hubBusy, th.hubWait], background: [th.bg, th.line] },
  };
}"""


def rgb(css: str) -> int:
    """A CSS colour as the canvas stores it: '#3fb950' or 'rgb(63, 185, 80)' -> 0x3fb950."""
    css = css.strip()
    if css.startswith("#"):
        h = css[1:]
        if len(h) == 3:
            h = "".join(ch * 2 for ch in h)
        return int(h[:6], 16)
    parts = [int(float(p)) for p in css[css.index("(") + 1 : css.index(")")].split(",")[:3]]
    return (parts[0] << 16) | (parts[1] << 8) | parts[2]


@dataclass
class Snapshot:
    """What the page drew: per gid (0 and below: hubs), the state name each column shows (None: nothing)."""

    t0: float
    t1: float
    width: int
    until: float
    base: int
    events: int
    lanes: dict[int, list[str | None]]


def read(page: Page) -> Snapshot:
    """Draw now and read every lane in view back from the canvas, as state names."""
    got = page.evaluate(READ)
    names: dict[int, str | None] = {rgb(c): None for c in got["colours"]["background"]}
    names.update({rgb(c): s for c, s in zip(got["colours"]["states"], STATES, strict=True)})
    hub = {rgb(c): s for c, s in zip(got["colours"]["hub"], HUB_STATES, strict=True)}
    hub_names = {**dict.fromkeys(names), **hub}
    lanes: dict[int, list[str | None]] = {}
    for row in got["rows"]:
        table = hub_names if row["gid"] <= 0 else names
        unknown = {f"#{p:06x}" for p in row["px"] if p not in table}
        assert not unknown, f"gt{row['gid']}: colours that are no state: {sorted(unknown)[:5]}"
        lanes[row["gid"]] = [table[p] for p in row["px"]]
    return Snapshot(got["t0"], got["t1"], got["width"], got["until"], got["base"], got["events"], lanes)


def hub_intervals(events: list[tuple], hub: int) -> list[tuple[int, int, str]]:
    """Hub `hub`'s lane: busy from the first event, waiting in its poller between its hub_wait and hub_wake."""
    first, last = events[0][1], max(e[1] for e in events)
    marks: list[tuple[int, str]] = [(first, "hub-busy")]
    waiting = False
    for ev in events:
        kind = ev[0]
        if kind not in (HUB_WAIT, HUB_WAKE) or ev[2] != hub:
            continue
        if kind == HUB_WAIT and not waiting:
            waiting = True
            marks.append((max(ev[1], marks[-1][0]), "hub-wait"))
        elif kind == HUB_WAKE and waiting:
            waiting = False
            marks.append((max(ev[1], marks[-1][0]), "hub-busy"))
    ends = [t for t, _ in marks[1:]] + [max(last, marks[-1][0])]
    return [(t, e, s) for (t, s), e in zip(marks, ends, strict=True)]


def columns(ivs: list[tuple[float, float, str]], end: float, t0: float, t1: float, width: int, order: tuple[str, ...]):
    """The state each pixel column must show (the rule above), for back-to-back intervals ``(start, end, state)``
    relative to the page's origin, drawn up to `end`."""
    w = (t1 - t0) / width
    starts = [iv[0] for iv in ivs]
    out: list[str | None] = []
    for c in range(width):
        s0, s1 = max(t0 + c * w, ivs[0][0]), min(t0 + (c + 1) * w, end)
        if not s1 > s0:
            out.append(None)
            continue
        acc = dict.fromkeys(order, 0.0)
        i = max(0, bisect.bisect_right(starts, s0) - 1)
        while i < len(ivs) and ivs[i][0] < s1:
            lo, hi = max(ivs[i][0], s0), min(ivs[i][1], end, s1)
            if hi > lo:
                acc[ivs[i][2]] += hi - lo
            i += 1
        best = order[0]
        for s in order:
            if acc[s] > acc[best]:
                best = s
        out.append(best)
    return out


def oracle(events: list[tuple], snap: Snapshot, midway: bool = False) -> dict[int, list[str | None]]:
    """What each lane of `snap` must show, from the events (those the page holds; `midway`: they start midway
    through the session, as a span of its recording does)."""
    rel = lambda ivs: [(float(s - snap.base), float(e - snap.base), st) for s, e, st in ivs]  # noqa: E731
    per_gid = {gid: [(iv.start, iv.end, iv.state) for iv in ivs] for gid, ivs in intervals(events, midway).items()}
    out = {}
    for gid in snap.lanes:
        ivs, order = (hub_intervals(events, gid), HUB_STATES) if gid <= 0 else (per_gid[gid], STATES)
        out[gid] = columns(rel(ivs), snap.until, snap.t0, snap.t1, snap.width, order)
    return out


def mismatches(drawn: list[str | None], want: list[str | None]) -> list[int]:
    """Columns drawn wrong. A column next to where the oracle's state changes may show its neighbour's
    state (a one-column error at an interval's edge); nothing else may differ."""
    bad = []
    for c, (d, o) in enumerate(zip(drawn, want, strict=True)):
        if d == o:
            continue
        near = {want[k] for k in (c - 1, c + 1) if 0 <= k < len(want) and want[k] != o}
        if d not in near:
            bad.append(c)
    return bad


def describe(drawn: list[str | None], want: list[str | None], bad: list[int]) -> str:
    c = bad[0]
    lo, hi = max(0, c - 3), min(len(want), c + 4)
    return f"{len(bad)} columns wrong, first at {c}: drawn {drawn[lo:hi]} where the events say {want[lo:hi]}"

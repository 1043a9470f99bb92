// The timeline canvas: a time axis, the hub's lane, then one lane per greenthread grouped by pool.
//
// Each lane shows, in each pixel column, the state that held most of that column's time
// (columns.js): a long state is never lost among short ones, and the same data draws the same
// at every zoom. Only the rows in view are drawn (100k lanes cost what 40 do); one Path2D per
// state per frame. The overlay canvas (hover line, selection, wake arrows, the replay cursor)
// is redrawn on its own, so hovering never redraws the lanes.
//
// The rows (rows.js: hubs, groups by pool, lanes in order) hold still: they are rebuilt when lanes
// come or go, the filter, sort or grouping changes — but not while the view is paused or replaying,
// nor while the pointer is over them.

import { columnRuns } from "./columns.js";
import { TICK_GAP, tickLabel, ticks } from "./format.js";
import { HUB_WAITING, lastAtOrBefore } from "./lanes.js";
import { buildRows, headerOf, hubRow } from "./rows.js";
import { model } from "./schema.js";

const ARROWS = 120; // wake arrows drawn at most; past FADE, they fade
const LATE = 1e6; // a timer pass that fired a timer this late (ns) is marked on its hub's lane
const FADE = 30;

export class Timeline {
  constructor(view) {
    this.view = view;
    this.trace = null;
    this.filter = null; // (lane, until) => bool, or null for all
    this.sort = "creation";
    this.hideDone = true; // hide the lanes of greenthreads that ended before the view starts
    this.liveFirst = false; // following a live session: the greenthreads still alive come first in each group
    this.collapsed = new Set(); // group keys folded
    this.held = false; // the pointer is over the rows: they hold still
    this.frozen = false; // paused or replaying: the rows hold still
    this.scrollRow = 0; // first row shown
    this.selected = null; // a Lane
    this.rows = new Int32Array(0);
    this.nrows = 0;
    this.rowOf = new Int32Array(0); // lane index -> its row (-1: hidden)
    this.groups = []; // {key, label, count, waiting}
    this._key = null; // what the rows were built for
    this._stale = true; // an explicit change: rebuild even if held
    this._tick = 0; // bumped twice a second when the rows depend on time (sort or state filter)
    this.axis = 22;
    this.height = 0;
    this.acc = new Float64Array(model.states.length);
    this.arrows = 0; // wake arrows in the last overlay
    this.range = null; // {t0, t1}: the range selected (shift-drag)
  }

  setTrace(trace) {
    this.trace = trace;
    this.selected = null;
    this.scrollRow = 0;
    this.invalidateRows();
  }

  /** Rebuild the rows at the next draw, even if they hold still (the user changed what they show). */
  invalidateRows() {
    this._stale = true;
  }

  /** Time passed: rows that depend on it (a sort by state or time blocked, a state filter) may move. */
  tick(timeDependent) {
    if (timeDependent) this._tick++;
  }

  // ------------------------------------------------------------ rows

  /** Rebuild the row list for the view at `until` if what it depends on changed and the rows may move. */
  updateRows(until) {
    const tr = this.trace;
    const lanes = tr ? tr.lanes : [];
    const ended = this.liveFirst ? tr.stateCounts.now[model.DONE] : 0;
    const key = `${lanes.length} ${this.hideDone ? this.view.t0 : ""} ${this._tick} ${ended}`;
    if (!this._stale && (this.held || this.frozen || key === this._key)) return;
    this._stale = false;
    this._key = key;
    const { groups, rows, nrows, rowOf } = buildRows(tr, until, {
      t0: this.view.t0, filter: this.filter, hideDone: this.hideDone, collapsed: this.collapsed, sort: this.sort,
      liveFirst: this.liveFirst,
    });
    this.groups = groups;
    this.rows = rows;
    this.nrows = nrows;
    this.rowOf = rowOf;
    this.scrollRow = Math.min(this.scrollRow, Math.max(0, nrows - 1));
  }

  /** Rows that fit in the canvas below the axis. */
  visibleRows(theme) {
    return Math.max(1, Math.floor((this.height - this.axis) / theme.row));
  }

  scrollBy(rows, theme) {
    const max = Math.max(0, this.nrows - this.visibleRows(theme));
    this.scrollRow = Math.min(max, Math.max(0, this.scrollRow + rows));
  }

  /** Scroll so that `lane` is in view. */
  reveal(lane, theme) {
    const r = this.rowOf[lane.index];
    if (r === undefined || r < 0) return;
    const vis = this.visibleRows(theme);
    if (r < this.scrollRow || r >= this.scrollRow + vis) this.scrollRow = Math.max(0, r - (vis >> 1));
  }

  rowY(r, theme) {
    return this.axis + (r - this.scrollRow) * theme.row;
  }

  // ------------------------------------------------------------ drawing

  /** Draw the axis and the rows in view; nothing past `until` (ns). */
  draw(ctx, w, h, theme, until) {
    this.height = h;
    this.axis = Math.round(theme.row * 1.6);
    this.updateRows(until);
    const v = this.view, tr = this.trace;
    ctx.fillStyle = theme.bg;
    ctx.fillRect(0, 0, w, h);
    if (!tr) return; // no session: the page says what to do instead
    this.drawAxis(ctx, w, h, theme);
    const end = Math.min(until, tr.now);
    const row = theme.row, bar = Math.max(2, row - 3);
    const paths = model.states.map(() => new Path2D());
    const thin = model.states.map(() => new Path2D());
    const hub = [new Path2D(), new Path2D()];
    const marks = [], hubRows = [];
    const last = Math.min(this.nrows, this.scrollRow + this.visibleRows(theme) + 1);
    ctx.font = `${Math.round(row * 0.78)}px ${theme.mono.split(" ").slice(1).join(" ") || "monospace"}`;
    ctx.textBaseline = "middle";
    for (let r = this.scrollRow; r < last; r++) {
      const code = this.rows[r];
      const y = this.rowY(r, theme);
      if (code < 0) {
        const h = this.header(code);
        if (h.hub) {
          this.label(ctx, y + row / 2, tr.hubs.length > 1 ? `hub ${h.hub.gid}` : "hub", theme, false);
          this.lane(h.hub, end, y + 1, bar, row, (s) => (s === HUB_WAITING ? hub[1] : null), (s) => hub[s]);
          hubRows.push([h.hub, y]);
        } else this.drawHeader(ctx, w, y, row, theme, h);
      }
      else {
        const lane = tr.lanes[code];
        this.lane(lane, end, y + 1, bar, row, (s) => (s === model.DONE ? null : paths[s]), (s) => thin[s]);
        if (lane.outcome && lane.outcome !== "ok" && lane.exitTs <= end) marks.push([lane.exitTs, y + row / 2]);
        this.label(ctx, y + row / 2, `gt${lane.gid} ${lane.func}`, theme, lane === this.selected);
      }
    }
    ctx.save();
    ctx.beginPath();
    ctx.rect(v.gutter, this.axis, v.width, h - this.axis);
    ctx.clip();
    for (let s = 0; s < paths.length; s++) {
      ctx.fillStyle = theme.states[s];
      ctx.fill(paths[s]);
      ctx.fill(thin[s]);
    }
    ctx.fillStyle = theme.hubWait;
    ctx.fill(hub[1]);
    ctx.fillStyle = theme.hubBusy;
    ctx.fill(hub[0]);
    for (const [h, y] of hubRows) this.drawTimers(ctx, theme, h, y, end);
    this.drawMarks(ctx, marks, row, theme);
    ctx.restore();
    this.drawGaps(ctx, theme);
  }

  /** One lane's columns (a greenthread's or a hub's) as rects: a full bar where `bar(state)` gives a path, else a
   * thin line. */
  lane(lane, end, y, barH, row, bar, thin) {
    const v = this.view, mid = y - 1 + Math.floor(row / 2);
    this.runs(lane, end, v.t0, v.t1, v.width, (c0, c1, s) => {
      const p = bar(s);
      if (p) p.rect(v.gutter + c0, y, c1 - c0, barH);
      else thin(s).rect(v.gutter + c0, mid - 1, c1 - c0, 3);
    });
  }

  /** columns.js' runs of `lane` (a greenthread's, with its sums per block, or a hub's) over `width` columns of
   * [t0, t1], known up to `end`. */
  runs(lane, end, t0, t1, width, run) {
    const ts = lane.ts;
    columnRuns(ts.a, lane.st.a, ts.n, end, t0, t1, width, this.acc, run, lane.sums?.a ?? null);
  }

  drawAxis(ctx, w, h, theme) {
    const v = this.view;
    ctx.font = theme.font;
    const marks = this.axisTicks(ctx);
    ctx.fillStyle = theme.panel;
    ctx.fillRect(0, 0, w, this.axis);
    ctx.fillStyle = theme.line;
    ctx.fillRect(0, this.axis - 1, w, 1);
    ctx.fillRect(v.gutter - 1, 0, 1, h);
    ctx.textBaseline = "middle";
    for (const [t, text] of marks) {
      const x = Math.round(v.x(t));
      if (x < v.gutter) continue;
      ctx.fillStyle = theme.line;
      ctx.fillRect(x, this.axis - 6, 1, h);
      ctx.fillStyle = theme.dim;
      ctx.fillText(text, x + 3, this.axis / 2);
    }
  }

  /** The axis's ticks, [t, label] each, far enough apart for their labels in the font set on `ctx` (projector
   * mode's large type made them run into each other). */
  axisTicks(ctx) {
    const v = this.view, labelled = ({ step, list }) => list.map((t) => [t, tickLabel(t, step)]);
    const got = labelled(ticks(v.t0, v.t1, v.width));
    const need = Math.max(0, ...got.map(([, text]) => ctx.measureText(text).width)) + 16;
    return need > TICK_GAP ? labelled(ticks(v.t0, v.t1, v.width, need)) : got;
  }

  label(ctx, y, text, theme, selected) {
    const v = this.view;
    ctx.fillStyle = selected ? theme.accent : theme.fg;
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, y - theme.row / 2, v.gutter - 4, theme.row);
    ctx.clip();
    ctx.fillText(text, 14, y);
    ctx.restore();
  }

  /** A group's header row, or the header of the spawners waiting for a slot of its pool. */
  drawHeader(ctx, w, y, row, theme, { group, waiters }) {
    ctx.fillStyle = theme.panel;
    ctx.fillRect(0, y, w, row);
    ctx.fillStyle = theme.dim;
    const text = waiters
      ? `   waiting for a slot of ${group.label} (${group.waiting.length})`
      : `${this.collapsed.has(group.key) ? "▸" : "▾"} ${group.label} (${group.count})`;
    ctx.fillText(text, 2, y + row / 2);
  }

  /** What a header row (code < 0) is: {hub} or {group, waiters}. */
  header(code) {
    return headerOf(code, this.trace, this.groups);
  }

  /** Timer passes on a hub's lane (at `y`): ticks along its top, one per pixel column at most. */
  drawTimers(ctx, theme, hub, y, end) {
    const v = this.view, hgt = Math.max(2, Math.floor(theme.row / 4));
    const k = v.width / (v.t1 - v.t0);
    ctx.save();
    ctx.beginPath();
    ctx.rect(v.gutter, this.axis, v.width, this.height - this.axis);
    ctx.clip();
    const ts = hub.timerTs.a, n = hub.timerTs.n, late = hub.timerLate.a;
    let j = Math.max(0, lastAtOrBefore(ts, n, v.t0));
    while (j < n && ts[j] <= Math.min(v.t1, end)) {
      const c = Math.floor((ts[j] - v.t0) * k);
      const next = Math.max(j + 1, lastAtOrBefore(ts, n, v.t0 + (c + 1) / k) + 1);
      let tardy = false; // a pass in this column fired a timer late: a mark, not a tick
      for (let m = j; m < next && !tardy; m++) tardy = late[m] >= LATE;
      ctx.fillStyle = tardy ? theme.mark : theme.hubBusy;
      if (c >= 0) ctx.fillRect(v.gutter + c, y, tardy ? 2 : 1, tardy ? 2 * hgt : hgt);
      j = next;
    }
    ctx.restore();
  }

  drawMarks(ctx, marks, row, theme) {
    if (!marks.length) return;
    const v = this.view, r = Math.max(3, row * 0.32);
    ctx.strokeStyle = theme.mark;
    ctx.lineWidth = Math.max(1.5, row / 8);
    ctx.beginPath();
    for (const [t, y] of marks) {
      const x = v.x(t);
      ctx.moveTo(x - r, y - r);
      ctx.lineTo(x + r, y + r);
      ctx.moveTo(x + r, y - r);
      ctx.lineTo(x - r, y + r);
    }
    ctx.stroke();
  }

  /** Where events were lost: a mark on the axis (the lanes show the unknown state from there). */
  drawGaps(ctx, theme) {
    const v = this.view, g = this.trace.gaps;
    ctx.fillStyle = theme.mark;
    for (let i = 0; i < g.n; i++) {
      const x = Math.round(v.x(g.a[i]));
      if (x >= v.gutter && x <= v.gutter + v.width) ctx.fillRect(x - 1, 0, 3, this.axis - 1);
    }
  }

  // ------------------------------------------------------------ overlay: hover, selection, arrows, cursor

  drawOverlay(ctx, w, h, theme, hoverX, until) {
    ctx.clearRect(0, 0, w, h);
    const v = this.view, tr = this.trace;
    if (!tr) return;
    const sel = this.selected;
    if (sel) {
      const r = this.rowOf[sel.index];
      if (r >= this.scrollRow) {
        ctx.fillStyle = theme.select;
        ctx.fillRect(0, this.rowY(r, theme), w, theme.row);
      }
      ctx.save();
      ctx.beginPath();
      ctx.rect(v.gutter, this.axis, v.width, h - this.axis);
      ctx.clip();
      this.drawArrows(ctx, sel, theme, until);
      ctx.restore();
    }
    this.drawStalls(ctx, theme);
    if (this.range) {
      const x0 = Math.max(v.gutter, v.x(this.range.t0)), x1 = Math.min(v.gutter + v.width, v.x(this.range.t1));
      ctx.fillStyle = theme.select;
      if (x1 > x0) ctx.fillRect(x0, this.axis, Math.max(1, x1 - x0), h - this.axis);
    }
    if (until < tr.now && until >= v.t0 && until <= v.t1) {
      ctx.fillStyle = theme.accent; // the replay's (or the paused view's) now
      ctx.fillRect(Math.round(v.x(until)), this.axis, 2, h - this.axis);
    }
    if (hoverX !== null && hoverX >= v.gutter) {
      ctx.fillStyle = theme.dim;
      ctx.fillRect(Math.round(hoverX), this.axis, 1, h - this.axis);
    }
  }

  /** The stalls the program's monitor caught: a frame around the culprit's run and over its hub's lane. */
  drawStalls(ctx, theme) {
    const v = this.view, tr = this.trace, row = theme.row, left = v.gutter, right = v.gutter + v.width;
    ctx.strokeStyle = theme.mark;
    ctx.lineWidth = 2;
    for (const s of tr.stalls) {
      const x0 = Math.max(left, v.x(s.ts)), x1 = Math.min(right, v.x(s.ts + s.ns));
      if (x1 < left || x0 > right) continue;
      const lane = tr.byGid.get(s.gid);
      const hub = tr.byHub.get(lane?.hub ?? 0);
      for (const r of [hubRow(hub, this.rows, this.nrows), lane ? this.rowOf[lane.index] : -1]) {
        if (r < this.scrollRow || r < 0) continue;
        ctx.strokeRect(x0, this.rowY(r, theme) + 1, Math.max(2, x1 - x0), row - 2);
      }
    }
  }

  /** Arrows from each waker (at the wake) to the run the wake caused, for `lane`, in the visible range only;
   * a waker whose row is out of view gets a short stub from the side it is on. Capped, and faded when many. */
  drawArrows(ctx, lane, theme, until) {
    const v = this.view, tr = this.trace, row = theme.row;
    const to = this.rowOf[lane.index];
    if (to < 0) return;
    const top = this.axis, bottom = this.axis + this.visibleRows(theme) * row;
    const yTo = this.rowY(to, theme) + row / 2;
    const wt = lane.wakeTs.a, wn = lane.wakeTs.n, tEnd = Math.min(v.t1, until);
    const first = Math.max(0, lastAtOrBefore(wt, wn, v.t0, 0, true) + 1);
    const lastW = lastAtOrBefore(wt, wn, tEnd);
    const count = Math.max(0, lastW - first + 1);
    this.arrows = 0;
    if (!count) return;
    ctx.globalAlpha = count > FADE ? Math.max(0.3, FADE / count) : 1;
    ctx.strokeStyle = theme.arrow;
    ctx.fillStyle = theme.arrow;
    ctx.lineWidth = Math.max(1, row / 10);
    // at most ARROWS, spread evenly over the range (not the first ones), and one per few pixels
    const stride = Math.max(1, Math.ceil(count / ARROWS));
    let lastX = -Infinity, drawn = 0;
    for (let i = first; i <= lastW; i += stride) {
      const x = v.x(wt[i]);
      if (x - lastX < 4) continue;
      lastX = x;
      const by = lane.wakeBy.a[i];
      const from = by === 0 ? 0 : by > 0 && tr.byGid.has(by) ? this.rowOf[tr.byGid.get(by).index] : -1;
      if (from < 0) continue;
      let yFrom = this.rowY(from, theme) + row / 2;
      if (yFrom < top || yFrom > bottom) yFrom = yTo + (yFrom < top ? -2 : 2) * row; // off screen: a stub
      const x2 = v.x(this.runAfter(lane, wt[i]));
      ctx.beginPath();
      ctx.moveTo(x, yFrom);
      ctx.lineTo(x2, yTo);
      ctx.stroke();
      const ang = Math.atan2(yTo - yFrom, x2 - x), hd = Math.max(4, row / 3);
      ctx.beginPath();
      ctx.moveTo(x2, yTo);
      ctx.lineTo(x2 - hd * Math.cos(ang - 0.4), yTo - hd * Math.sin(ang - 0.4));
      ctx.lineTo(x2 - hd * Math.cos(ang + 0.4), yTo - hd * Math.sin(ang + 0.4));
      ctx.fill();
      drawn++;
    }
    this.arrows = drawn; // for the tests
    ctx.globalAlpha = 1;
  }

  /** When `lane` started running after a wake at t (or t if it had not yet). */
  runAfter(lane, t) {
    const a = lane.ts.a, st = lane.st.a, n = lane.ts.n;
    for (let i = Math.max(0, lastAtOrBefore(a, n, t)), m = 0; i < n && m < 8; i++, m++) {
      if (st[i] === model.RUNNING && a[i] >= t) return a[i];
    }
    return t;
  }

  // ------------------------------------------------------------ hit-testing

  /** What is at CSS px (x, y): {kind: "hub"|"group"|"waiters"|"lane", lane, hub, group, t, c0, c1} or null;
   * [c0, c1) is the time of the pixel column under x. */
  hit(x, y, theme) {
    if (!this.trace || y < this.axis) return null;
    const r = this.scrollRow + Math.floor((y - this.axis) / theme.row);
    if (r >= this.nrows) return null;
    const code = this.rows[r];
    const v = this.view, w = (v.t1 - v.t0) / v.width, c = Math.floor(x - v.gutter);
    const at = { t: v.t(x), c0: v.t0 + c * w, c1: v.t0 + (c + 1) * w, inPlot: x >= v.gutter };
    if (code < 0) {
      const { hub, group, waiters } = this.header(code);
      if (hub) return { kind: "hub", hub, ...at };
      return { kind: waiters ? "waiters" : "group", group, ...at };
    }
    return { kind: "lane", lane: this.trace.lanes[code], ...at };
  }

  /** The state a lane (a greenthread's or a hub's) shows over [c0, c1), and how many transitions fall in it. */
  columnState(lane, c0, c1, until) {
    const tr = this.trace, ts = lane.ts;
    let state = -1;
    this.runs(lane, Math.min(until, tr.now), c0, c1, 1, (a, b, s) => (state = s));
    const changes = lastAtOrBefore(ts.a, ts.n, c1, 0, true) - lastAtOrBefore(ts.a, ts.n, c0);
    return { state, changes };
  }

  toggleGroup(group) {
    if (this.collapsed.has(group.key)) this.collapsed.delete(group.key);
    else this.collapsed.add(group.key);
    this.invalidateRows();
  }
}

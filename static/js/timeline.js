// The timeline canvas: a time axis, the hub's lane, then one lane per greenthread grouped by pool.
//
// Only the rows in view are drawn (100k lanes cost what 40 do); a lane's transitions are
// found by binary search; intervals narrower than a pixel are merged into one mark per
// pixel, coloured by the state that held most of that pixel (sampled when a pixel holds
// many). One Path2D per state per frame: a fill per colour, not per slice. The overlay
// canvas (hover line, selection, wake arrows) is redrawn on its own, so hovering never
// redraws the lanes.

import { DONE, lastAtOrBefore, RUNNING, STATES } from "./trace.js";
import { shortName, tickLabel, ticks } from "./format.js";

const HUB_ROW = -1; // row codes: >= 0 a lane's index; HUB_ROW; <= -2 a group header: -(group index) - 2
const SAMPLES = 16; // at most this many intervals looked at to colour one merged pixel

export class Timeline {
  constructor(canvas, overlay, view) {
    this.canvas = canvas;
    this.overlay = overlay;
    this.view = view;
    this.trace = null;
    this.filter = null; // (lane) => bool, or null for all
    this.hideDone = true; // hide the lanes of greenthreads that ended before the view starts
    this.collapsed = new Set(); // group keys folded
    this.scrollRow = 0; // first row shown
    this.selected = null; // a Lane
    this.rows = new Int32Array(0);
    this.nrows = 0;
    this.rowOf = new Int32Array(0); // lane index -> row (-1: hidden)
    this.groups = []; // {key, label, count}
    this._rowsFor = null; // what the rows were built for (lanes, and the view's start)
    this.axis = 22;
    this.height = 0;
  }

  setTrace(trace) {
    this.trace = trace;
    this.selected = null;
    this.scrollRow = 0;
    this.invalidateRows();
  }

  invalidateRows() {
    this._rowsFor = null;
  }

  // ------------------------------------------------------------ rows

  /** Rebuild the row list when lanes were added or the filter or grouping changed. */
  updateRows() {
    const tr = this.trace;
    const lanes = tr ? tr.lanes : [];
    const t0 = this.view.t0;
    const key = this.hideDone ? `${lanes.length} ${t0}` : `${lanes.length}`;
    if (this._rowsFor === key) return;
    this._rowsFor = key;
    const byKey = new Map();
    const groups = [];
    const members = [];
    const hide = this.hideDone;
    for (const lane of lanes) {
      if ((hide && lane.exitTs !== null && lane.exitTs < t0) || (this.filter && !this.filter(lane))) continue;
      const key = lane.pool ?? "main";
      let g = byKey.get(key);
      if (g === undefined) {
        g = groups.length;
        byKey.set(key, g);
        const res = lane.pool == null ? null : tr.resources.get(lane.pool);
        const name = lane.pool == null ? "not in a pool" : res ? shortName(res.name) : `pool ${lane.pool}`;
        groups.push({ key, label: name, count: 0 });
        members.push([]);
      }
      groups[g].count++;
      members[g].push(lane.index);
    }
    // the pool-less group (main and its children) first, then pools in order of appearance
    const order = groups.map((_, i) => i).sort((a, b) => (groups[a].key === "main" ? -1 : groups[b].key === "main" ? 1 : a - b));
    const rows = new Int32Array(1 + groups.length + lanes.length);
    const rowOf = new Int32Array(lanes.length).fill(-1);
    let n = 0;
    rows[n++] = HUB_ROW;
    for (const g of order) {
      rows[n++] = -g - 2;
      if (this.collapsed.has(groups[g].key)) continue;
      for (const li of members[g]) {
        rowOf[li] = n;
        rows[n++] = li;
      }
    }
    this.groups = groups;
    this.rows = rows;
    this.nrows = n;
    this.rowOf = rowOf;
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
    this.updateRows();
    const r = this.rowOf[lane.index];
    if (r < 0) return;
    const vis = this.visibleRows(theme);
    if (r < this.scrollRow || r >= this.scrollRow + vis) this.scrollRow = Math.max(0, r - (vis >> 1));
  }

  rowY(r, theme) {
    return this.axis + (r - this.scrollRow) * theme.row;
  }

  // ------------------------------------------------------------ drawing

  /** Draw the axis and the rows in view; `until` (ns): nothing is drawn past it. */
  draw(ctx, w, h, theme, until) {
    this.height = h;
    this.axis = Math.round(theme.row * 1.6);
    this.updateRows();
    const v = this.view, tr = this.trace;
    ctx.fillStyle = theme.bg;
    ctx.fillRect(0, 0, w, h);
    this.drawAxis(ctx, w, h, theme);
    if (!tr) return;
    const row = theme.row, bar = Math.max(2, row - 3);
    const paths = STATES.map(() => new Path2D());
    const thin = new Path2D(); // done: a thin line
    const marks = [];
    const last = Math.min(this.nrows, this.scrollRow + this.visibleRows(theme) + 1);
    ctx.font = `${Math.round(row * 0.78)}px ${theme.mono.split(" ").slice(1).join(" ") || "monospace"}`;
    ctx.textBaseline = "middle";
    for (let r = this.scrollRow; r < last; r++) {
      const code = this.rows[r];
      const y = this.rowY(r, theme);
      if (code === HUB_ROW) this.drawHub(ctx, y, bar, theme, until);
      else if (code <= -2) this.drawGroup(ctx, w, y, row, theme, this.groups[-code - 2]);
      else {
        const lane = tr.lanes[code];
        this.laneSlices(lane, y + 1, bar, until, paths, thin);
        if (lane.outcome && lane.outcome !== "ok" && lane.exitTs <= until) marks.push([lane.exitTs, y + row / 2]);
        this.label(ctx, y + row / 2, `gt${lane.gid} ${lane.func}`, theme, lane === this.selected);
      }
    }
    ctx.save();
    ctx.beginPath();
    ctx.rect(v.gutter, this.axis, v.width, h - this.axis);
    ctx.clip();
    for (let s = 0; s < STATES.length; s++) {
      ctx.fillStyle = theme.states[s];
      ctx.fill(paths[s]);
    }
    ctx.fillStyle = theme.states[DONE];
    ctx.fill(thin);
    this.drawMarks(ctx, marks, row, theme);
    this.drawGaps(ctx, h, theme);
    ctx.restore();
    if (until < tr.end && until >= v.t0 && until <= v.t1) {
      ctx.fillStyle = theme.accent;
      ctx.fillRect(Math.round(v.x(until)), this.axis, 2, h - this.axis);
    }
  }

  drawAxis(ctx, w, h, theme) {
    const v = this.view;
    const { step, list } = ticks(v.t0, v.t1, v.width);
    ctx.fillStyle = theme.panel;
    ctx.fillRect(0, 0, w, this.axis);
    ctx.fillStyle = theme.line;
    ctx.fillRect(0, this.axis - 1, w, 1);
    ctx.fillRect(v.gutter - 1, 0, 1, h);
    ctx.font = theme.font;
    ctx.textBaseline = "middle";
    for (const t of list) {
      const x = Math.round(v.x(t));
      if (x < v.gutter) continue;
      ctx.fillStyle = theme.line;
      ctx.fillRect(x, this.axis - 6, 1, h);
      ctx.fillStyle = theme.dim;
      ctx.fillText(tickLabel(t, step), x + 3, this.axis / 2);
    }
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

  drawGroup(ctx, w, y, row, theme, group) {
    ctx.fillStyle = theme.panel;
    ctx.fillRect(0, y, w, row);
    ctx.fillStyle = theme.dim;
    const folded = this.collapsed.has(group.key);
    ctx.fillText(`${folded ? "▸" : "▾"} ${group.label} (${group.count})`, 2, y + row / 2);
  }

  /** A lane's intervals from t0 to min(t1, until) into the per-state paths; touching marks of one
   * state become one rect (a dense lane is a few long runs, not a rect per pixel). */
  laneSlices(lane, y, bar, until, paths, thin) {
    const v = this.view, tr = this.trace;
    const a = lane.ts.a, st = lane.st.a, n = lane.ts.n;
    const k = v.width / (v.t1 - v.t0), x0v = v.gutter, left = v.gutter, right = v.gutter + v.width;
    const tEnd = Math.min(v.t1, until);
    const laneEnd = Math.min(tr.end, until);
    let run = -1, rx0 = 0, rx1 = 0; // the run of one state being drawn
    const flush = () => {
      if (run === DONE) thin.rect(rx0, y + bar / 2 - 1, Math.max(1, rx1 - rx0), 2);
      else if (run >= 0) paths[run].rect(rx0, y, Math.max(1, rx1 - rx0), bar);
    };
    const mark = (state, xs, xe) => {
      if (state === run && xs <= rx1 + 0.01) rx1 = Math.max(rx1, xe);
      else {
        flush();
        run = state;
        rx0 = xs;
        rx1 = Math.max(xe, xs + 1);
      }
    };
    let i = Math.max(0, lastAtOrBefore(a, n, v.t0));
    while (i < n) {
      const s = a[i];
      if (s > tEnd) break;
      const e = i + 1 < n ? Math.min(a[i + 1], laneEnd) : laneEnd;
      if (e < v.t0 || e <= s) {
        i++;
        continue;
      }
      const xs = Math.max(left, x0v + (s - v.t0) * k), xe = Math.min(right, x0v + (e - v.t0) * k);
      if (xe - xs >= 1 || i + 1 >= n || a[i + 1] >= v.t0 + (Math.floor(xs) + 1 - x0v) / k) {
        mark(st[i], xs, xe); // wide enough, or alone in its pixel
        i++;
        continue;
      }
      // several intervals share this pixel: one mark, the colour of the state that held most of it
      const px = Math.floor(xs);
      const pxEnd = v.t0 + (px + 1 - x0v) / k;
      const j = lastAtOrBefore(a, n, pxEnd); // the last interval starting in this pixel
      mark(this.dominant(lane, i, j, pxEnd, laneEnd), px, px + 1);
      i = Math.max(i + 1, j + 1); // always forward, whatever the arithmetic did
    }
    flush();
  }

  /** The state that held most time among intervals i..j (sampled when there are many). */
  dominant(lane, i, j, pxEnd, laneEnd) {
    const a = lane.ts.a, st = lane.st.a, n = lane.ts.n;
    const acc = this._acc || (this._acc = new Float64Array(STATES.length));
    acc.fill(0);
    const stride = Math.max(1, Math.floor((j - i + 1) / SAMPLES));
    for (let m = i; m <= j; m += stride) {
      const e = m + 1 < n ? Math.min(a[m + 1], pxEnd, laneEnd) : Math.min(pxEnd, laneEnd);
      acc[st[m]] += Math.max(e - a[m], 1e-3);
    }
    let best = RUNNING;
    for (let s = 0; s < acc.length; s++) if (acc[s] > acc[best]) best = s;
    return best;
  }

  drawHub(ctx, y, bar, theme, until) {
    const v = this.view, tr = this.trace;
    const row = theme.row;
    this.label(ctx, y + row / 2, "hub", theme, false);
    const k = v.width / (v.t1 - v.t0);
    const tEnd = Math.min(v.t1, until);
    // running between waits: a thin busy line under the waits
    const x0 = Math.max(v.gutter, v.x(0)), x1 = Math.min(v.gutter + v.width, v.x(Math.min(tr.end, until)));
    if (x1 > x0) {
      ctx.fillStyle = theme.hubBusy;
      ctx.fillRect(x0, y + bar / 2, x1 - x0, 2);
    }
    ctx.fillStyle = theme.hubWait;
    const ws = tr.waitStart.a, we = tr.waitEnd.a, n = tr.waitStart.n;
    let i = Math.max(0, lastAtOrBefore(ws, n, v.t0));
    while (i < n && ws[i] <= tEnd) {
      const end = i === n - 1 && tr._waiting ? tr.end : we[i];
      const xs = Math.max(v.gutter, v.gutter + (ws[i] - v.t0) * k);
      const xe = Math.min(v.gutter + v.width, v.gutter + (Math.min(end, until) - v.t0) * k);
      if (xe > v.gutter) ctx.fillRect(xs, y + 1, Math.max(1, xe - xs), bar);
      // skip the waits that start within the same pixel
      const next = lastAtOrBefore(ws, n, v.t0 + (Math.floor(xs) + 1 - v.gutter) / k);
      i = Math.max(i + 1, next + 1);
    }
    // timer passes: ticks along the top, one per pixel at most
    ctx.fillStyle = theme.hubBusy;
    const ts = tr.timerTs.a, tn = tr.timerTs.n;
    let j = Math.max(0, lastAtOrBefore(ts, tn, v.t0));
    while (j < tn && ts[j] <= tEnd) {
      const x = v.gutter + (ts[j] - v.t0) * k;
      if (x >= v.gutter) ctx.fillRect(x, y, 1, Math.max(3, bar / 3));
      j = Math.max(j + 1, lastAtOrBefore(ts, tn, v.t0 + (Math.floor(x) + 1 - v.gutter) / k) + 1);
    }
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

  drawGaps(ctx, h, theme) {
    const v = this.view, g = this.trace.gaps;
    ctx.fillStyle = theme.mark;
    for (let i = 0; i < g.n; i++) {
      const x = v.x(g.a[i]);
      if (x >= v.gutter && x <= v.gutter + v.width) ctx.fillRect(x, this.axis, 1, h - this.axis);
    }
  }

  // ------------------------------------------------------------ overlay: hover, selection, arrows

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
    if (hoverX !== null && hoverX >= v.gutter) {
      ctx.fillStyle = theme.dim;
      ctx.fillRect(Math.round(hoverX), this.axis, 1, h - this.axis);
    }
  }

  /** Arrows from each waker (at the wake) to the run the wake caused, for `lane`, in view. */
  drawArrows(ctx, lane, theme, until) {
    const v = this.view, tr = this.trace, row = theme.row;
    const to = this.rowOf[lane.index];
    if (to < 0) return;
    const yTo = this.rowY(to, theme) + row / 2;
    const wt = lane.wakeTs.a, wn = lane.wakeTs.n;
    let i = Math.max(0, lastAtOrBefore(wt, wn, v.t0));
    let lastX = -1, drawn = 0;
    ctx.strokeStyle = theme.arrow;
    ctx.fillStyle = theme.arrow;
    ctx.lineWidth = Math.max(1, row / 10);
    for (; i < wn && wt[i] <= Math.min(v.t1, until) && drawn < 400; i++) {
      const x = v.x(wt[i]);
      if (x - lastX < 3) continue; // one arrow per few pixels
      lastX = x;
      const by = lane.wakeBy.a[i];
      let from;
      if (by === 0) from = 0;
      else {
        const wl = tr.byGid.get(by);
        from = wl ? this.rowOf[wl.index] : -1;
      }
      if (from < 0) continue;
      const yFrom = this.rowY(from, theme) + row / 2;
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
  }

  /** When `lane` started running after a wake at t (or t if it had not yet). */
  runAfter(lane, t) {
    const a = lane.ts.a, st = lane.st.a, n = lane.ts.n;
    for (let i = Math.max(0, lastAtOrBefore(a, n, t)), m = 0; i < n && m < 8; i++, m++) {
      if (st[i] === RUNNING && a[i] >= t) return a[i];
    }
    return t;
  }

  // ------------------------------------------------------------ hit-testing

  /** What is at CSS px (x, y): {kind: "hub"|"group"|"lane", lane, group, index (transition), t} or null. */
  hit(x, y, theme) {
    if (!this.trace || y < this.axis) return null;
    const r = this.scrollRow + Math.floor((y - this.axis) / theme.row);
    if (r >= this.nrows) return null;
    const code = this.rows[r];
    const t = this.view.t(x);
    if (code === HUB_ROW) {
      const tr = this.trace, i = lastAtOrBefore(tr.waitStart.a, tr.waitStart.n, t);
      const waiting = i >= 0 && t <= tr.waitEnd.a[i];
      return { kind: "hub", t, wait: waiting ? i : -1 };
    }
    if (code <= -2) return { kind: "group", group: this.groups[-code - 2], t };
    const lane = this.trace.lanes[code];
    return { kind: "lane", lane, t, index: x >= this.view.gutter ? lane.at(t) : -1 };
  }

  toggleGroup(group) {
    if (this.collapsed.has(group.key)) this.collapsed.delete(group.key);
    else this.collapsed.add(group.key);
    this.invalidateRows();
  }
}

// The gauges under the timeline, on its time axis: greenthreads by state, each pool and queue,
// switches per second and the share of time the hub waited in its poller. One canvas, one strip each;
// labels and values in the left `view.gutter` px.
//
// Each strip is drawn from its numbers per pixel column (folding.js: step series folded per column,
// switches and hub waits counted per bin of a few px), never from the events one by one.

import { model } from "./schema.js";
import { Folding } from "./folding.js";
import { fitCanvas } from "./theme.js";
import { count, duration, shortName } from "./format.js";

const CAP = 12; // pools (and queues) drawn at most; the others are counted in "+N more"

const { DONE, RUNNING } = model;
const [IO, QUEUE, POOL] = ["io", "queue", "pool"].map((s) => model.states.indexOf(s));

/** A rate or a count, short: 950, 12.5k, 3.2M. */
function si(v) {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  return `${+v.toPrecision(3)}`;
}

export class Gauges {
  constructor(canvas, view) {
    this.canvas = canvas;
    this.view = view;
    this.trace = null;
    this.strips = []; // {kind: states|pool|queue|switches|hub, r: resource, more: "+N more …"}
    this.listed = -1; // trace.version the strips were listed at
    this.key = ""; // what the last draw showed: drawing the same again is skipped
    this.theme = null;
    this.folding = new Folding(view); // the numbers drawn
    this.shaded = 0;
  }

  /** Pixel columns shaded as saturated (pool full, spawners waiting) in the last draw. */
  saturated() {
    return this.shaded;
  }

  setTrace(trace) {
    this.trace = trace;
    this.listed = -1;
    this.key = "";
  }

  /** CSS px the strips need: theme.gauge each. */
  height(theme) {
    return this.trace ? this.list().length * theme.gauge : 0;
  }

  /** The strips, top to bottom; re-listed only when the trace changed. */
  list() {
    const tr = this.trace;
    if (this.listed === tr.version) return this.strips;
    const pools = [], queues = [];
    let morePools = 0, moreQueues = 0;
    for (const r of tr.resources.values()) {
      if (r.type === "pool") pools.length < CAP ? pools.push({ kind: "pool", r }) : morePools++;
      else if (r.type === "queue") queues.length < CAP ? queues.push({ kind: "queue", r }) : moreQueues++;
    }
    if (morePools) pools[CAP - 1].more = `+${count(morePools)} more pools`;
    if (moreQueues) queues[CAP - 1].more = `+${count(moreQueues)} more queues`;
    this.strips = [{ kind: "states" }, ...pools, ...queues, { kind: "switches" }, { kind: "hub" }];
    this.listed = tr.version;
    return this.strips;
  }

  /** Draw view.t0..view.t1, no data past `until` (ns). Skipped when nothing it shows changed. */
  draw(theme, until) {
    const { ctx, w, h } = fitCanvas(this.canvas);
    const v = this.view, tr = this.trace;
    const key = `${v.t0} ${v.t1} ${v.gutter} ${v.width} ${until} ${w} ${h} ${this.canvas.width} ${tr && tr.version}`;
    if (key === this.key && theme === this.theme) return;
    this.key = key;
    this.theme = theme;
    ctx.clearRect(0, 0, w, h);
    if (!tr || !(v.t1 > v.t0)) return;
    this.shaded = 0;
    const W = Math.max(1, Math.ceil(v.width));
    const G = theme.gauge;
    const fs = Math.max(9, Math.round(G * 0.24));
    const family = (f) => f.replace(/^.*?[\d.]+px(\/\S+)?\s+/, "");
    this.fonts = { name: `${fs}px ${family(theme.font)}`, value: `${fs - 1}px ${family(theme.mono)}`, fs };
    // the data's time range on screen: [ta, tb] -> pixel columns [k0, k1) right of the gutter
    const ta = Math.max(v.t0, 0), tb = Math.min(v.t1, until);
    const k0 = Math.max(0, Math.floor(v.x(ta) - v.gutter)), k1 = Math.min(W, Math.ceil(v.x(tb) - v.gutter));
    const span = { ta, tb, k0: tb > ta ? k0 : 0, k1: tb > ta ? k1 : 0 };
    // bins of >= 2 px, aligned in time so panning is steady
    this.folding.start(W, Math.max(2, Math.round(G / 23)) * v.scale, until);

    const strips = this.list();
    for (let i = 0; i < strips.length; i++) {
      const s = strips[i], y0 = i * G;
      const box = { y0, top: y0 + 3, bottom: y0 + G - 2 };
      ctx.save();
      ctx.beginPath();
      ctx.rect(v.gutter, y0, v.width, G);
      ctx.clip();
      const label = this[s.kind](ctx, theme, s, box, span);
      ctx.restore();
      this.label(ctx, theme, box, label, s.more);
      ctx.fillStyle = theme.line;
      ctx.fillRect(0, y0 + G - 1, w, 1);
    }
    ctx.fillStyle = theme.line;
    ctx.fillRect(v.gutter - 1, 0, 1, strips.length * G);
  }

  // ------------------------------------------------------------ strips (each returns its label)

  states(ctx, theme, s, box, span) {
    const f = this.folding, counts = this.trace.stateCounts, W = f.w, mean = f.mean;
    f.foldCounts(counts, DONE, span);
    let top = 1; // the scale: the highest stack on screen
    for (let k = span.k0; k < span.k1; k++) {
      let sum = 0;
      for (let c = 0; c < DONE; c++) mean[c * W + k] = sum += mean[c * W + k];
      if (sum > top) top = sum;
    }
    top = Math.ceil(top);
    const y = (val) => box.bottom - (val * (box.bottom - box.top)) / top;
    for (let st = 0; st < DONE; st++) {
      this.band(ctx, mean, st * W, st ? mean : null, (st - 1) * W, span, y, box.bottom);
      ctx.fillStyle = theme.states[st];
      ctx.fill();
    }
    const now = counts.at(f.until, f.now), done = now[DONE];
    let live = 0;
    for (let c = 0; c < DONE; c++) live += now[c];
    const parts = [[`${count(live)} live`, theme.fg], [` · ${count(done)} done`, theme.dim]];
    return { name: "greenthreads", top: si(top), parts };
  }

  pool(ctx, theme, s, box, span) {
    const f = this.folding, W = f.w, mean = f.mean, peak = f.peak, sat = f.sat;
    f.fold(s.r.series, 0, 3, span, true); // 0 size, 1 running, 2 waiting
    let top = 1;
    for (let k = span.k0; k < span.k1; k++) {
      mean[2 * W + k] += mean[W + k]; // waiting stacked on running
      top = Math.max(top, peak[k], mean[2 * W + k]);
    }
    top = Math.ceil(top);
    const y = (val) => box.bottom - (val * (box.bottom - box.top)) / top;
    ctx.fillStyle = theme.saturated;
    for (let k = span.k0; k < span.k1; k++) {
      if (!sat[k]) continue;
      let e = k;
      while (e + 1 < span.k1 && sat[e + 1]) e++;
      const xa = this.xl(k, span), xb = this.xr(e, span);
      ctx.fillRect(xa, box.y0, xb - xa, box.bottom - box.y0);
      this.shaded += e - k + 1;
      k = e;
    }
    this.band(ctx, mean, W, null, 0, span, y, box.bottom);
    ctx.fillStyle = theme.states[RUNNING];
    ctx.fill();
    this.band(ctx, mean, 2 * W, mean, W, span, y, box.bottom);
    ctx.fillStyle = theme.mark;
    ctx.fill();
    this.line(ctx, peak, 0, span, y);
    ctx.strokeStyle = theme.fg;
    ctx.lineWidth = 1.5;
    ctx.stroke();
    const [size, running, waiting] = f.valuesAt(s.r.series, f.until, 3);
    return {
      name: shortName(s.r.name), top: si(top),
      parts: [
        [`${running}/${size}`, theme.fg], [" · ", theme.dim], [`${waiting} waiting`, waiting ? theme.mark : theme.dim],
      ],
    };
  }

  queue(ctx, theme, s, box, span) {
    const f = this.folding, W = f.w, mean = f.mean, peak = f.peak;
    f.fold(s.r.series, 0, 4, span, false); // 0 size, 1 maxsize (-1: unbounded), 2 putters, 3 getters
    let top = 1;
    for (let k = span.k0; k < span.k1; k++) {
      top = Math.max(top, mean[k], peak[W + k], peak[2 * W + k], peak[3 * W + k]);
    }
    top = Math.ceil(top);
    const y = (val) => box.bottom - (val * (box.bottom - box.top)) / top;
    this.band(ctx, mean, 0, null, 0, span, y, box.bottom);
    ctx.fillStyle = theme.states[QUEUE];
    ctx.globalAlpha = 0.6;
    ctx.fill();
    ctx.globalAlpha = 1;
    ctx.lineWidth = 1.5;
    this.line(ctx, peak, W, span, y);
    ctx.setLineDash([4, 3]);
    ctx.strokeStyle = theme.dim;
    ctx.stroke();
    ctx.setLineDash([]);
    this.line(ctx, peak, 2 * W, span, y);
    ctx.strokeStyle = theme.states[POOL];
    ctx.stroke();
    this.line(ctx, peak, 3 * W, span, y);
    ctx.strokeStyle = theme.states[IO];
    ctx.stroke();
    const [size, max, putters, getters] = f.valuesAt(s.r.series, f.until, 4);
    return {
      name: shortName(s.r.name), top: si(top),
      parts: [
        [`${size}/${max < 0 ? "∞" : max}`, theme.states[QUEUE]], [" · ", theme.dim],
        [`${putters} put`, theme.states[POOL]], [" · ", theme.dim], [`${getters} get`, theme.states[IO]],
      ],
    };
  }

  switches(ctx, theme, s, box, span) {
    const tr = this.trace;
    const { top, now } = this.folding.binned(span, (a, b) => (tr.switchesIn(a, b) * 1e9) / (b - a));
    this.bars(ctx, span, box, top, theme.accent, null);
    return { name: "switches/s", top: si(top), parts: [[`${si(now)}/s`, theme.fg]] };
  }

  hub(ctx, theme, s, box, span) {
    const tr = this.trace;
    const { now } = this.folding.binned(span, (a, b) => (100 * (tr.waitedUntil(b) - tr.waitedUntil(a))) / (b - a));
    this.bars(ctx, span, box, 100, theme.hubWait, theme.hubBusy);
    const parts = [[`${Math.round(now)}%`, theme.fg], [" in the poller", theme.dim]];
    return { name: "hub waiting", top: "100%", parts };
  }

  // ------------------------------------------------------------ paths

  // pixel column k's x edges, clipped to the data's range
  xl(k, span) {
    return Math.max(this.view.gutter + k, this.view.x(span.ta));
  }
  xr(k, span) {
    return Math.min(this.view.gutter + k + 1, this.view.x(span.tb));
  }

  /** Path of the area between arr[off + k] (top) and lo[loOff + k] (or the baseline), in steps. */
  band(ctx, arr, off, lo, loOff, span, y, base) {
    ctx.beginPath();
    if (span.k1 <= span.k0) return;
    ctx.moveTo(this.xl(span.k0, span), base);
    for (let k = span.k0; k < span.k1; k++) {
      const yy = y(arr[off + k]);
      ctx.lineTo(this.xl(k, span), yy);
      ctx.lineTo(this.xr(k, span), yy);
    }
    if (!lo) ctx.lineTo(this.xr(span.k1 - 1, span), base);
    else {
      for (let k = span.k1 - 1; k >= span.k0; k--) {
        const yy = y(lo[loOff + k]);
        ctx.lineTo(this.xr(k, span), yy);
        ctx.lineTo(this.xl(k, span), yy);
      }
    }
    ctx.closePath();
  }

  /** Path of a step line through arr[off + k]; negative values lift the pen (an unbounded queue's maxsize). */
  line(ctx, arr, off, span, y) {
    ctx.beginPath();
    let down = false;
    for (let k = span.k0; k < span.k1; k++) {
      const val = arr[off + k];
      if (val < 0) {
        down = false;
        continue;
      }
      const yy = Math.round(y(val)) + 0.5;
      if (down) ctx.lineTo(this.xl(k, span), yy);
      else ctx.moveTo(this.xl(k, span), yy);
      ctx.lineTo(this.xr(k, span), yy);
      down = true;
    }
  }

  /** Draw the bins (Folding.binned) as bars of `fill` on a 0..top scale, with their top edge stroked in `edge` if
   * given. */
  bars(ctx, span, box, top, fill, edge) {
    const v = this.view, f = this.folding, bins = f.bins, h = box.bottom - box.top;
    ctx.beginPath();
    for (let q = 0; q < f.nb; q++) {
      const j = f.j0 + q;
      const xa = Math.round(v.x(Math.max(j * f.dt, span.ta)));
      const xb = Math.round(v.x(Math.min((j + 1) * f.dt, span.tb)));
      const bh = (bins[q] * h) / top;
      if (xb > xa && bh > 0) ctx.rect(xa, box.bottom - bh, xb - xa, bh);
    }
    ctx.fillStyle = fill;
    ctx.fill();
    if (!edge) return;
    ctx.beginPath();
    for (let q = 0; q < f.nb; q++) {
      const j = f.j0 + q;
      const xa = Math.round(v.x(Math.max(j * f.dt, span.ta)));
      const xb = Math.round(v.x(Math.min((j + 1) * f.dt, span.tb)));
      const yy = Math.round(box.bottom - (bins[q] * h) / top) + 0.5;
      if (q) ctx.lineTo(xa, yy);
      else ctx.moveTo(xa, yy);
      ctx.lineTo(xb, yy);
    }
    ctx.strokeStyle = edge;
    ctx.lineWidth = 1;
    ctx.stroke();
  }

  // ------------------------------------------------------------ labels

  /** The gutter: name (and scale top) on the first line, values on the second, "+N more" on a third. */
  label(ctx, theme, box, { name, top, parts }, more) {
    const { fs } = this.fonts, pad = 6, right = this.view.gutter - pad;
    ctx.textBaseline = "alphabetic";
    ctx.font = this.fonts.value;
    ctx.textAlign = "right";
    ctx.fillStyle = theme.dim;
    ctx.fillText(top, right, box.y0 + fs + 2);
    const topW = ctx.measureText(top).width;
    ctx.textAlign = "left";
    ctx.font = this.fonts.name;
    ctx.fillStyle = theme.fg;
    ctx.fillText(this.fit(ctx, name, right - topW - 2 * pad), pad, box.y0 + fs + 2);
    ctx.font = this.fonts.value;
    let x = pad;
    for (const [text, colour] of parts) {
      ctx.fillStyle = colour;
      ctx.fillText(text, x, box.y0 + 2 * fs + 5);
      x += ctx.measureText(text).width;
    }
    if (more) {
      ctx.fillStyle = theme.dim;
      ctx.fillText(more, pad, box.y0 + 3 * fs + 8);
    }
  }

  /** `text` cut with an ellipsis to fit `width` px. */
  fit(ctx, text, width) {
    if (ctx.measureText(text).width <= width) return text;
    let lo = 0, hi = text.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (ctx.measureText(text.slice(0, mid) + "…").width <= width) lo = mid;
      else hi = mid - 1;
    }
    return text.slice(0, lo) + "…";
  }

  // ------------------------------------------------------------ tooltips

  /** Tooltip text at CSS px (x, y): the strip's name, the time, its values there. */
  hit(x, y) {
    const tr = this.trace, theme = this.theme, f = this.folding;
    if (!tr || !theme) return null;
    const s = this.strips[Math.floor(y / theme.gauge)];
    if (!s || x >= this.view.gutter + this.view.width) return null;
    const t = x < this.view.gutter ? f.until : this.view.t(x);
    if (t < 0 || t > f.until) return null;
    const at = `${x < this.view.gutter ? "now" : "at"} ${duration(t)}`;
    if (s.kind === "states") {
      const now = tr.stateCounts.at(t, f.now);
      const lines = [`greenthreads ${at}`];
      for (let c = 0; c < model.states.length; c++) {
        const val = now[c];
        if (val) lines.push(`  ${model.states[c].padEnd(8)}${count(val).padStart(8)}`);
      }
      return lines.join("\n");
    }
    if (s.kind === "pool") {
      const [size, running, waiting] = f.valuesAt(s.r.series, t, 3);
      const full = running >= size && waiting > 0 ? "\n  saturated: spawners wait for a slot" : "";
      return `pool ${shortName(s.r.name)} ${at}\n  running ${running} of ${size}\n  waiting ${waiting}${full}`;
    }
    if (s.kind === "queue") {
      const [size, max, putters, getters] = f.valuesAt(s.r.series, t, 4);
      return `queue ${shortName(s.r.name)} ${at}\n  size ${size} of ${max < 0 ? "unbounded" : max}\n`
        + `  putters waiting ${putters}\n  getters waiting ${getters}`;
    }
    f.binRange(Math.floor(t / f.dt));
    const a = f.ba, b = f.bb;
    if (!(b > a)) return null;
    if (s.kind === "switches") {
      const n = tr.switchesIn(a, b);
      return `switches/s ${at}\n  ${count(n)} in ${duration(b - a)} = ${si((n * 1e9) / (b - a))}/s`;
    }
    const waited = tr.waitedUntil(b) - tr.waitedUntil(a);
    return `hub waiting ${at}\n  ${Math.round((100 * waited) / (b - a))}% of ${duration(b - a)} in the poller`;
  }
}

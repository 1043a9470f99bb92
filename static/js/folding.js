// The gauges' numbers, per pixel column of the view: step series folded over each column (their
// time-weighted mean, their peak, a pool's saturation: fold), switches and hub waits counted per bin
// of a few px by binary search (binned).
//
// Work per strip is O(pixels × log n), never O(events). Scratch arrays are typed and reused: nothing
// is allocated per pixel.

import { lastAtOrBefore } from "./lanes.js";

const EXACT = 8; // a pixel column spanning at most this many rows is folded exactly, a busier one sampled
const SAMPLES = 4; // samples per busy pixel column (8 cost ~50% more for 1M rows, for little gain)

/** The arrays the gauges draw from, for `w` pixel columns: mean[c * w + k] and peak[c * w + k] (a series' column c
 * at pixel column k), sat[k], and bins[q] (bin j0 + q, nb of them). A span is the data's time range on screen,
 * [ta, tb], over the pixel columns [k0, k1). */
export class Folding {
  constructor(view) {
    this.view = view;
    this.w = 0; // pixel columns the scratch arrays hold
    this.mean = this.peak = this.bins = null;
    this.sat = null;
    this.acc = new Float64Array(16); // per column sums and maxima of one pixel column
    this.now = new Float64Array(32); // greenthreads per state at one time (foldCounts)
    this.until = 0;
    this.dt = 1; // bin width (ns) of the last draw
  }

  /** A draw of `W` pixel columns, bins of `dt` ns, no data past `until` (ns): the scratch arrays grown if need be. */
  start(W, dt, until) {
    if (W > this.w) {
      this.w = W;
      this.mean = new Float64Array(8 * W); // up to 8 columns of a series at a time
      this.peak = new Float64Array(8 * W);
      this.sat = new Uint8Array(W);
      this.bins = new Float64Array(W + 2);
    }
    this.dt = dt;
    this.until = until;
  }

  /** Fold columns [c0, c0 + n) of step series `series` over the pixel columns [span.k0, span.k1):
   * mean[c * W + k] = time-weighted mean over the pixel column, peak[...] = its maximum, and with
   * `saturation` (pools) sat[k] = 1 if running >= size with spawners waiting at some point in it.
   * A column spanning few rows is folded exactly. A busier one (zoomed out: thousands of switches per px)
   * is sampled at SAMPLES evenly spaced times, each a binary search bounded to the column's rows: that keeps
   * it O(pixels × log n), a mean keeps the stacked states consistent (they add up to the mean live count)
   * where the value at the column's end would flicker between its extremes, and the sampled peak is a
   * good stand-in for the true one. */
  fold(series, c0, n, span, saturation) {
    const W = this.w, mean = this.mean, peak = this.peak, acc = this.acc, sat = this.sat;
    const ts = series.ts.a, rows = series.ts.n, cols = series.cols;
    let i = -1; // the row in force at the column's start
    for (let k = span.k0; k < span.k1; k++) {
      const a = this.ta(k, span), b = this.tb(k, span);
      i = lastAtOrBefore(ts, rows, a, Math.max(i, 0));
      const j = lastAtOrBefore(ts, rows, b, Math.max(i, 0), true); // the last row starting inside [a, b)
      acc.fill(0, 0, 8);
      acc.fill(-Infinity, 8); // no row: no peak (a line lifts its pen there)
      let saturated = 0;
      if (j - i <= EXACT) {
        for (let r = i; r <= j; r++) {
          if (r < 0) continue; // before the first row: zeros
          const wgt = (r < j ? ts[r + 1] : b) - Math.max(a, ts[r]);
          for (let c = 0; c < n; c++) {
            const val = cols[c0 + c].a[r];
            acc[c] += wgt * val;
            if (val > acc[8 + c]) acc[8 + c] = val;
          }
          if (saturation && cols[1].a[r] >= cols[0].a[r] && cols[2].a[r] > 0) saturated = 1;
        }
        for (let c = 0; c < n; c++) acc[c] /= b - a;
      } else {
        let r = i;
        for (let q = 0; q < SAMPLES; q++) {
          r = lastAtOrBefore(ts, j + 1, a + ((q + 0.5) * (b - a)) / SAMPLES, Math.max(r, 0));
          if (r < 0) continue;
          for (let c = 0; c < n; c++) {
            const val = cols[c0 + c].a[r];
            acc[c] += val / SAMPLES;
            if (val > acc[8 + c]) acc[8 + c] = val;
          }
          if (saturation && cols[1].a[r] >= cols[0].a[r] && cols[2].a[r] > 0) saturated = 1;
        }
      }
      for (let c = 0; c < n; c++) {
        mean[c * W + k] = acc[c];
        peak[c * W + k] = acc[8 + c];
      }
      if (saturation) sat[k] = saturated;
    }
  }

  /** Fold greenthreads per state (`counts`, a StateCounts: states [0, n)) over the pixel columns [span.k0, span.k1)
   * into mean[c * W + k], as `fold` folds a series: exactly where a column holds few moves (a switch is two), else
   * sampled at SAMPLES times. */
  foldCounts(counts, n, span) {
    const W = this.w, mean = this.mean, acc = this.acc, now = this.now, ts = counts.ts.a, moves = counts.ts.n;
    let i = -1; // the last move at or before the column's start
    for (let k = span.k0; k < span.k1; k++) {
      const a = this.ta(k, span), b = this.tb(k, span);
      i = counts.last(a, Math.max(i, 0));
      const j = lastAtOrBefore(ts, moves, b, Math.max(i, 0), true); // the last move inside [a, b)
      acc.fill(0, 0, n);
      if (j - i <= 2 * EXACT) {
        counts.after(i, now);
        let t = a;
        for (let m = i + 1; m <= j + 1; m++) {
          const until = m <= j ? ts[m] : b;
          for (let c = 0; c < n; c++) acc[c] += (until - t) * now[c];
          if (m <= j) counts.apply(m, now);
          t = until;
        }
        for (let c = 0; c < n; c++) acc[c] /= b - a;
      } else {
        let r = i;
        for (let q = 0; q < SAMPLES; q++) {
          r = lastAtOrBefore(ts, j + 1, a + ((q + 0.5) * (b - a)) / SAMPLES, Math.max(r, 0));
          counts.after(r, now);
          for (let c = 0; c < n; c++) acc[c] += now[c] / SAMPLES;
        }
      }
      for (let c = 0; c < n; c++) mean[c * W + k] = acc[c];
    }
  }

  /** Values of row in force at t of `series`' first n columns (zeros before its first row). */
  valuesAt(series, t, n) {
    const r = series.at(t);
    return series.cols.slice(0, n).map((c) => (r < 0 ? 0 : c.a[r]));
  }

  // pixel column k's time range, clipped to the data's range
  ta(k, span) {
    return Math.max(span.ta, this.view.t(this.view.gutter + k));
  }
  tb(k, span) {
    return Math.min(span.tb, this.view.t(this.view.gutter + k + 1));
  }

  /** The time range [this.ba, this.bb) of bin j: [j dt, (j + 1) dt), or for the bin holding `until` the dt
   * before it (a full bin, so the live edge does not divide a few events by a sliver of time). */
  binRange(j) {
    const dt = this.dt;
    this.ba = j * dt;
    this.bb = this.ba + dt;
    if (this.bb > this.until) {
      this.bb = this.until;
      this.ba = Math.max(0, this.until - dt);
    }
  }

  /** bins[] = f(a, b) per bin over the span; returns the largest and the one at `until`. */
  binned(span, f) {
    const bins = this.bins;
    let top = 0, now = 0;
    this.j0 = Math.floor(span.ta / this.dt);
    this.nb = span.tb > span.ta ? Math.min(bins.length, Math.ceil(span.tb / this.dt) - this.j0) : 0;
    for (let q = 0; q < this.nb; q++) {
      this.binRange(this.j0 + q);
      const val = this.bb > this.ba ? f(this.ba, this.bb) : 0;
      bins[q] = val;
      if (val > top) top = val;
    }
    this.binRange(Math.floor(this.until / this.dt));
    if (this.bb > this.ba) now = f(this.ba, this.bb);
    return { top: Math.max(top, 1e-9), now };
  }
}

// The view: which time range maps to which pixel columns, shared by the timeline and the gauges.

/** The visible time range [t0, t1] (ns since the session's start) over `width` whole px right of `gutter`:
 * column c (x = gutter + c) covers [t0 + c·w, t0 + (c+1)·w) with w = (t1 − t0) / width. */
export class View {
  constructor() {
    this.t0 = 0;
    this.t1 = 1e9;
    this.gutter = 180;
    this.width = 1;
  }
  x(t) {
    return this.gutter + ((t - this.t0) * this.width) / (this.t1 - this.t0);
  }
  t(x) {
    return this.t0 + ((x - this.gutter) * (this.t1 - this.t0)) / this.width;
  }
  /** ns per pixel. */
  get scale() {
    return (this.t1 - this.t0) / this.width;
  }
}

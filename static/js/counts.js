// Greenthreads per state over time, kept as the moves between states: a move is 10 bytes (when, from, to) and the
// counts before every STEP-th move are kept too (12 bytes a move in all), so the counts at any time are a binary
// search and at most STEP - 1 moves away. A row of every state's count at each change took 44 bytes (9 states):
// on a flood of a million events a second that was the page's largest array, and its doubling at 8M events
// stalled the page for a second. No DOM: Node runs it too.

import { Column, Columns, lastAtOrBefore } from "./lanes.js";

const STEP = 16; // moves between two kept rows of counts (a row of 9 states: 2.25 bytes a move)
export const NONE = 255; // `from` of a greenthread's first state: it was not counted before

export class StateCounts {
  constructor(states) {
    this.names = states;
    this.now = new Int32Array(states.length); // greenthreads per state after the last move
    this.moves = new Columns([Float64Array, Uint8Array, Uint8Array], 64);
    [this.ts, this.from, this.to] = this.moves.cols;
    this.marks = new Column(Int32Array, 16 * states.length); // the counts before moves 0, STEP, 2 STEP...
  }

  /** A greenthread goes from state `from` (NONE: it was not counted) to `to` at `ts` (never before the last move). */
  move(ts, from, to) {
    const i = this.moves.add(), now = this.now;
    if (i % STEP === 0) for (let s = 0; s < now.length; s++) this.marks.push(now[s]);
    this.ts.a[i] = i ? Math.max(ts, this.ts.a[i - 1]) : ts;
    this.from.a[i] = from;
    this.to.a[i] = to;
    if (from !== NONE) now[from]--;
    now[to]++;
  }

  /** The index of the last move at or before `t` (-1: none), searching from move `lo` on. */
  last(t, lo = 0) {
    return lastAtOrBefore(this.ts.a, this.ts.n, t, lo);
  }

  /** `out[s]` = greenthreads in state s once moves 0..i are made (zeros for i = -1); returns `out`. */
  after(i, out) {
    const n = i + 1, S = this.now.length;
    if (n === this.ts.n) out.set(this.now);
    else {
      const k = Math.floor(n / STEP), marks = this.marks.a; // no view made: this runs for every pixel column
      for (let s = 0; s < S; s++) out[s] = marks[k * S + s];
      for (let j = k * STEP; j < n; j++) this.apply(j, out);
    }
    return out;
  }

  /** The counts in force at `t` into `out`. */
  at(t, out) {
    return this.after(this.last(t), out);
  }

  /** Move j made on `out`. */
  apply(j, out) {
    const from = this.from.a[j];
    if (from !== NONE) out[from]--;
    out[this.to.a[j]]++;
  }
}

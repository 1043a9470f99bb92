// What a lane shows in each pixel column: the state that held most of the column's time.
//
// This is the timeline's one rule for merging (docs: README "The picture is true"): a column
// covers [t0 + c·w, t0 + (c+1)·w) with w = (t1 − t0) / width ns; the lane's intervals are summed
// over it, state by state, and the largest sum wins (a tie goes to the state listed first).
// Columns inside one interval are taken whole, so the work is O(intervals in view + runs) (the
// first in view found by binary search), and a column packed with 100k tiny intervals is summed
// exactly, never sampled. The tests hold the pixels drawn from it to an oracle computed in Python
// from `runtime.trace.states.intervals()`.

import { BLOCK, lastAtOrBefore } from "./lanes.js";

/**
 * Walk the pixel columns of one lane and call `run(c0, c1, state)` for each run of columns
 * [c0, c1) showing one state, left to right.
 * `a[0..n)`: the lane's transition times (sorted), `st`: the state each one enters; interval i
 * runs from a[i] to a[i+1], the last one to `end`. Columns with none of the lane's time (before
 * a[0], from `end` on) are left out. `acc`: a Float64Array of one slot per state (scratch).
 * `sums`: the lane's time in each state per block of BLOCK intervals (lanes.js' `Lane.sums`), or
 * null: a column holding whole blocks adds theirs, not each interval's (a lane of a million
 * sleep(0)s at fit: hundreds of intervals a column).
 */
export function columnRuns(a, st, n, end, t0, t1, width, acc, run, sums = null) {
  if (n === 0 || !(t1 > t0) || width <= 0) return;
  const w = (t1 - t0) / width;
  const start = a[0];
  if (!(Math.min(end, t0 + width * w) > Math.max(start, t0))) return;
  // the first column with some of the lane's time
  let c = Math.max(0, Math.min(width - 1, Math.floor((start - t0) / w)));
  while (c > 0 && t0 + c * w > start) c--;
  while (c + 1 < width && t0 + (c + 1) * w <= start) c++;
  let i = Math.max(0, lastAtOrBefore(a, n, Math.max(t0 + c * w, start))); // the interval holding its start
  let runState = -1, runStart = 0;
  for (; c < width; c++) {
    const s0 = Math.max(t0 + c * w, start), s1 = Math.min(t0 + (c + 1) * w, end);
    if (!(s1 > s0)) break; // the lane's time is over
    while (i + 1 < n && a[i + 1] <= s0) i++; // the interval holding the column's start
    const ei = i + 1 < n ? Math.min(a[i + 1], end) : end;
    let state, last = c;
    if (ei >= s1) {
      // the whole column is in interval i, and so is every column that ends before it does
      state = st[i];
      last = Math.min(width - 1, Math.max(c, Math.floor((ei - t0) / w) - 1));
      while (last + 1 < width && t0 + (last + 2) * w <= ei) last++;
      while (last > c && t0 + (last + 1) * w > ei) last--;
    } else {
      // several intervals share the column: the state with the most time in it
      acc.fill(0);
      let j = i;
      for (;;) {
        // a whole block from here, ending in the column (so before `end`): its sums (j > i: it starts in it)
        if (sums !== null && j > i && j % BLOCK === 0 && j + BLOCK < n && a[j + BLOCK] < s1) {
          const at = (j / BLOCK) * acc.length;
          for (let s = 0; s < acc.length; s++) acc[s] += sums[at + s];
          j += BLOCK;
          continue;
        }
        const sj = Math.max(a[j], s0), ej = Math.min(j + 1 < n ? Math.min(a[j + 1], end) : end, s1);
        if (ej > sj) acc[st[j]] += ej - sj;
        if (j + 1 < n && a[j + 1] < s1) j++;
        else break;
      }
      i = j;
      state = 0;
      for (let s = 1; s < acc.length; s++) if (acc[s] > acc[state]) state = s;
    }
    if (state !== runState) {
      if (runState >= 0) run(runStart, c, runState);
      runState = state;
      runStart = c;
    }
    c = last;
  }
  if (runState >= 0) run(runStart, c, runState);
}

// columnRuns against the rule spelled out column by column (brute force), on random lanes and views.

import assert from "node:assert/strict";
import { test } from "node:test";

import { columnRuns } from "../../static/js/columns.js";
import { Lane } from "../../static/js/lanes.js";

const STATES = 9;

/** The rule itself, one column at a time: the state holding most of [t0 + c·w, t0 + (c+1)·w). */
function bruteForce(a, st, end, t0, t1, width) {
  const w = (t1 - t0) / width, out = new Array(width).fill(-1);
  for (let c = 0; c < width; c++) {
    const s0 = Math.max(t0 + c * w, a[0]), s1 = Math.min(t0 + (c + 1) * w, end);
    if (!(s1 > s0)) continue;
    const acc = new Float64Array(STATES);
    for (let i = 0; i < a.length; i++) {
      const lo = Math.max(a[i], s0), hi = Math.min(i + 1 < a.length ? Math.min(a[i + 1], end) : end, s1);
      if (hi > lo) acc[st[i]] += hi - lo;
    }
    let best = 0;
    for (let s = 1; s < STATES; s++) if (acc[s] > acc[best]) best = s;
    out[c] = best;
  }
  return out;
}

/** The columns columnRuns gives; with `blocks`, the lane's time per state per block of intervals given too (kept by
 * a `Lane` as its transitions come). */
function drawn(a, st, end, t0, t1, width, blocks = false) {
  const out = new Array(width).fill(-1);
  let last = -1, sums = null;
  if (blocks) {
    const lane = new Lane(2, 0, a[0], st[0], 0, null, STATES);
    for (let i = 1; i < a.length; i++) lane.push(a[i], st[i], 0, 0, 0, 0);
    sums = lane.sums?.a ?? null;
    if (blocks === "zeros" && sums) sums = new Float64Array(sums.length);
  }
  const runs = (c0, c1, s) => {
    assert.ok(c0 >= last && c1 > c0, `runs in order: [${c0}, ${c1}) after ${last}`);
    last = c1;
    out.fill(s, c0, c1);
  };
  columnRuns(Float64Array.from(a), Uint8Array.from(st), a.length, end, t0, t1, width, new Float64Array(STATES), runs, sums);
  return out;
}

/** A lane of `n` intervals: bursts of tiny ones and long ones, some zero-length. */
function randomLane(rnd, n) {
  const a = [], st = [];
  let t = Math.floor(rnd() * 1e6);
  for (let i = 0; i < n; i++) {
    a.push(t);
    st.push(Math.floor(rnd() * STATES));
    const r = rnd();
    t += r < 0.1 ? 0 : r < 0.7 ? Math.floor(rnd() * 50) + 1 : Math.floor(rnd() * 1e6);
  }
  return { a, st, end: t + Math.floor(rnd() * 1e5) };
}

function mulberry32(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test("every column is the state that held most of it, at any zoom", () => {
  const rnd = mulberry32(7);
  for (let k = 0; k < 400; k++) {
    const { a, st, end } = randomLane(rnd, 1 + Math.floor(rnd() * 300));
    const width = 1 + Math.floor(rnd() * 400);
    const span = end - a[0];
    const zoom = [1, 10, 1000, 1e5][k % 4];
    const t0 = a[0] - span * 0.1 + rnd() * span, t1 = t0 + (span * 1.2) / zoom + 1;
    assert.deepEqual(drawn(a, st, end, t0, t1, width), bruteForce(a, st, end, t0, t1, width), `case ${k}`);
  }
});

test("a long state after a burst of tiny ones is drawn whole", () => {
  // 300 intervals of 1 ns alternating running/ready, then 400 ms running: the bug this rule replaced
  const a = [], st = [];
  for (let i = 0; i < 300; i++) {
    a.push(i);
    st.push(i % 2);
  }
  a.push(300);
  st.push(2);
  const cols = drawn(a, st, 300 + 4e8, 0, 4e8, 800);
  assert.equal(cols.filter((s) => s === 2).length, 800);
});

test("an interval exactly one column wide fills exactly that column", () => {
  const cols = drawn([0, 1000, 2000, 3000], [1, 2, 3, 4], 4000, 0, 4000, 4);
  assert.deepEqual(cols, [1, 2, 3, 4]);
});

test("a column holding whole blocks of intervals sums them by the lane's blocks, to the same state", () => {
  const rnd = mulberry32(11);
  let consulted = 0;
  for (let k = 0; k < 200; k++) {
    // bursts: most intervals a few ns, some long
    const n = 200 + Math.floor(rnd() * 3000), a = [], st = [];
    let t = 0;
    for (let i = 0; i < n; i++) {
      a.push(t);
      st.push(Math.floor(rnd() * STATES));
      t += rnd() < 0.97 ? Math.floor(rnd() * 50) + 1 : Math.floor(rnd() * 5e4);
    }
    const end = t + 100, width = 1 + Math.floor(rnd() * 200), zoom = [1, 3, 30][k % 3];
    const t0 = -0.1 * end + rnd() * end, t1 = t0 + (end * 1.2) / zoom + 1;
    const until = k % 4 === 0 ? a[Math.floor(n / 2)] : end; // replaying: the lane known up to its middle
    const want = bruteForce(a, st, until, t0, t1, width);
    assert.deepEqual(drawn(a, st, until, t0, t1, width, true), want, `case ${k}`);
    if (JSON.stringify(drawn(a, st, until, t0, t1, width, "zeros")) !== JSON.stringify(want)) consulted++;
  }
  assert.ok(consulted >= 10, `the sums decided ${consulted} cases`); // zeros for sums draw something else
});

// StateCounts (counts.js): greenthreads per state at any time, from the moves between states, held to a replay of
// the moves one by one.

import assert from "node:assert/strict";
import { test } from "node:test";

import { NONE, StateCounts } from "../../static/js/counts.js";

const STATES = ["running", "ready", "io", "queue", "sync", "pool", "sleep", "lost", "done"];

/** Random moves of `lanes` greenthreads (times repeat, and with `back` go back in time: they are clamped), as
 * [ts, from, to]. */
function randomMoves(n, lanes, seed, back = true) {
  let x = seed;
  const rnd = (k) => ((x = (x * 48271) % 2147483647), x % k); // Park-Miller: exact in doubles
  const state = [], moves = [];
  let ts = 0;
  for (let i = 0; i < n; i++) {
    ts += back ? rnd(4) - 1 : rnd(3); // 0 to 2 ns on, or 1 back
    const g = rnd(lanes);
    const to = rnd(STATES.length);
    moves.push([ts, state[g] ?? NONE, to]);
    state[g] = to;
  }
  return moves;
}

/** The counts in force at t: every move at or before t (each clamped to the one before it), one by one. */
function replay(moves, t) {
  const out = new Array(STATES.length).fill(0);
  let last = -Infinity;
  for (const [ts, from, to] of moves) {
    last = Math.max(last, ts);
    if (last > t) break;
    if (from !== NONE) out[from]--;
    out[to]++;
  }
  return out;
}

test("the counts at any time are those of the moves made by then, across the kept rows", () => {
  for (const seed of [1, 2, 3]) {
    const moves = randomMoves(1000, 30, seed), counts = new StateCounts(STATES);
    for (const [ts, from, to] of moves) counts.move(ts, from, to);
    const out = new Int32Array(STATES.length), end = counts.ts.a[counts.ts.n - 1];
    for (let t = -2; t <= end + 2; t++) assert.deepEqual([...counts.at(t, out)], replay(moves, t), `seed ${seed}, t ${t}`);
    assert.deepEqual([...counts.now], replay(moves, Infinity));
  }
});

test("after(i) is the counts once moves 0..i are made, for every i (on and around each kept row)", () => {
  const moves = randomMoves(300, 7, 9), counts = new StateCounts(STATES);
  const out = new Float64Array(STATES.length), running = new Array(STATES.length).fill(0);
  assert.deepEqual([...counts.after(-1, out)], running);
  moves.forEach(([ts, from, to], i) => {
    counts.move(ts, from, to);
    if (from !== NONE) running[from]--;
    running[to]++;
    assert.deepEqual([...counts.after(i, out)], running, `after move ${i}, the last`);
  });
  const again = new Array(STATES.length).fill(0);
  moves.forEach(([, from, to], i) => {
    if (from !== NONE) again[from]--;
    again[to]++;
    assert.deepEqual([...counts.after(i, out)], again, `after move ${i} of ${moves.length}`);
  });
});

test("the states' gauge folds the counts over each pixel column: their time-weighted mean, exact", async () => {
  const { Folding } = await import("../../static/js/folding.js");
  const moves = randomMoves(2000, 40, 5, false), counts = new StateCounts(STATES);
  for (const [ts, from, to] of moves) counts.move(ts, from, to);
  const end = counts.ts.a[counts.ts.n - 1], W = 400, w = end / W; // about 5 moves a column: folded exactly
  const f = new Folding({ gutter: 0, t: (x) => x * w });
  for (let k = 0; k < W; k++) assert.ok(counts.last((k + 1) * w) - counts.last(k * w) <= 16, "a column of few moves");
  f.start(W, 1, end);
  f.foldCounts(counts, 8, { k0: 0, k1: W, ta: 0, tb: end });
  for (let k = 0; k < W; k++) {
    // the oracle: the counts at every ns of the column (times are whole ns), summed
    const a = k * w, b = (k + 1) * w, sums = new Array(8).fill(0);
    const inside = [...new Set(moves.map(([ts]) => ts))].filter((t) => t > a && t < b).sort((p, q) => p - q);
    const cuts = [a, ...inside, b];
    for (let c = 0; c + 1 < cuts.length; c++) {
      const held = replay(moves, cuts[c]);
      for (let s = 0; s < 8; s++) sums[s] += held[s] * (cuts[c + 1] - cuts[c]);
    }
    for (let s = 0; s < 8; s++) assert.ok(Math.abs(f.mean[s * W + k] - sums[s] / (b - a)) < 1e-9, `column ${k}, ${STATES[s]}`);
  }
});

// Slabs (slabs.js): regions in use never overlap, a region given back is taken again, an empty slab is let go.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Slabs } from "../../static/js/slabs.js";

test("regions in use keep their bytes: none overlaps another, taken or given back in any order", () => {
  const slabs = new Slabs(), held = [];
  let x = 7, mark = 0;
  const rnd = (k) => ((x = (x * 48271) % 2147483647), x % k);
  const check = (h) => assert.ok(new Uint8Array(h.r.buf, h.r.at, h.bytes).every((b) => b === h.mark), "overwritten");
  for (let step = 0; step < 20000; step++) {
    if (held.length && rnd(5) < 2) {
      const h = held.splice(rnd(held.length), 1)[0];
      check(h);
      slabs.give(h.r);
    } else {
      const bytes = 8 * [1, 3, 8, 100, 5000, 9000][rnd(6)]; // the last ones larger than a slab's regions
      const r = slabs.take(bytes), h = { r, bytes, mark: (mark = (mark % 255) + 1) };
      new Uint8Array(r.buf, r.at, bytes).fill(h.mark);
      held.push(h);
    }
  }
  held.forEach(check);
});

test("a region given back is the next one taken of its size; a slab with none in use is let go", () => {
  const slabs = new Slabs();
  const a = slabs.take(64), b = slabs.take(64);
  assert.equal(a.buf, b.buf); // one slab
  slabs.give(a);
  assert.equal(slabs.take(64).at, a.at);
  const many = Array.from({ length: 40 }, () => slabs.take(64)); // three slabs, one used in part
  for (const r of [b, ...many]) slabs.give(r);
  assert.equal(slabs.open.get(64).length, 1); // the empty ones are let go, one kept for the next
});

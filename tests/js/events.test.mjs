// events.js's readBatch on the wire's three kinds of column (int64s, a table and its indexes, a list), and the
// trace taking a coded column's strings once per distinct value, not once per event.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Model, readBatch, Values } from "../../static/js/events.js";
import { Trace } from "../../static/js/trace.js";
import { pythonSchema, wireBatch } from "./support.mjs";

const schema = pythonSchema();
const model = new Model(schema);

test("a coded column is read through its table, its indexes in place; a column the batch lacks reads undefined", () => {
  const events = [];
  for (let i = 0; i < 600; i++) events.push(["wake", 1000 + i, 2 + (i % 3), ["timer", "put"][i % 2], null, i]);
  const batch = wireBatch(schema, events);
  delete batch.columns.wake.late; // (a program from before lateness was traced)
  const { kinds, cols } = readBatch(batch, model);
  const wake = cols[model.codes.get("wake")];
  assert.equal(kinds.length, 600);
  assert.ok(wake.cause.ids instanceof Uint8Array && wake.cause.ids.buffer === batch.data);
  assert.deepEqual(wake.cause.table, ["timer", "put"]);
  assert.deepEqual([0, 1, 2, 599].map((j) => [wake.ts.at(j), wake.gid.at(j), wake.cause.at(j), wake.waker.at(j)]), [
    [0, 2, "timer", null], [1, 3, "put", null], [2, 4, "timer", null], [599, 4, "put", null],
  ]);
  assert.equal(wake.late.at(7), undefined);
  assert.equal(readBatch(batch, model).cols, cols, "the trace and the narration read a batch once");
});

test("a table of more than 256 values has indexes of 2 bytes", () => {
  const events = [];
  for (let i = 0; i < 1200; i++) events.push(["block", i, 2, "sleep", null, null, `a.py:${(i * 7) % 300}`]);
  const where = readBatch(wireBatch(schema, events), model).cols[model.codes.get("block")].where;
  assert.ok(where.ids instanceof Uint16Array && where.table.length === 300);
  assert.deepEqual([0, 1, 1199].map((j) => where.at(j)), ["a.py:0", "a.py:7", `a.py:${(1199 * 7) % 300}`]);
});

test("Values.map calls its function once per distinct value of a coded column, once per event of a list", () => {
  let calls = 0;
  const coded = new Values(["a", "b"], new Uint8Array([0, 1, 1, 0, 1])).map((s) => (calls++, s.toUpperCase()));
  assert.deepEqual([0, 1, 2, 3, 4].map((j) => coded.at(j)), ["A", "B", "B", "A", "B"]);
  assert.equal(calls, 2);
  const list = new Values(["x", "y", "x"]).map((s) => s + "!");
  assert.deepEqual([0, 1, 2].map((j) => list.at(j)), ["x!", "y!", "x!"]);
});

test("the trace keeps a coded column's strings as it kept a list's: the same intervals and details", () => {
  const events = [["spawn", 1000, 2, 1, "f", "p.py:1", null], ["switch", 1010, 0, 2]];
  for (let i = 0; i < 40; i++) {
    const ts = 1020 + 30 * i;
    events.push(["block", ts, 2, ["io_read", "sleep"][i % 2], null, [null, 0.5][i % 2], "p.py:9"]);
    events.push(["switch", ts + 5, 2, 0], ["wake", ts + 10, 2, ["fd_ready", "timer"][i % 2], 0, 0]);
    events.push(["switch", ts + 20, 0, 2]);
  }
  const coded = new Trace(model), listed = new Trace(model);
  coded.ingest(wireBatch(schema, events));
  for (const e of events) listed.ingest(wireBatch(schema, [e], { origin: 1000 })); // one event a batch: lists
  const lane = (tr) => tr.byGid.get(2);
  assert.deepEqual(coded.intervals(lane(coded)), listed.intervals(lane(listed)));
  const slept = coded.intervals(lane(coded)).findIndex(([, , , detail]) => detail === "sleep"); // i = 1
  assert.equal(coded.detail(lane(coded).info.a[slept]), "0.5");
  assert.equal(coded.detail(lane(coded).wh.a[slept]), "p.py:9");
  assert.equal(lane(coded).info.a[slept - 3], 0, "io_read: no detail"); // i = 0
});

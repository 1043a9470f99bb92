// trace.js against the golden corpus (tests/corpus/states): the same intervals as runtime/trace/states.py,
// whether the events come in one batch or split into two at any point.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Model } from "../../static/js/events.js";
import { Trace } from "../../static/js/trace.js";
import { corpus, intervalsOf, pythonSchema, wireBatch } from "./support.mjs";

const schema = pythonSchema();
const model = new Model(schema);

for (const c of corpus()) {
  test(`${c.name}: ${c.about}`, () => {
    const first = c.midway ? 1 : 0; // the index of the first event in its session: midway, not the first
    const whole = new Trace(model);
    whole.ingest(wireBatch(schema, c.events, { first }));
    assert.deepEqual(intervalsOf(whole), c.intervals);
    for (let cut = 1; cut < c.events.length; cut++) {
      const split = new Trace(model);
      const origin = c.events[0][1];
      split.ingest(wireBatch(schema, c.events.slice(0, cut), { origin, first }));
      split.ingest(wireBatch(schema, c.events.slice(cut), { origin, first: first + cut }));
      assert.deepEqual(intervalsOf(split), c.intervals, `split before event ${cut}`);
    }
  });
}

test("a range of a recording (its first event after the session's origin) gives each case the same intervals", () => {
  for (const c of corpus()) {
    const tr = new Trace(model);
    tr.ingest(wireBatch(schema, c.events, { origin: c.events[0][1] - 5_000_000, first: c.midway ? 1 : 0 }));
    assert.deepEqual(intervalsOf(tr), c.intervals, c.name);
    assert.equal(tr.start, 5_000_000, c.name);
    assert.equal(tr.hub.ts.a[0], 5_000_000, `${c.name}: the hub is busy from the first event`);
  }
});

test("the model is the schema's: states, labels and every reason from Python", () => {
  assert.deepEqual(model.states, schema.states);
  assert.equal(model.stateOf("io_read"), schema.states.indexOf("io"));
  assert.equal(model.stateOf("never heard of"), schema.states.indexOf(schema.blocked_otherwise));
});

test("a viewer's own loss (a batch that says it dropped events) makes every live lane unknown from the last event", () => {
  const tr = new Trace(model);
  tr.ingest(wireBatch(schema, [["spawn", 1000, 2, 1, "f", "p.py:1", null], ["switch", 1010, 0, 2]]));
  tr.ingest(wireBatch(schema, [["switch", 1500, 2, 0]], { dropped: 7, origin: 1000 }));
  assert.equal(tr.dropped, 7);
  assert.deepEqual(intervalsOf(tr)[2], [
    [1000, 1010, "ready", "spawn"],
    [1010, 1010, "running", null],
    [1010, 1500, "lost", "events lost"],
    [1500, 1500, "ready", "yield"],
  ]);
});

test("a lane keeps the object of the transitions that waited on one; the counts have it asleep", () => {
  const tr = new Trace(model);
  const q = 0x7f0000001000;
  tr.ingest(
    wireBatch(schema, [
      ["spawn", 1000, 2, 1, "f", "p.py:1", null],
      ["switch", 1010, 0, 2],
      ["block", 1020, 2, "queue_get", q, null, "p.py:2 in f"],
      ["switch", 1030, 2, 0],
      ["wake", 1040, 2, "put", 1, 0],
      ["switch", 1050, 0, 2],
      ["block", 1060, 2, "sleep", null, 0.5, "p.py:3 in f"],
      ["switch", 1070, 2, 0],
    ]),
  );
  const lane = tr.byGid.get(2);
  // the queue wait names its queue; the sleep after it no object
  assert.deepEqual([...lane.ob.a.subarray(0, lane.ts.n)].map((code) => tr.detail(code)), [null, null, q, null, null, null]);
  assert.equal(tr.stateCounts.now[schema.states.indexOf("sleep")], 1);
});

test("a batch taken a few events at a time gives each case the same intervals as taken whole", () => {
  for (const c of corpus()) {
    for (const limit of [1, 2, 3]) {
      const tr = new Trace(model);
      const reading = tr.reading(wireBatch(schema, c.events, { first: c.midway ? 1 : 0 }));
      let slices = 1;
      while (!tr.ingestSome(reading, limit)) slices++;
      assert.equal(slices, Math.max(1, Math.ceil(c.events.length / limit)), c.name);
      assert.equal(tr.events, c.events.length, c.name);
      assert.deepEqual(intervalsOf(tr), c.intervals, `${c.name}, ${limit} at a time`);
    }
  }
});

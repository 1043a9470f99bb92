// feed.js: batches taken into the trace in order, a slice per task at least, each acknowledged once it is all in,
// those no longer wanted dropped unacknowledged.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Model } from "../../static/js/events.js";
import { Feed } from "../../static/js/feed.js";
import { Trace } from "../../static/js/trace.js";
import { intervalsOf, pythonSchema, wireBatch } from "./support.mjs";

const schema = pythonSchema();
const model = new Model(schema);

/** Two greenthreads switching `n` times, from ts `t`: [kind, ts, ...fields] events. */
function switching(n, t) {
  const events = [];
  for (let i = 0; i < n; i++) events.push(["switch", t + 10 * i, 1 + (i % 2), 2 - (i % 2)]);
  return events;
}

/** A Feed of a zero budget (a slice a task) on `trace`: each batch's id as it is acknowledged, and the tasks. */
function fed(trace, current = () => true) {
  const got = { acked: [], tasks: 0, done: null };
  got.all = new Promise((resolve) => (got.done = resolve));
  got.feed = new Feed({ budget: 0, current, done: ({ ack }) => ack(), spent: () => got.tasks++ });
  return got;
}

test("batches go in whole and in order, a slice a task, each acknowledged once it is in", async () => {
  const events = [["spawn", 0, 2, 1, "worker", "prog.py:3", null], ...switching(10_000, 100)];
  const parts = [events.slice(0, 9_000), events.slice(9_000, 9_001), events.slice(9_001)];
  const trace = new Trace(model), got = fed(trace);
  parts.forEach((part, i) => {
    got.feed.push(trace, wireBatch(schema, part, { origin: 0 }), () => {
      got.acked.push([i, trace.events]);
      if (i === parts.length - 1) got.done();
    });
  });
  await got.all;
  got.feed.channel.port1.close(); // (Node waits on an open port)
  assert.deepEqual(got.acked, [[0, 9_000], [1, 9_001], [2, events.length]]);
  assert.equal(got.tasks, 5); // a 4096-event slice a task: 9000 in three, then 1, then 1000
  const whole = new Trace(model);
  whole.ingest(wireBatch(schema, events, { origin: 0 }));
  assert.deepEqual(intervalsOf(trace), intervalsOf(whole));
});

test("a batch no longer wanted is dropped, never acknowledged, even halfway in", async () => {
  const trace = new Trace(model);
  let wanted = true;
  const got = fed(trace, () => wanted);
  got.feed.push(trace, wireBatch(schema, switching(10_000, 0), { origin: 0 }), () => got.acked.push(0));
  got.feed.spent = () => {
    got.tasks++;
    wanted = false; // after its first slice: the page subscribed again
    if (got.tasks === 2) got.done();
  };
  await got.all;
  got.feed.channel.port1.close();
  assert.deepEqual(got.acked, []);
  assert.equal(trace.events, 4096);
  assert.equal(got.feed.queue.length, 0);
});

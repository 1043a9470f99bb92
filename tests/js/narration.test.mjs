// narration.js on the server's wire batches: what the hub did since its last control event, in words.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Narrator } from "../../static/js/narration.js";
import { Model } from "../../static/js/events.js";
import { Trace } from "../../static/js/trace.js";
import { pythonSchema, wireBatch } from "./support.mjs";

const schema = pythonSchema();
const model = new Model(schema);
const ORIGIN = 5_000_000_000;

/** A trace and a narrator fed `batches` (lists of events, ts from ORIGIN) as the page feeds them. */
function narrated(...batches) {
  const trace = new Trace(model), narrator = new Narrator({ innerHTML: "", hidden: true });
  for (const events of batches) {
    const batch = wireBatch(schema, events.map(([kind, ts, ...f]) => [kind, ORIGIN + ts, ...f]), { origin: ORIGIN });
    trace.ingest(batch);
    narrator.ingest(batch, trace);
  }
  narrator.show(trace, { poller: "epoll" });
  return { trace, narrator };
}

const START = [
  ["spawn", 0, 1, 0, "main", "app.py:1", null],
  ["switch", 10, 0, 1],
  ["spawn", 20, 2, 1, "fetch", "app.py:3", null],
  ["block", 30, 1, "sleep", null, 0.5, "app.py:9 in <module>"],
  ["switch", 40, 1, 0],
];

test("a step: the events since the control event, the greenthread that ran named", () => {
  const { narrator } = narrated(START, [["control", 100, "paused", 1]], [
    ["control", 200, "stepped", 1],
    ["switch", 210, 0, 2],
    ["block", 220, 2, "io_read", null, "127.0.0.1:8080", "app.py:4 in fetch"],
    ["switch", 230, 2, 0],
  ]);
  assert.deepEqual(narrator.kept.map((e) => e.kind), ["control", "switch", "block", "switch"]);
  assert.deepEqual(narrator.kept[2], {
    kind: "block", ts: 220, gid: 2, reason: "io_read", obj: null, detail: "127.0.0.1:8080", where: "app.py:4 in fetch",
  });
  assert.match(narrator.el.innerHTML, /^<span class="said"><strong>Step:<\/strong> gt2 <code>fetch<\/code> \(new\) runs/);
  assert.match(narrator.el.innerHTML, /gt2 <code>fetch<\/code> blocked reading 127\.0\.0\.1:8080 at app\.py:4/);
  assert.equal(narrator.el.hidden, false);
});

test("paused: the hub holds, and who runs next is said; at full speed the line goes", () => {
  const { trace, narrator } = narrated(START, [["wake", 90, 1, "timer", 0, 0], ["control", 100, "paused", 1]]);
  assert.match(narrator.el.innerHTML, /<strong>Paused:<\/strong> the hub holds/);
  assert.match(narrator.el.innerHTML, /<strong>Next:<\/strong> gt2 <code>fetch<\/code> \(new\)/);
  const batch = wireBatch(schema, [["control", ORIGIN + 300, "resumed", 1], ["switch", ORIGIN + 310, 0, 2]], {
    origin: ORIGIN,
  });
  trace.ingest(batch);
  narrator.ingest(batch, trace);
  narrator.show(trace, null);
  assert.equal(narrator.el.innerHTML, "");
  assert.equal(narrator.el.hidden, true);
});

// For tests/trace/test_states_agree.py: reads {schema, streams} on stdin, writes each stream's
// intervals per gid (as trace.js computes them, fed in batches of `batch` events) on stdout.

import { readFileSync } from "node:fs";

import { Model } from "../../static/js/events.js";
import { Trace } from "../../static/js/trace.js";
import { intervalsOf, wireBatch } from "./support.mjs";

const { schema, streams, batch } = JSON.parse(readFileSync(0, "utf8"));
const model = new Model(schema);
const out = streams.map((events) => {
  const tr = new Trace(model);
  const origin = events.length ? events[0][1] : 0;
  for (let i = 0; i < events.length; i += batch) tr.ingest(wireBatch(schema, events.slice(i, i + batch), { origin }));
  return intervalsOf(tr);
});
process.stdout.write(JSON.stringify(out));

// For tests/trace/test_states_agree.py: reads {schema, streams} on stdin, writes each stream's
// intervals per gid (as trace.js computes them, fed in batches of `batch` events; `midway`: the first of them not
// the session's first) on stdout.

import { readFileSync } from "node:fs";

import { Model } from "../../static/js/events.js";
import { Trace } from "../../static/js/trace.js";
import { intervalsOf, wireBatch } from "./support.mjs";

const { schema, streams, batch, midway } = JSON.parse(readFileSync(0, "utf8"));
const model = new Model(schema);
const out = streams.map((events) => {
  const tr = new Trace(model);
  const origin = events.length ? events[0][1] : 0;
  for (let i = 0; i < events.length; i += batch) {
    tr.ingest(wireBatch(schema, events.slice(i, i + batch), { origin, first: midway ? 1 + i : i })); // midway: not from 0
  }
  return intervalsOf(tr);
});
process.stdout.write(JSON.stringify(out));

// For tests/visualizer/test_page_reader.py: reads {schema, batches} on stdin (batches as visualizer/sessions.py's
// `wire` makes them, their `data` in base64) and writes each batch's events as events.js's `readBatch` reads them:
// [kind name, ts since the batch's origin, ...fields] in order, on stdout.

import { readFileSync } from "node:fs";

import { Model, readBatch } from "../../static/js/events.js";

const { schema, batches } = JSON.parse(readFileSync(0, "utf8"));
const model = new Model(schema);
const out = batches.map((batch) => {
  const bytes = Buffer.from(batch.data, "base64");
  const data = new Uint8Array(bytes.length);
  data.set(bytes);
  const { kinds, cols } = readBatch({ ...batch, data: data.buffer }, model);
  const pos = new Int32Array(256);
  return Array.from(kinds, (code) => {
    const j = pos[code]++, { name, fields } = model.kinds.get(code), c = cols[code];
    return [name, c.ts.at(j), ...fields.map((f) => c[f].at(j) ?? null)];
  });
});
process.stdout.write(JSON.stringify(out));

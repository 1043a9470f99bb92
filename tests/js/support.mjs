// Shared by the Node tests: the schema from Python, and events turned into the server's wire batches.

import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** `runtime.trace.states.schema()`, asked of Python: the page's model comes from there, never from a copy. */
export function pythonSchema() {
  const python = process.env.GREENSCOPE_PYTHON || join(ROOT, ".venv", "bin", "python");
  const code = "import json; from runtime.trace.states import schema; print(json.dumps(schema()))";
  return JSON.parse(execFileSync(python, ["-c", code], { cwd: ROOT, encoding: "utf8" }));
}

/** The golden corpus: [{name, about, events, intervals}], events as [kind name, ts, ...fields]. */
export function corpus() {
  const dir = join(ROOT, "tests", "corpus", "states");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => ({ name: f.replace(/\.json$/, ""), ...JSON.parse(readFileSync(join(dir, f), "utf8")) }));
}

/** Events ([kind code or name, ts, ...fields]) as one batch in the server's wire form (visualizer/sessions.py's
 * `wire`): the kind codes then the all-number columns as float64s in one block, other columns as lists, ts in
 * ns since `origin` (default: the first event's ts; the batches of one stream must share it). */
export function wireBatch(schema, events, extra = {}) {
  const codes = new Map(Object.entries(schema.kinds).map(([code, [name, fields]]) => [name, [Number(code), fields]]));
  const byCode = new Map(Object.entries(schema.kinds).map(([code, [name, fields]]) => [Number(code), [name, fields]]));
  const origin = extra.origin ?? (events.length ? events[0][1] : 0);
  const kinds = [];
  const columns = {};
  for (const [kind, ts, ...values] of events) {
    const code = typeof kind === "number" ? kind : codes.get(kind)[0];
    const [name, fields] = byCode.get(code);
    kinds.push(code);
    const col = (columns[name] ??= Object.fromEntries(["ts", ...fields].map((f) => [f, []])));
    col.ts.push(ts - origin);
    fields.forEach((f, i) => col[f].push(values[i] ?? null));
  }
  const numbers = [];
  let offset = Math.ceil(kinds.length / 8) * 8;
  for (const col of Object.values(columns)) {
    const n = col.ts.length;
    for (const [f, values] of Object.entries(col)) {
      if (!values.every((v) => Number.isInteger(v))) continue;
      numbers.push([offset, values]);
      col[f] = offset;
      offset += 8 * n;
    }
    col.n = n;
  }
  const data = new ArrayBuffer(offset);
  new Uint8Array(data).set(kinds);
  for (const [at, values] of numbers) new Float64Array(data, at, values.length).set(values);
  return { events: kinds.length, data, columns, dropped: 0, ...extra, origin: String(origin) };
}

/** Per gid, the lane's intervals as [start, end, state, detail] in absolute ns (the events' own clock). */
export function intervalsOf(trace) {
  const out = {};
  for (const lane of trace.lanes) {
    out[lane.gid] = trace.intervals(lane).map(([s, e, st, d]) => [s + trace.base, e + trace.base, st, d]);
  }
  return out;
}

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
 * `wire`): the kind codes, then in one block the all-int columns as int64s (ts on the events' clock) and the
 * columns that repeat a few strings, numbers or nulls coded (a table, and an index per event of 1 or 2 bytes),
 * the others (mostly distinct values, lists) as lists. `origin`: the session's first event's ts (default: the
 * first event's; the batches of one stream must share it). */
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
    col.ts.push(ts);
    fields.forEach((f, i) => col[f].push(values[i] ?? null));
  }
  const parts = []; // [offset, TypedArray constructor, values]
  let offset = kinds.length;
  const put = (Type, values) => {
    offset = Math.ceil(offset / Type.BYTES_PER_ELEMENT) * Type.BYTES_PER_ELEMENT;
    parts.push([offset, Type, values]);
    offset += Type.BYTES_PER_ELEMENT * values.length;
    return offset - Type.BYTES_PER_ELEMENT * values.length;
  };
  for (const col of Object.values(columns)) {
    const n = col.ts.length;
    for (const [f, values] of Object.entries(col)) {
      if (values.every((v) => Number.isInteger(v))) col[f] = put(BigInt64Array, values.map(BigInt));
      else if (values.every((v) => v === null || typeof v !== "object")) {
        const table = [...new Set(values)];
        if (2 * table.length > n) continue; // mostly distinct: a list
        const ids = values.map((v) => table.indexOf(v));
        col[f] = { table, ids: put(table.length > 256 ? Uint16Array : Uint8Array, ids) };
      }
    }
    col.n = n;
  }
  const data = new ArrayBuffer(Math.ceil(offset / 8) * 8);
  new Uint8Array(data).set(kinds);
  for (const [at, Type, values] of parts) new Type(data, at, values.length).set(values);
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

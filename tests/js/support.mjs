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

/** Events ([kind code or name, ts, ...fields]) as one batch in the server's columnar wire form. */
export function wireBatch(schema, events, extra = {}) {
  const codes = new Map(Object.entries(schema.kinds).map(([code, [name, fields]]) => [name, [Number(code), fields]]));
  const byCode = new Map(Object.entries(schema.kinds).map(([code, [name, fields]]) => [Number(code), [name, fields]]));
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
  return { kinds, columns, dropped: 0, ...extra };
}

/** Per gid, the lane's intervals as [start, end, state, detail] in absolute ns (the events' own clock). */
export function intervalsOf(trace) {
  const out = {};
  for (const lane of trace.lanes) {
    out[lane.gid] = trace.intervals(lane).map(([s, e, st, d]) => [s + trace.base, e + trace.base, st, d]);
  }
  return out;
}

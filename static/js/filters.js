// The lane filters (text, state now, pool) and the sort, read from the toolbar.

import { model } from "./schema.js";
import { SORTS } from "./rows.js";

const $ = (id) => document.getElementById(id);

/** Fill the state and sort choices (once). */
export function fillChoices() {
  const fs = $("filter-state");
  model.states.forEach((s, i) => fs.append(new Option(`${model.labels[i]} now`, String(i))));
  const sort = $("sort");
  for (const [key, { label }] of Object.entries(SORTS)) sort.append(new Option(label, key));
}

/** The filter the toolbar asks for: (lane, until) => bool, or null for none. */
export function readFilter(trace) {
  const text = $("filter-text").value.trim().toLowerCase();
  const st = $("filter-state").value;
  const pool = $("filter-pool").value;
  if (!text && !st && !pool) return null;
  const want = st === "" ? -1 : Number(st);
  return (lane, until) =>
    // a pool's greenthreads: its members and the spawners that waited for one of its slots
    (!pool || String(lane.pool) === pool || [...(lane.slotWaits?.keys() ?? [])].some((p) => String(p) === pool)) &&
    (want < 0 || lane.st.a[Math.max(0, lane.at(until))] === want) &&
    (!text ||
      `gt${lane.gid}`.startsWith(text) ||
      String(lane.func).toLowerCase().includes(text) ||
      String(lane.site || "").toLowerCase().includes(text) ||
      (trace.resources.get(lane.pool)?.name || "").toLowerCase().includes(text));
}

/** Whether the rows depend on time (and are re-sorted or re-filtered as it passes). */
export function timeDependent(sort) {
  return $("filter-state").value !== "" || sort === "blocked" || sort === "state";
}

/** The pool choices, from the trace's pools (rebuilt only when a pool came). */
export function fillPools(trace) {
  const sel = $("filter-pool");
  if (!trace) return;
  const pools = [...trace.resources.values()].filter((r) => r.type === "pool");
  if (sel.options.length === pools.length + 1) return;
  const keep = sel.value;
  sel.replaceChildren(new Option("any pool", ""), ...pools.map((p) => new Option(p.name, String(p.obj))));
  sel.value = keep;
}

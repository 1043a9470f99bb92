// The timeline's rows, top to bottom: each hub's lane, then its groups — the greenthreads in no pool (main and
// its children) first, then one group per pool — each a header and its lanes in the chosen order, and under it
// the spawners waiting for a slot of its pool, under a header of their own. Which lanes are shown (the filter,
// the ended ones hidden) and how they are sorted is the timeline's to say; when the rows are rebuilt, too.

import { shortName } from "./format.js";

// Row codes: >= 0 a lane's index; below 0 a header row, -1 - 3i - t: t = 0 hub i's lane, t = 1 group i's
// header, t = 2 the header of group i's pool's waiters.
const HUB = 0, GROUP = 1, WAITERS = 2;
const headerCode = (i, t) => -1 - 3 * i - t;

/** Sorts of the lanes within a group: key(lane, trace, until) ascending, then creation. */
export const SORTS = {
  creation: { label: "by creation", key: null },
  blocked: { label: "by time blocked", key: (lane, tr, t) => -tr.waitedBy(lane, t) },
  state: { label: "by state now", key: (lane, tr, t) => lane.st.a[Math.max(0, lane.at(t))] },
  function: { label: "by function", key: null, text: (lane) => String(lane.func).toLowerCase() },
};

/** The rows of `tr` (or none) for the view at `until`, its start at `t0`: {groups, rows, nrows, rowOf}, with
 * `groups` [{key, hub, pool, label, count, waiting}], `rows[0..nrows)` the row codes and `rowOf` lane index -> its
 * row (-1: hidden). `filter`: (lane, until) => bool, or null for all; `hideDone`: hide the lanes that ended before
 * t0; `collapsed`: the group keys folded; `sort`: a key of SORTS; `liveFirst`: the lanes still alive first. */
export function buildRows(tr, until, { t0, filter, hideDone, collapsed, sort, liveFirst }) {
  const lanes = tr ? tr.lanes : [];
  const shown = (lane) =>
    lane.ts.a[0] <= until &&
    !(hideDone && lane.exitTs !== null && lane.exitTs < t0) &&
    (!filter || filter(lane, until));
  const byKey = new Map();
  const groups = [], members = [];
  for (const lane of lanes) {
    if (!shown(lane)) continue;
    const hub = lane.hub ?? 0;
    const gkey = `${hub} ${lane.pool ?? "main"}`; // a hub's lanes, by pool
    let g = byKey.get(gkey);
    if (g === undefined) {
      g = groups.length;
      byKey.set(gkey, g);
      const res = lane.pool == null ? null : tr.resources.get(lane.pool);
      const name = lane.pool == null ? "not in a pool" : res ? shortName(res.name) : `pool ${lane.pool}`;
      groups.push({ key: gkey, hub, pool: lane.pool, label: name, count: 0, waiting: [] });
      members.push([]);
    }
    groups[g].count++;
    members[g].push(lane);
  }
  // the spawners waiting for a slot of a pool are listed with it too
  for (const lane of lanes) {
    if (!lane.slotWaits || !shown(lane)) continue;
    for (const [pool, since] of lane.slotWaits) {
      const g = groups.findIndex((x) => x.pool === pool);
      if (g >= 0 && since <= until && lane.pool !== pool) groups[g].waiting.push(lane);
    }
  }
  const order = sorter(tr, sort, liveFirst, until);
  const hubs = tr ? tr.hubs : [];
  const total = hubs.length + 2 * groups.length + lanes.length + groups.reduce((n, g) => n + g.waiting.length, 0);
  const rows = new Int32Array(total);
  const rowOf = new Int32Array(lanes.length).fill(-1);
  let n = 0;
  for (const hub of hubs) {
    // each hub's row, then its groups: the pool-less one (main and its children) first, then its pools
    rows[n++] = headerCode(hub.index, HUB);
    const mine = groups.map((_, i) => i).filter((i) => groups[i].hub === hub.gid);
    mine.sort((a, b) => (groups[a].pool == null ? -1 : groups[b].pool == null ? 1 : a - b));
    for (const g of mine) {
      rows[n++] = headerCode(g, GROUP);
      if (collapsed.has(groups[g].key)) continue;
      for (const lane of order(members[g])) {
        rowOf[lane.index] = n;
        rows[n++] = lane.index;
      }
      if (groups[g].waiting.length) {
        rows[n++] = headerCode(g, WAITERS);
        for (const lane of order(groups[g].waiting)) {
          if (rowOf[lane.index] < 0) rowOf[lane.index] = n;
          rows[n++] = lane.index;
        }
      }
    }
  }
  return { groups, rows, nrows: n, rowOf };
}

/** (lanes) => lanes in the order `sort` asks for at `until` (the live ones first, if `liveFirst`). */
function sorter(tr, sort, liveFirst, until) {
  const by = SORTS[sort] ?? SORTS.creation;
  const cmp = (x, y) => (x < y ? -1 : x > y ? 1 : 0);
  const ended = (l) => (liveFirst && l.exitTs !== null && l.exitTs <= until ? 1 : 0);
  let order;
  if (by.text) order = (a, b) => cmp(by.text(a), by.text(b));
  else if (by.key) {
    const keys = new Map();
    const key = (l) => keys.get(l) ?? keys.set(l, by.key(l, tr, until)).get(l);
    order = (a, b) => key(a) - key(b);
  } else order = () => 0;
  return (lanes) => lanes.sort((a, b) => ended(a) - ended(b) || order(a, b) || a.index - b.index);
}

/** What a header row (code < 0) of `tr`'s rows, grouped as `groups`, is: {hub} or {group, waiters}. */
export function headerOf(code, tr, groups) {
  const k = -code - 1, i = Math.floor(k / 3), t = k % 3;
  return t === HUB ? { hub: tr.hubs[i] } : { group: groups[i], waiters: t === WAITERS };
}

/** The row of `hub`'s lane in `rows[0..nrows)` (-1 if none). */
export function hubRow(hub, rows, nrows) {
  if (!hub) return -1;
  const code = headerCode(hub.index, HUB);
  for (let r = 0; r < nrows; r++) if (rows[r] === code) return r;
  return -1;
}

// One greenthread's details (the side panel) and the tooltip's text. Strings from a trace go into the
// page escaped: a trace comes from the traced program.

import { count, duration, esc, shortName } from "./format.js";
import { model } from "./schema.js";
import { lastAtOrBefore } from "./lanes.js";

const WAKES_SHOWN = 50;
const HISTORY_SHOWN = 200;

/** A colour square for state `name` (or a CSS class of the legend's: hub-wait, hub-busy). */
export const swatch = (name) => `<span class="swatch s-${esc(name)}"></span>`;

/** A header row of plain column names. */
const head = (...names) => `<tr class="dim">${names.map((n) => `<th scope="col">${n}</th>`).join("")}</tr>`;

/** A gid as a button that selects it (gid > 0), "hub" (0), or "—" (none). */
function gidRef(trace, gid, withFunc = false) {
  if (gid == null || gid < 0) return "—";
  if (gid === 0) return "hub";
  const g = esc(gid);
  const func = withFunc && trace.byGid.get(gid) ? ` <span class="mono">${esc(trace.byGid.get(gid).func)}</span>` : "";
  return `<button type="button" class="gid" data-gid="${g}" title="show gt${g}">gt${g}</button>${func}`;
}

/** "(N earlier not shown)", if any were left out. */
const earlier = (n) => (n > 0 ? `<p class="dim">(${count(n)} earlier not shown)</p>` : "");

/** A transition's detail: the wake's cause; the block's reason, what on (a peer, a pool's or a queue's name, the
 * fd or the timeout) and where in the user's code; the outcome. */
export function what(trace, lane, i) {
  const d = trace.detail(lane.dt.a[i]) ?? "", info = trace.detail(lane.info.a[i]);
  const obj = trace.detail(lane.ob.a[i]), res = obj == null ? null : trace.resources.get(obj);
  const on = res ? ` ${shortName(res.name)}` : info == null ? "" : ` ${info}`;
  const where = trace.detail(lane.wh.a[i]);
  return `${d}${on}${where ? ` at ${trace.relative(where)}` : ""}`;
}

/** Fill the details panel (#details) for greenthread `lane` of `trace` as it was at `now` (ns; default: the trace's
 * end; earlier when paused or replaying). gid buttons call `onSelectGid(gid)`. */
export function renderDetails(aside, trace, lane, { now, onSelectGid } = {}) {
  now = Math.max(now ?? trace.now, lane.ts.a[0]);
  const { RUNNING, READY, DONE, states, labels } = model;
  const i = lane.at(now); // the transition in force at `now`: what came after is not shown
  const end = (k) => (k + 1 < lane.ts.n ? Math.min(lane.ts.a[k + 1], now) : now);
  const state = lane.st.a[i], since = lane.ts.a[i];
  const kv = (k, v, attrs = "") => `<tr><td>${k}</td><td${attrs}>${v}</td></tr>`;

  const stateNow = `${swatch(states[state])}${labels[state]} <span class="dim">since ${duration(since)}</span>`;
  const waitingOn = `<span class="mono">${esc(what(trace, lane, i) || "?")}</span>`;
  const forHow = ` <span class="dim">for</span> ${duration(now - since)}`;
  let waiting = "";
  if (state === RUNNING) waiting = kv("running for", duration(now - since));
  else if (state === READY) waiting = kv("waiting for", `its turn <span class="dim">(woken: ${waitingOn})</span>${forHow}`);
  else if (state !== DONE) waiting = kv("waiting for", waitingOn + forHow);
  let exit = "—";
  if (lane.exitTs !== null && lane.exitTs <= now) {
    exit = `${esc(lane.outcome)} <span class="dim">at ${duration(lane.exitTs)}</span>`;
    if (lane.error) exit += `<div class="error mono">${esc(lane.error)}</div>`;
  }
  const pool = lane.pool == null ? "—" : esc(trace.resources.get(lane.pool)?.name ?? `pool ${lane.pool}`);
  const spawned = lane.spawned == null
    ? `— <span class="dim">(seen from ${duration(lane.ts.a[0])})</span>`
    : duration(lane.spawned);
  const about = kv("function", esc(lane.func), ' class="mono"') +
    kv("spawn site", esc(lane.site == null ? "—" : trace.relative(lane.site)), ' class="mono" id="detail-site"') +
    kv("parent", gidRef(trace, lane.parent, true)) +
    kv("pool", pool, ' class="mono"') +
    kv("spawned at", spawned) +
    kv("state", stateNow) +
    waiting +
    kv("exit", exit);

  // time per state up to `now`; shares are of its life, not of after its exit
  const totals = new Float64Array(states.length);
  for (let k = 0; k <= i; k++) totals[lane.st.a[k]] += end(k) - lane.ts.a[k];
  const life = totals.reduce((sum, t, s) => (s === DONE ? sum : sum + t), 0);
  const row = (label, t, pct) => `<tr><td>${label}</td><td class="num">${duration(t)}</td><td class="num">${pct}</td></tr>`;
  const share = (t) => `${((100 * t) / life).toFixed(1)} %`;
  let perState = "";
  for (let s = 0; s < states.length; s++) {
    if (s !== DONE && totals[s]) perState += row(swatch(states[s]) + labels[s], totals[s], share(totals[s]));
  }
  perState += row("alive", life, "100 %");
  if (totals[DONE]) perState += row(`${swatch(states[DONE])}done (after exit)`, totals[DONE], "");

  const nw = lastAtOrBefore(lane.wakeTs.a, lane.wakeTs.n, now) + 1; // wakes up to `now`
  let wakes = "";
  for (let w = nw - 1; w >= Math.max(0, nw - WAKES_SHOWN); w--) {
    const cause = esc(trace.detail(lane.wakeCause.a[w]) ?? "?");
    wakes += `<tr><td>${duration(lane.wakeTs.a[w])}</td><td class="mono">${cause}</td>` +
      `<td>${gidRef(trace, lane.wakeBy.a[w])}</td></tr>`;
  }

  const stalls = trace.stalls.filter((x) => x.gid === lane.gid && x.ts <= now);
  const held = stalls.map((x) =>
    `<li>${duration(x.ts)} for <b>${duration(x.ns)}</b>, in:<pre class="mono stack">` +
    `${x.stack.slice().reverse().map((f) => esc(trace.relative(f))).join("\n")}</pre></li>`,
  ).join("");

  let history = ""; // the last intervals up to `now`, most recent first
  for (let k = i; k >= Math.max(0, i + 1 - HISTORY_SHOWN); k--) {
    const s = states[lane.st.a[k]], start = lane.ts.a[k];
    history += `<tr><td>${duration(start)}</td><td class="num">${duration(end(k) - start)}</td>` +
      `<td>${swatch(s)}${s}</td><td class="mono">${esc(what(trace, lane, k))}</td></tr>`;
  }

  // a re-render of the same greenthread keeps the scroll position and the focused button
  const same = aside.dataset.gid === String(lane.gid);
  const top = same ? aside.scrollTop : 0;
  const buttons = () => [...aside.querySelectorAll("button")];
  const focused = same && aside.contains(document.activeElement) ? buttons().indexOf(document.activeElement) : -1;

  aside.innerHTML = `<h3>gt${esc(lane.gid)} <span class="mono">${esc(lane.func)}</span></h3>
    <table>${about}</table>
    <h4>time per state</h4>
    <table>${perState}</table>
    ${held ? `<h4 class="error">held the hub <span class="dim">(${count(stalls.length)}; innermost call first)</span></h4><ul id="detail-stalls">${held}</ul>` : ""}
    <h4>woken by <span class="dim">(${count(nw)})</span></h4>
    ${nw ? `<table>${head("at", "cause", "waker")}${wakes}</table>` : '<p class="dim">never woken</p>'}
    ${earlier(nw - WAKES_SHOWN)}
    <h4>state history <span class="dim">(most recent first)</span></h4>
    <table>${head("start", "duration", "state", "detail")}${history}</table>${earlier(i + 1 - HISTORY_SHOWN)}`;
  aside.dataset.gid = lane.gid;
  aside.scrollTop = top;
  if (focused >= 0) buttons()[focused]?.focus({ preventScroll: true });
  aside.onclick = (e) => {
    const b = e.target.closest("button");
    if (b?.dataset.gid) onSelectGid?.(Number(b.dataset.gid));
  };
}

const LATE = 1e6; // a timer this late (ns) is worth saying

/** "woke 300 ms late (the hub was held by gt7)" for a lane made ready at `t` by a late timer, else "". */
export function lateness(trace, lane, t) {
  const w = lastAtOrBefore(lane.wakeTs.a, lane.wakeTs.n, t);
  if (w < 0 || lane.wakeTs.a[w] !== t || lane.wakeLate.a[w] < LATE) return "";
  const stall = trace.stalls.find((x) => x.ts <= t && t <= x.ts + x.ns + LATE);
  return `\nwoke ${duration(lane.wakeLate.a[w])} late${stall ? ` (the hub was held by gt${stall.gid})` : ""}`;
}

/** The tooltip for a hit (timeline.hit): what the pixel column under the pointer shows, and why. */
export function tooltipText(timeline, hit, until) {
  const tr = timeline.trace;
  if (hit.kind === "group") return `${hit.group.label}: ${hit.group.count} greenthreads (click to fold)`;
  if (hit.kind === "waiters") return `${hit.group.waiting.length} greenthreads waited for a slot of ${hit.group.label}`;
  const lane = hit.kind === "lane" ? hit.lane : null, hub = hit.hub;
  const head = lane ? `gt${lane.gid} ${lane.func}` : tr.hubs.length > 1 ? `hub ${hub.gid}` : "hub";
  if (!hit.inPlot) return lane ? `${head}\n${lane.site ? tr.relative(lane.site) : ""}` : head;
  const { state, changes } = timeline.columnState(lane ?? hub, hit.c0, hit.c1, until);
  if (state < 0) return `${head}\n—`;
  const name = lane ? model.labels[state] : state ? "waiting in the poller" : "running";
  if (changes > 0) return `${head}\nmostly ${name} in this pixel (${count(changes)} changes: zoom in)\nat ${duration(hit.c0)}`;
  if (!lane) {
    const i = lastAtOrBefore(hub.waitStart.a, hub.waitStart.n, hit.t);
    if (state === 0 || i < 0) return `${head}: running\nat ${duration(hit.t)}`;
    const s = hub.waitStart.a[i], e = hub.waiting && i === hub.waitStart.n - 1 ? Math.min(tr.now, until) : hub.waitEnd.a[i];
    return `${head}: waiting in the poller\nfrom ${duration(s)} for ${duration(e - s)}\n${hub.waitReady.a[i]} fds ready after`;
  }
  const i = lane.at(hit.t), s = lane.ts.a[i];
  const e = i + 1 < lane.ts.n ? lane.ts.a[i + 1] : Math.min(tr.now, until);
  const d = what(tr, lane, i);
  return `${head}\n${name}${d ? ` (${d})` : ""}\nat ${duration(s)} for ${duration(e - s)}${lateness(tr, lane, s)}`;
}

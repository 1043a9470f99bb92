// The side panel's analysis tabs: Insights (findings, and the totals of a selected range), Tasks (a row per
// greenthread, sortable) and Resources (pools and queues, with who waits now). Every number comes from the
// server's analysis (runtime/trace/analysis/, GET /api/sessions/<id>/analysis): the page shows them, it does
// not compute them. Times in a report, as on the page, are ns since the session's origin (its first event).

import { count, duration, esc } from "./format.js";
import { model } from "./schema.js";
import { swatch } from "./details.js";

const TASKS = 200; // rows asked for
const COLUMNS = [
  // [key the server sorts by, or null, header, cell(row, base)]
  ["gid", "gt", (r) => `<button type="button" class="gid" data-gid="${r.gid}">gt${r.gid}</button>`],
  [null, "function", (r) => `<span class="mono">${esc(r.func)}</span>`],
  [null, "spawned at", (r) => `<span class="mono">${esc(short(r.site))}</span>`],
  [null, "state", (r) => `${swatch(r.state)}${esc(r.state)}`],
  ["running", "running", (r) => duration(r.running)],
  ["ready", "ready", (r) => duration(r.ready)],
  ["blocked", "blocked", (r) => duration(r.blocked)],
  ["wakes", "wakes", (r) => count(r.wakes)],
  ["latency", "latency p50 / max", (r) => `${duration(r.latency.p50)} / ${duration(r.latency.max)}`],
  [null, "parked on", (r) => (r.parked ? `<span class="mono">${esc(r.parked.reason)}</span>` : "—")],
];

/** A path as people read it: the file and line. */
const short = (site) => (site ? String(site).replace(/^.*[\\/]/, "") : "—");
const pct = (share) => `${(100 * share).toFixed(share < 0.1 ? 1 : 0)} %`;

export class Insights {
  /** `panels`: {insights, tasks, resources} elements; `fetchJSON`; `onFinding(finding)`, `onSelectGid(gid)`,
   * `onClearRange()`: what a click on a finding, a greenthread or "clear" does. */
  constructor(panels, { fetchJSON, onFinding, onSelectGid, onClearRange }) {
    this.panels = panels;
    this.fetchJSON = fetchJSON;
    this.onFinding = onFinding;
    this.onSelectGid = onSelectGid;
    this.onClearRange = onClearRange;
    this.session = null;
    this.trace = null;
    this.report = null; // the last report of the whole session
    this.range = null; // {t0, t1, report} of the selected range (page times)
    this.sort = "blocked";
    this.resource = null; // the obj whose waiters are listed
    this.busy = false;
    this.asked = -1; // the trace's event count the last report was asked at
    for (const el of Object.values(panels)) el.addEventListener("click", (e) => this.click(e));
  }

  /** Ask the server again if the trace changed since (a live session), then show. */
  async refresh(session, trace, force = false) {
    if (session !== this.session || trace !== this.trace) {
      this.report = this.range = null; // another session
      this.asked = -1;
    }
    this.session = session;
    this.trace = trace;
    if (!session || !trace || this.busy || (!force && trace.events === this.asked)) return;
    this.busy = true;
    this.asked = trace.events;
    try {
      const r = await this.fetchJSON(`${this.url(session)}?tasks=${TASKS}&sort=${this.sort}`);
      if (r.ok) this.report = r.body;
      this.show(trace);
    } finally {
      this.busy = false;
    }
  }

  /** The totals over [t0, t1] (page times), or none (null). */
  async select(session, trace, t0, t1) {
    if (t0 === null) {
      this.range = null;
      this.show(trace);
      return;
    }
    const [a, b] = [Math.round(t0), Math.round(t1)]; // ns since the origin, as the server counts too
    this.range = { t0, t1, report: null };
    this.show(trace);
    const r = await this.fetchJSON(`${this.url(session)}?start=${a}&stop=${b}&tasks=0`);
    if (this.range && this.range.t0 === t0 && r.ok) this.range.report = r.body;
    this.show(trace);
  }

  url(session) {
    return `/api/sessions/${encodeURIComponent(session.id)}/analysis`;
  }

  show(trace) {
    this.trace = trace;
    this.panels.insights.innerHTML = this.rangeHTML() + this.findingsHTML();
    this.panels.tasks.innerHTML = this.tasksHTML();
    this.panels.resources.innerHTML = this.resourcesHTML();
  }

  findingsHTML() {
    const rep = this.report;
    if (!rep) return '<p class="dim">analysing…</p>';
    const [a, b] = rep.span;
    const head = `<h4>findings <span class="dim">(${duration(b - a)} analysed)</span></h4>`;
    if (!rep.findings.length) return `${head}<p class="dim">nothing stands out: no pool or queue saturated, no stall.</p>`;
    const items = rep.findings.map(
      (f, i) => `<li><button type="button" class="finding" data-finding="${i}" data-kind="${esc(f.kind)}">${esc(this.trace.relativeText(f.text))}</button></li>`,
    );
    return `${head}<ol id="findings">${items.join("")}</ol>`;
  }

  rangeHTML() {
    const r = this.range;
    if (!r) return "";
    const head = `<h4>range ${duration(r.t0)} – ${duration(r.t1)} <button type="button" id="range-clear">clear</button></h4>`;
    if (!r.report) return `${head}<p class="dim">analysing…</p>`;
    const rep = r.report;
    const states = model.states
      .map((s, i) => (rep.states[s] ? `<tr data-state="${esc(s)}"><td>${swatch(s)}${esc(model.labels[i])}</td>` +
        `<td class="num" data-ns="${rep.states[s]}">${duration(rep.states[s])}</td></tr>` : ""))
      .join("");
    const funcs = rep.functions
      .map((f) => {
        const blocked = Object.values(f.reasons).reduce((x, y) => x + y, 0);
        return `<tr data-func="${esc(f.func)}"><td class="mono">${esc(f.func)}</td><td class="num">${count(f.count)}</td>` +
          `<td class="num" data-ns="${f.states.running}">${duration(f.states.running)}</td>` +
          `<td class="num" data-ns="${blocked}">${duration(blocked)}</td></tr>`;
      })
      .join("");
    return `${head}<table id="range-states">${states}</table>
      <table id="range-functions"><tr class="dim"><th>function</th><th>n</th><th>running</th><th>blocked</th></tr>${funcs}</table>`;
  }

  tasksHTML() {
    const rep = this.report;
    if (!rep) return '<p class="dim">analysing…</p>';
    const head = COLUMNS.map(([key, label]) =>
      key ? `<th><button type="button" class="sort" data-sort="${key}" aria-pressed="${key === this.sort}">${label}</button></th>` : `<th>${label}</th>`,
    ).join("");
    const rows = rep.tasks.map((r) => `<tr data-gid="${r.gid}">${COLUMNS.map(([, , cell]) => `<td>${cell(r)}</td>`).join("")}</tr>`);
    const more = rep.task_count > rep.tasks.length ? `<p class="dim">the first ${count(rep.tasks.length)} of ${count(rep.task_count)}</p>` : "";
    return `<table id="tasks-table"><tr class="dim">${head}</tr>${rows.join("")}</table>${more}`;
  }

  resourcesHTML() {
    const rep = this.report;
    if (!rep) return '<p class="dim">analysing…</p>';
    const end = rep.span[1];
    const pools = rep.pools.map((p) =>
      `<tr data-obj="${p.obj}"><td><button type="button" class="resource" data-obj="${p.obj}">${esc(short(p.name))}</button></td>` +
      `<td>pool</td><td class="num">${p.size}</td><td class="num">${count(p.waiting_now.length)}</td>` +
      `<td class="num">${pct(p.full_share)}</td><td class="num">${p.throughput.toFixed(1)}/s</td>` +
      `<td class="num">${duration(p.slot_wait.p50)} / ${duration(p.slot_wait.p95)} / ${duration(p.slot_wait.max)}</td></tr>`,
    );
    const queues = rep.queues.map((q) =>
      `<tr data-obj="${q.obj}"><td><button type="button" class="resource" data-obj="${q.obj}">${esc(short(q.name))}</button></td>` +
      `<td>queue</td><td class="num">${q.maxsize ?? "∞"}</td>` +
      `<td class="num">${count(q.putters_now.length + q.getters_now.length)}</td><td class="num">${pct(q.full_share)}</td>` +
      `<td></td><td class="num">put ${duration(q.put_wait.p95)} · get ${duration(q.get_wait.p95)}</td></tr>`,
    );
    const others = (rep.others ?? []).map((o) =>
      `<tr data-obj="${o.obj}"><td><button type="button" class="resource" data-obj="${o.obj}">${esc(short(o.name))}</button></td>` +
      `<td>${esc(o.type)}</td><td class="num">${o.size ?? ""}</td><td class="num">${count(o.waiting_now.length)}</td>` +
      `<td></td><td></td><td class="num">${duration(o.wait.p50)} / ${duration(o.wait.p95)} / ${duration(o.wait.max)}</td></tr>`,
    );
    let waiters = "";
    const chosen = [...rep.pools, ...rep.queues, ...(rep.others ?? [])].find((x) => x.obj === this.resource);
    if (chosen) {
      const list = chosen.waiting_now ?? [...chosen.putters_now, ...chosen.getters_now];
      const items = list.map((w) => `<li><button type="button" class="gid" data-gid="${w.gid}">gt${w.gid}</button> waiting for ${duration(end - w.since)}</li>`);
      waiters = `<h4>waiting on ${esc(short(chosen.name))} now (${count(list.length)})</h4>` +
        (items.length ? `<ul id="waiters">${items.join("")}</ul>` : '<p class="dim">none</p>');
    }
    return `<table id="resources-table"><tr class="dim"><th>name</th><th>kind</th><th>size</th><th>waiting now</th>` +
      `<th>full</th><th>done</th><th>wait p50 / p95 / max</th></tr>${pools.join("")}${queues.join("")}${others.join("")}` +
      `</table>${waiters}`;
  }

  click(e) {
    const b = e.target.closest("button");
    if (!b) return;
    if (b.dataset.finding !== undefined) this.onFinding(this.report.findings[Number(b.dataset.finding)]);
    else if (b.dataset.gid) this.onSelectGid(Number(b.dataset.gid));
    else if (b.dataset.sort) {
      this.sort = b.dataset.sort;
      this.asked = -1;
      this.refresh(this.session, this.trace, true);
    } else if (b.dataset.obj) {
      this.resource = Number(b.dataset.obj);
      this.show(this.trace);
    } else if (b.id === "range-clear") this.onClearRange();
  }
}

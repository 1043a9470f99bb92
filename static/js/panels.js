// The page's panels: the launcher dialog, one greenthread's details, the session picker, the help and the legend.
// Strings from a trace or the server go into the page escaped (esc) or as text: a trace comes from the traced program.

import { count, duration, esc } from "./format.js";
import { DONE, lastAtOrBefore, READY, RUNNING, STATE_LABELS, STATES } from "./trace.js";

const WAKES_SHOWN = 50;
const HISTORY_SHOWN = 200;
const RIGHT = ' style="text-align: right"';
const H4 = '<h4 style="margin: 12px 0 2px">';

/** A colour square; `color` is a CSS value (a state's var(--s-<state>) by default). */
const swatch = (state, color = `var(--s-${state})`) => `<span class="swatch" style="background: ${color}"></span>`;

/** A header row of plain, start-aligned column names. */
const TH = '<th scope="col" style="text-align: start; font-weight: normal">';
const head = (...names) => `<tr class="dim">${names.map((n) => `${TH}${n}</th>`).join("")}</tr>`;

// ------------------------------------------------------------ launcher

/** Limits of a numeric parameter as text: "1 – 1000", "≥ 0", or "". */
function limits(p) {
  if (p.min != null && p.max != null) return `${p.min} – ${p.max}`;
  if (p.min != null) return `≥ ${p.min}`;
  return p.max != null ? `≤ ${p.max}` : "";
}

/** A workload's docstring as paragraphs, `code` in backticks as <code>. */
function paragraphs(text) {
  return text
    .split(/\n\s*\n/)
    .filter((s) => s.trim())
    .map((s) => `<p>${esc(s.trim().replace(/\s*\n\s*/g, " ")).replace(/`([^`]+)`/g, "<code>$1</code>")}</p>`)
    .join("");
}

/** One parameter's row: label, input (prefilled with `value`), description and limits, an error slot. */
function fieldHTML(p, value) {
  const name = esc(p.name), id = `launch-p-${name}`;
  const attrs = `id="${id}" name="${name}" data-param="${name}" aria-describedby="${id}-help ${id}-error"`;
  let input;
  if (p.type === "int" || p.type === "float") {
    const range = (p.min != null ? ` min="${esc(p.min)}"` : "") + (p.max != null ? ` max="${esc(p.max)}"` : "");
    const step = p.type === "int" ? "1" : "any";
    input = `<input type="number" ${attrs} value="${esc(value ?? "")}" step="${step}"${range} required>`;
  } else if (p.type === "choice") {
    const options = p.choices.map((c) => `<option${c === value ? " selected" : ""}>${esc(c)}</option>`).join("");
    input = `<select ${attrs}>${options}</select>`;
  } else if (p.type === "bool") {
    input = `<input type="checkbox" ${attrs}${value ? " checked" : ""} style="justify-self: start">`;
  } else {
    const type = p.type === "url" ? "url" : "text";
    input = `<input type="${type}" ${attrs} value="${esc(value ?? "")}"${p.required ? " required" : ""}>`;
  }
  const help = [p.description, limits(p)].filter(Boolean).join(" · ");
  return `<div class="field"><label for="${id}">${name}</label>${input}<small id="${id}-help">${esc(help)}</small>` +
    `<span class="error" id="${id}-error" data-error-for="${name}" hidden></span></div>`;
}

/** A parameter's value from its input: [value, null], or [null, what is wrong with it]. */
function readParam(p, el) {
  if (p.type === "int" || p.type === "float") {
    const what = p.type === "int" ? "an integer" : "a number";
    if (el.validity.badInput) return [null, `must be ${what}`];
    if (!el.value.trim()) return [null, "required"];
    const v = Number(el.value);
    if (p.type === "int" ? !Number.isInteger(v) : !Number.isFinite(v)) return [null, `must be ${what}`];
    if ((p.min != null && v < p.min) || (p.max != null && v > p.max)) {
      if (p.min != null && p.max != null) return [null, `must be between ${p.min} and ${p.max}`];
      return [null, p.min != null ? `must be at least ${p.min}` : `must be at most ${p.max}`];
    }
    return [v, null];
  }
  if (p.type === "bool") return [el.checked, null];
  if (p.type === "choice") {
    const v = p.choices.find((c) => String(c) === el.value);
    return v === undefined ? [null, `must be one of ${p.choices.join(", ")}`] : [v, null];
  }
  const v = p.type === "url" ? el.value.trim() : el.value;
  if (!v) return p.required ? [null, "required"] : [v, null];
  if (p.type === "url") {
    if (v.length > 2000) return [null, "must be a URL of at most 2000 characters"];
    let url = null;
    try {
      url = new URL(v);
    } catch {
      // not a URL: the error below
    }
    if (!url || !["http:", "https:"].includes(url.protocol) || !url.hostname) {
      return [null, "must be an http or https URL"];
    }
  }
  return [v, null];
}

/** The launcher dialog: pick a workload, set its parameters, launch it (POST /api/sessions). */
export class Launcher {
  /** `dialog`: #launcher; `body`: its form (#launcher-body); `fetchJSON(url, options)` → {ok, status, body}. */
  constructor(dialog, body, { onLaunched, fetchJSON }) {
    this.dialog = dialog;
    this.body = body;
    this.onLaunched = onLaunched;
    this.fetchJSON = fetchJSON;
    this.loading = null; // the promise of GET /api/workloads, kept once it succeeds
    this.workloads = [];
    this.chosen = null; // the workload shown
    this.inputs = new Map(); // its parameters: name -> {p, el}
    this.last = new Map(); // workload name -> the values it was last launched with
    this.busy = false;
    body.noValidate = true; // checked here, with the errors next to the fields
    body.addEventListener("submit", (e) => {
      e.preventDefault(); // the form's method="dialog" would close it
      this.submit();
    });
    body.addEventListener("change", (e) => {
      if (e.target.id === "launch-workload") this.show(e.target.value);
    });
    body.addEventListener("input", (e) => {
      const name = e.target.dataset?.param; // an invalid field is rechecked as it is edited
      if (this.inputs.has(name) && e.target.getAttribute("aria-invalid") === "true") this.check(name);
    });
    body.addEventListener("click", (e) => {
      if (e.target.id === "launch-cancel") this.close();
    });
  }

  /** Show the dialog with workload `workloadName` (default: the last one shown, or the first). */
  async open(workloadName) {
    try {
      this.loading ??= this.load();
      this.workloads = await this.loading;
    } catch (e) {
      this.loading = null; // try again next time
      this.body.innerHTML = `<h2>Launch a workload</h2><p id="launch-error" class="field-error" role="alert"></p>` +
        `<p style="text-align: right"><button type="button" id="launch-cancel">Close</button></p>`;
      this.body.querySelector("#launch-error").textContent = `could not list the workloads: ${e.message}`;
      if (!this.dialog.open) this.dialog.showModal();
      return;
    }
    const name = workloadName ?? this.chosen?.name;
    this.render(this.workloads.find((w) => w.name === name) ?? this.workloads[0]);
    if (!this.dialog.open) this.dialog.showModal();
    const first = this.body.querySelector("#launch-form [data-param]") ?? this.body.querySelector("#launch-submit");
    first.focus();
    first.select?.();
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  async load() {
    const res = await this.fetchJSON("/api/workloads");
    if (!res.ok || !Array.isArray(res.body)) throw new Error(res.body?.error ?? `the server answered ${res.status}`);
    return res.body;
  }

  /** The whole form, for workload `w`. */
  render(w) {
    const options = this.workloads
      .map((x) => `<option value="${esc(x.name)}"${x === w ? " selected" : ""}>${esc(x.name)}</option>`)
      .join("");
    this.body.innerHTML = `<h2>Launch a workload</h2>
      <p id="launch-error" class="field-error" role="alert" hidden></p>
      <label>workload <select id="launch-workload">${options}</select></label>
      <div id="launch-description" class="dim"></div>
      <fieldset id="launch-form"></fieldset>
      <p style="text-align: right">
        <button type="button" id="launch-cancel">Cancel</button>
        <button type="submit" id="launch-submit">Launch</button>
      </p>`;
    this.show(w?.name);
  }

  /** Workload `name`'s description and parameters, prefilled with what it last ran with, else the defaults. */
  show(name) {
    const w = this.workloads.find((x) => x.name === name);
    if (!w) return;
    this.chosen = w;
    const values = this.last.get(w.name) ?? {};
    this.body.querySelector("#launch-description").innerHTML = paragraphs(w.description ?? "");
    const fields = w.params.map((p) => fieldHTML(p, p.name in values ? values[p.name] : p.default)).join("");
    const set = this.body.querySelector("#launch-form");
    set.innerHTML = `<legend>parameters</legend>${fields || '<p class="dim">none</p>'}`;
    const input = (p) => set.querySelector(`[data-param="${CSS.escape(p.name)}"]`);
    this.inputs = new Map(w.params.map((p) => [p.name, { p, el: input(p) }]));
    this.topError("");
  }

  /** Parameter `name`'s value, or its error shown next to it: [value, error]. */
  check(name) {
    const { p, el } = this.inputs.get(name);
    const [value, error] = readParam(p, el);
    this.setError(name, error);
    return [value, error];
  }

  /** Show (or clear, with "" or null) parameter `name`'s error next to it. */
  setError(name, message) {
    const entry = this.inputs.get(name);
    const slot = this.body.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    if (!entry || !slot) return;
    slot.textContent = message ?? "";
    slot.hidden = !message;
    if (message) entry.el.setAttribute("aria-invalid", "true");
    else entry.el.removeAttribute("aria-invalid");
  }

  topError(message) {
    const top = this.body.querySelector("#launch-error");
    top.textContent = message;
    top.hidden = !message;
  }

  /** Check every parameter here, then POST; a 400 goes next to the field it names, or on top. */
  async submit() {
    const w = this.chosen;
    if (this.busy || !w) return;
    this.topError("");
    const params = {};
    let invalid = null;
    for (const [name, { el }] of this.inputs) {
      const [value, error] = this.check(name);
      if (error) invalid ??= el;
      else params[name] = value;
    }
    if (invalid) {
      invalid.focus();
      return;
    }
    const button = this.body.querySelector("#launch-submit");
    this.busy = button.disabled = true;
    let res;
    try {
      res = await this.fetchJSON("/api/sessions", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ workload: w.name, params }),
      });
    } catch (e) {
      res = { ok: false, status: 0, body: { error: `could not reach the server: ${e.message}` } };
    } finally {
      this.busy = button.disabled = false;
    }
    if (res.ok) {
      this.last.set(w.name, params);
      this.close();
      this.onLaunched?.(res.body);
      return;
    }
    if (this.chosen !== w) return; // another workload shown meanwhile: its form is not the one that failed
    const field = res.body?.field;
    const message = res.body?.error ?? `the server answered ${res.status}`;
    const name = typeof field === "string" && field.startsWith("params.") ? field.slice(7) : null;
    if (this.inputs.has(name)) {
      const prefix = `${field}: `;
      this.setError(name, message.startsWith(prefix) ? message.slice(prefix.length) : message);
      this.inputs.get(name).el.focus();
    } else this.topError(message);
  }
}

// ------------------------------------------------------------ details

/** A gid as a button that selects it (gid > 0), "hub" (0), or "—" (none). */
function gidRef(trace, gid, withFunc = false) {
  if (gid == null || gid < 0) return "—";
  if (gid === 0) return "hub";
  const g = esc(gid);
  const func = withFunc && trace.byGid.get(gid) ? ` <span class="mono">${esc(trace.byGid.get(gid).func)}</span>` : "";
  return `<button type="button" data-gid="${g}" title="show gt${g}" style="padding: 0 4px">gt${g}</button>${func}`;
}

/** "(N earlier not shown)", if any were left out. */
const earlier = (n) => (n > 0 ? `<p class="dim">(${count(n)} earlier not shown)</p>` : "");

/** Fill the details panel (#details) for greenthread `lane` of `trace` as it was at `now` (ns; default: the trace's
 * end; earlier when paused or replaying). gid buttons call `onSelectGid(gid)`; the close button (#details-close)
 * hides the panel and calls `onClose()`. */
export function renderDetails(aside, trace, lane, { now, onSelectGid, onClose } = {}) {
  now = Math.max(now ?? trace.end, lane.ts.a[0]);
  const i = lane.at(now); // the transition in force at `now`: what came after is not shown
  const end = (k) => Math.min(trace.endOf(lane, k), now);
  const state = lane.st.a[i], since = lane.ts.a[i];
  const kv = (k, v, attrs = "") => `<tr><td>${k}</td><td${attrs}>${v}</td></tr>`;

  const stateNow = `${swatch(STATES[state])}${STATE_LABELS[state]} <span class="dim">since ${duration(since)}</span>`;
  const what = `<span class="mono">${esc(trace.detail(lane.dt.a[i]) ?? "?")}</span>`;
  const forHow = ` <span class="dim">for</span> ${duration(now - since)}`;
  let waiting = "";
  if (state === RUNNING) waiting = kv("running for", duration(now - since));
  else if (state === READY) waiting = kv("waiting for", `its turn <span class="dim">(woken: ${what})</span>${forHow}`);
  else if (state !== DONE) waiting = kv("waiting for", what + forHow);
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
    kv("spawn site", esc(lane.site ?? "—"), ' class="mono" id="detail-site"') +
    kv("parent", gidRef(trace, lane.parent, true)) +
    kv("pool", pool, ' class="mono"') +
    kv("spawned at", spawned) +
    kv("state", stateNow) +
    waiting +
    kv("exit", exit);

  // time per state up to `now` (trace.totals(lane), cut at `now`); shares are of its life, not of after its exit
  const totals = new Float64Array(STATES.length);
  for (let k = 0; k <= i; k++) totals[lane.st.a[k]] += end(k) - lane.ts.a[k];
  const life = totals.reduce((sum, t, s) => (s === DONE ? sum : sum + t), 0);
  const row = (label, t, pct) => `<tr><td>${label}</td><td${RIGHT}>${duration(t)}</td><td${RIGHT}>${pct}</td></tr>`;
  const share = (t) => `${((100 * t) / life).toFixed(1)} %`;
  let perState = "";
  for (let s = 0; s < DONE; s++) {
    if (totals[s]) perState += row(swatch(STATES[s]) + STATES[s], totals[s], share(totals[s]));
  }
  perState += row("alive", life, "100 %");
  if (totals[DONE]) perState += row(`${swatch(STATES[DONE])}done (after exit)`, totals[DONE], "");

  const nw = lastAtOrBefore(lane.wakeTs.a, lane.wakeTs.n, now) + 1; // wakes up to `now`
  let wakes = "";
  for (let w = nw - 1; w >= Math.max(0, nw - WAKES_SHOWN); w--) {
    const cause = esc(trace.detail(lane.wakeCause.a[w]) ?? "?");
    wakes += `<tr><td>${duration(lane.wakeTs.a[w])}</td><td class="mono">${cause}</td>` +
      `<td>${gidRef(trace, lane.wakeBy.a[w])}</td></tr>`;
  }

  let history = ""; // trace.intervals(lane), the last ones up to `now`, most recent first
  for (let k = i; k >= Math.max(0, i + 1 - HISTORY_SHOWN); k--) {
    const s = STATES[lane.st.a[k]], start = lane.ts.a[k];
    history += `<tr><td>${duration(start)}</td><td${RIGHT}>${duration(end(k) - start)}</td>` +
      `<td>${swatch(s)}${s}</td><td class="mono">${esc(trace.detail(lane.dt.a[k]) ?? "")}</td></tr>`;
  }

  // a re-render of the same greenthread keeps the scroll position and the focused button
  const same = aside.dataset.gid === String(lane.gid);
  const top = same ? aside.scrollTop : 0;
  const buttons = () => [...aside.querySelectorAll("button")];
  const focused = same && aside.contains(document.activeElement) ? buttons().indexOf(document.activeElement) : -1;

  aside.innerHTML = `<h3><button type="button" id="details-close" title="close" aria-label="close the details"
      style="float: right">✕</button>gt${esc(lane.gid)} <span class="mono">${esc(lane.func)}</span></h3>
    <table>${about}</table>
    ${H4}time per state</h4>
    <table>${perState}</table>
    ${H4}woken by <span class="dim">(${count(nw)})</span></h4>
    ${nw ? `<table>${head("at", "cause", "waker")}${wakes}</table>` : '<p class="dim">never woken</p>'}
    ${earlier(nw - WAKES_SHOWN)}
    ${H4}state history <span class="dim">(most recent first)</span></h4>
    <table>${head("start", "duration", "state", "detail")}${history}</table>${earlier(i + 1 - HISTORY_SHOWN)}`;
  aside.dataset.gid = lane.gid;
  aside.hidden = false;
  aside.scrollTop = top;
  if (focused >= 0) buttons()[focused]?.focus({ preventScroll: true });
  aside.onclick = (e) => {
    const b = e.target.closest("button");
    if (!b) return;
    if (b.id === "details-close") {
      aside.hidden = true;
      onClose?.();
    } else if (b.dataset.gid) onSelectGid?.(Number(b.dataset.gid));
  };
}

// ------------------------------------------------------------ session picker, help, legend

const base = (path) => (path ? String(path).split(/[\\/]/).pop() : "");

/** Fill #session-picker: "— none —", then "id · workload or program · state", newest first; value = session id.
 * Selects `currentId` (or keeps the selection if it is undefined); rebuilt only when the options changed. */
export function fillSessionPicker(select, sessions, currentId) {
  const current = currentId === undefined ? select.value : String(currentId ?? "");
  const sorted = [...sessions].sort((a, b) => (b.started ?? 0) - (a.started ?? 0) || Number(b.id) - Number(a.id));
  const want = [["", "— none —"]].concat(
    sorted.map((s) => [String(s.id), `${s.id} · ${s.workload || base(s.program) || s.source || "?"} · ${s.state}`]),
  );
  const have = [...select.options];
  if (want.length !== have.length || want.some(([v, t], k) => have[k].value !== v || have[k].text !== t)) {
    select.replaceChildren(...want.map(([v, t]) => new Option(t, v)));
  }
  select.value = want.some(([v]) => v === current) ? current : "";
}

/** Fill the help dialog's table (#help-keys) with [key, what it does] rows. */
export function fillHelp(table, keys) {
  table.innerHTML = keys.map(([key, what]) => `<tr><td><kbd>${esc(key)}</kbd></td><td>${esc(what)}</td></tr>`).join("");
}

/** Fill the footer (#legend): each state's colour, the hub's, error marks and wake arrows. */
export function fillLegend(footer) {
  const item = (mark, label) => `<span>${mark}${esc(label)}</span>`;
  footer.innerHTML = [
    ...STATE_LABELS.map((label, s) => item(swatch(STATES[s]), label)),
    item(swatch(null, "var(--hub-wait)"), "hub: waiting in the poller"),
    item(swatch(null, "var(--hub-busy)"), "hub: running"),
    item('<span style="color: var(--mark)">✕</span> ', "error / kill"),
    item('<span style="color: var(--arrow)">→</span> ', "wake (who woke whom)"),
  ].join("");
}

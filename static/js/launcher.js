// The launcher dialog: pick a workload, set its parameters, launch it (POST /api/sessions).
// Each input carries its parameter's limits as HTML constraints (min, max, step, required, pattern);
// the browser's own validity check says what is wrong, next to the field. The server checks again
// and its 400 goes next to the field it names.

import { esc } from "./format.js";

const FIRST = "crawler"; // every talk starts with it
const URL_PATTERN = "https?://.+";
const URL_MAX = 2000;

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

/** One parameter's row: label, input (prefilled with `value`, its limits as constraints), help, an error slot. */
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
    input = `<input type="checkbox" class="check" ${attrs}${value ? " checked" : ""}>`;
  } else {
    const url = p.type === "url" ? ` type="url" pattern="${URL_PATTERN}" maxlength="${URL_MAX}"` : ' type="text"';
    input = `<input${url} ${attrs} value="${esc(value ?? "")}"${p.required ? " required" : ""}>`;
  }
  const help = [p.description, limits(p)].filter(Boolean).join(" · ");
  return `<div class="field"><label for="${id}">${name}</label>${input}<small id="${id}-help">${esc(help)}</small>` +
    `<span class="error" id="${id}-error" data-error-for="${name}" hidden></span></div>`;
}

/** What is wrong with an input, from its own constraints ("" if nothing). */
function problem(el) {
  const v = el.validity;
  if (v.valid) return "";
  const { min, max } = el;
  if (v.valueMissing) return "required";
  if (v.badInput || v.stepMismatch) return el.step === "1" ? "must be an integer" : "must be a number";
  if (v.rangeUnderflow || v.rangeOverflow) {
    if (min !== "" && max !== "") return `must be between ${min} and ${max}`;
    return v.rangeUnderflow ? `must be at least ${min}` : `must be at most ${max}`;
  }
  if (v.typeMismatch || v.patternMismatch) return "must be an http or https URL";
  if (v.tooLong) return `must be at most ${el.maxLength} characters`;
  return el.validationMessage;
}

/** An input's value as the server takes it. */
function valueOf(p, el) {
  if (p.type === "int" || p.type === "float") return Number(el.value);
  if (p.type === "bool") return el.checked;
  if (p.type === "choice") return p.choices.find((c) => String(c) === el.value);
  return p.type === "url" ? el.value.trim() : el.value;
}

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

  /** Show the dialog with workload `workloadName` (default: the last one shown, else the crawler). */
  async open(workloadName) {
    try {
      this.loading ??= this.load();
      this.workloads = await this.loading;
    } catch (e) {
      this.loading = null; // try again next time
      this.body.innerHTML = `<h2>Launch a workload</h2><p id="launch-error" class="field-error" role="alert"></p>` +
        `<p class="actions"><button type="button" id="launch-cancel">Close</button></p>`;
      this.body.querySelector("#launch-error").textContent = `could not list the workloads: ${e.message}`;
      if (!this.dialog.open) this.dialog.showModal();
      return;
    }
    const name = workloadName ?? this.chosen?.name ?? FIRST;
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
      <p class="actions">
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

  /** Whether parameter `name` is valid; its error (if any) shown next to it. */
  check(name) {
    const { el } = this.inputs.get(name);
    const error = problem(el);
    this.setError(name, error);
    return !error;
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

  /** Launch `workload` with `params` (POST /api/sessions): {ok, status, body}; `onLaunched(session)` if it started. */
  async launch(workload, params = {}) {
    let res;
    try {
      res = await this.fetchJSON("/api/sessions", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ workload, params }),
      });
    } catch (e) {
      res = { ok: false, status: 0, body: { error: `could not reach the server: ${e.message}` } };
    }
    if (res.ok) this.onLaunched?.(res.body);
    return res;
  }

  /** Check every parameter here, then POST; a 400 goes next to the field it names, or on top. */
  async submit() {
    const w = this.chosen;
    if (this.busy || !w) return;
    this.topError("");
    const params = {};
    let invalid = null;
    for (const [name, { p, el }] of this.inputs) {
      if (this.check(name)) params[name] = valueOf(p, el);
      else invalid ??= el;
    }
    if (invalid) {
      invalid.focus();
      return;
    }
    const button = this.body.querySelector("#launch-submit");
    this.busy = button.disabled = true;
    let res;
    try {
      res = await this.launch(w.name, params);
    } finally {
      this.busy = button.disabled = false;
    }
    if (res.ok) {
      this.last.set(w.name, params);
      this.close();
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

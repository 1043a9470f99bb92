// The small panels: the session picker, the help and the legend.

import { esc } from "./format.js";
import { model } from "./schema.js";
import { swatch } from "./details.js";

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

/** Fill the footer (#legend): each state's colour, the hub's, error marks, lost events, late timers, stalls and
 * wake arrows. */
export function fillLegend(footer) {
  const item = (mark, label, extra = false) => `<span${extra ? ' class="extra"' : ""}>${mark}${esc(label)}</span>`;
  footer.innerHTML = [
    ...model.labels.map((label, s) => item(swatch(model.states[s]), label)),
    item(swatch("hub-wait"), "hub: waiting in the poller", true),
    item(swatch("hub-busy"), "hub: running", true),
    item('<span class="mark">✕</span> ', "error / kill", true),
    item('<span class="mark">▮</span> ', "events lost here (on the time axis)", true),
    item('<span class="mark">╹</span> ', "a timer fired ≥ 1 ms late (on the hub's lane)", true),
    item('<span class="mark">▭</span> ', "a stall: one greenthread held the hub", true),
    item('<span class="arrow">→</span> ', "wake (who woke whom)", true),
  ].join("");
}

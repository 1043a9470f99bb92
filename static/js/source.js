// The source view (the side panel's Source tab): the program's own code as the dashboard serves it (read-only;
// GET /api/sessions/<id>/source), with the line each greenthread is parked on marked in the colour of its state,
// and — while the hub holds (paused, stepping) — the line the next greenthread resumes at highlighted. Clicking a
// lane shows its line; clicking a mark selects its greenthread.

import { holding, paceOf } from "./control.js";
import { swatch } from "./details.js";
import { esc } from "./format.js";
import { lastWait, nextUp } from "./narration.js";
import { model } from "./schema.js";

const MARKS_SHOWN = 6; // greenthreads named on a line, the rest counted

/** Where a "path:line in function" is: {path, line} (the function's name has no space; a path may). */
export function place(where) {
  const cut = where.lastIndexOf(" in ");
  const head = cut >= 0 ? where.slice(0, cut) : where;
  const colon = head.lastIndexOf(":");
  return { path: head.slice(0, colon), line: Number(head.slice(colon + 1)) };
}

/** The state that colours a line with greenthreads in `states`: running, then ready, then the first. */
function lineState(states) {
  if (states.includes(model.RUNNING)) return model.RUNNING;
  return states.includes(model.READY) ? model.READY : states[0];
}

export class SourceView {
  /** `section`: #source; `fetchJSON(url)`; `onSelectGid(gid)`. */
  constructor(section, { fetchJSON, onSelectGid }) {
    this.el = section;
    this.fetchJSON = fetchJSON;
    this.session = null;
    this.files = new Map(); // path (as the events name it) -> {path, file, text}
    this.path = null; // the file shown
    this.rows = []; // its line elements, by line number - 1
    this.shown = ""; // the marks drawn, to redraw only when they change
    this.next = 0; // the line framed as the next greenthread's (0: none)
    this.fresh = false; // a file just shown: the first marks bring their lines into view
    section.addEventListener("click", (ev) => {
      const b = ev.target.closest("button[data-gid]");
      if (b) onSelectGid(Number(b.dataset.gid));
    });
  }

  /** Show `session`'s program (its script, unless a file of it is shown already). */
  async open(session) {
    if (!session) return;
    if (session.id !== this.session?.id) {
      this.session = session;
      this.files.clear();
      this.path = null;
      this.el.replaceChildren();
    }
    if (this.path === null) await this.load(null);
  }

  /** Fetch a file of the program (`path` as its events name it; null: its script) and show it. */
  async load(path) {
    const sid = this.session.id;
    let file = path === null ? null : this.files.get(path);
    if (!file) {
      const query = path === null ? "" : `?path=${encodeURIComponent(path)}`;
      const r = await this.fetchJSON(`/api/sessions/${encodeURIComponent(sid)}/source${query}`);
      if (this.session?.id !== sid) return false;
      if (!r.ok) {
        this.el.innerHTML = `<p class="dim">${esc(r.body?.error || `no source (${r.status})`)}</p>`;
        this.path = null;
        return false;
      }
      file = r.body;
      this.files.set(file.path, file);
    }
    if (this.path !== file.path) this.render(file);
    return true;
  }

  render(file) {
    this.path = file.path;
    this.shown = "";
    this.next = 0;
    this.fresh = true;
    const name = file.path.split(/[\\/]/).pop();
    const lines = file.text.replace(/\n$/, "").split("\n");
    this.el.innerHTML =
      `<p class="src-head"><span class="mono">${esc(name)}</span> <span class="dim mono">${esc(file.file)}</span></p>` +
      `<div class="src-body mono">${lines
        .map((text, i) => `<div class="src-line" data-line="${i + 1}"><span class="src-no">${i + 1}</span>` +
          `<code>${esc(text) || " "}</code><span class="src-marks"></span></div>`)
        .join("")}</div>`;
    this.rows = [...this.el.querySelectorAll(".src-line")];
  }

  /** Mark the lines greenthreads are parked on (as the trace is at its end), and the next one's. */
  update(trace) {
    if (!trace || this.path === null) return;
    const byLine = new Map(); // line -> [[gid, state]]
    for (const lane of trace.lanes) {
      if (lane.state === model.DONE || lane.state === model.LOST) continue;
      const wait = lastWait(trace, lane);
      if (!wait?.where) continue;
      const at = place(wait.where);
      if (at.path !== this.path) continue;
      if (!byLine.has(at.line)) byLine.set(at.line, []);
      byLine.get(at.line).push([lane.gid, lane.state]);
    }
    let next = 0;
    if (holding(paceOf(trace))) {
      const lane = nextUp(trace), wait = lane && lastWait(trace, lane);
      if (wait?.where && place(wait.where).path === this.path) next = place(wait.where).line;
    }
    const sig = `${next}|${[...byLine].map(([l, gs]) => `${l}:${gs.join(";")}`).join(",")}`;
    if (sig === this.shown) return;
    this.shown = sig;
    for (const row of this.el.querySelectorAll(".src-line[data-state], .src-line.next")) {
      delete row.dataset.state;
      row.classList.remove("next");
      row.querySelector(".src-marks").replaceChildren();
    }
    for (const [line, gids] of byLine) {
      const row = this.rows[line - 1];
      if (!row) continue;
      const state = model.states[lineState(gids.map(([, s]) => s))];
      row.dataset.state = state;
      row.style.setProperty("--src-state", `var(--s-${state})`);
      const chips = gids.slice(0, MARKS_SHOWN).map(([gid, s]) =>
        `<button type="button" class="gid" data-gid="${gid}" title="gt${gid}: ${esc(model.labels[s])}">` +
        `${swatch(model.states[s])}gt${gid}</button>`);
      if (gids.length > MARKS_SHOWN) chips.push(`<span class="dim">+${gids.length - MARKS_SHOWN}</span>`);
      row.querySelector(".src-marks").innerHTML = chips.join("");
    }
    if (next && this.rows[next - 1]) this.rows[next - 1].classList.add("next");
    // the line that runs next comes into view as it changes (stepping); a file just shown, its first marked line
    const first = byLine.size ? Math.min(...byLine.keys()) : 0;
    const row = this.rows[(next && next !== this.next ? next : this.fresh ? first : 0) - 1];
    if (row) this.scrollTo(row, this.fresh);
    if (row) this.fresh = false;
    this.next = next;
  }

  /** Scroll the view (itself only: scrollIntoView would scroll the page's clipped boxes too) to `row`: centred, or
   * just into view. */
  scrollTo(row, centre) {
    const el = this.el, top = row.getBoundingClientRect().top - el.getBoundingClientRect().top + el.scrollTop;
    const bottom = top + row.offsetHeight, head = this.el.querySelector(".src-head")?.offsetHeight ?? 0;
    if (centre) el.scrollTop = top - (el.clientHeight - row.offsetHeight) / 2;
    else if (top - head < el.scrollTop) el.scrollTop = top - head;
    else if (bottom > el.scrollTop + el.clientHeight) el.scrollTop = bottom - el.clientHeight;
  }

  /** Show the line `lane` is parked on (loading its file if another), centred. */
  async reveal(trace, lane) {
    const wait = lastWait(trace, lane);
    if (!wait?.where || !this.session) return;
    const at = place(wait.where);
    if (at.path !== this.path && !(await this.load(at.path))) return;
    this.update(trace);
    const row = this.rows[at.line - 1];
    if (!row) return;
    this.scrollTo(row, true);
    for (const r of this.el.querySelectorAll(".src-line.selected")) r.classList.remove("selected");
    row.classList.add("selected");
  }
}

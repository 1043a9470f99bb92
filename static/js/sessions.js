// The sessions: the server's list (the picker), and the one the page shows — opened (a fresh Trace, its id in
// the page's URL), closed, stopped or deleted — or a recording loaded; the header as that session is (its state,
// Stop, Delete, Replay, the downloads).

import { count } from "./format.js";
import { fillSessionPicker } from "./panels.js";
import { model } from "./schema.js";
import { Trace } from "./trace.js";

const $ = (id) => document.getElementById(id);

/** Whether a session's program runs (or may: "?" is one opened by its URL before the server described it). */
export const isLive = (s) => ["starting", "running", "?"].includes(s.state) && s.source !== "recording";

export class Sessions {
  /** `page`: main.js's {session, trace, sessions, wantPid, opened}; `app`: the parts a session is shown in —
   * {stream, viewport, timeline, gauges, control, narrator, source, side, refreshInsights(force), redraw(),
   * status(text, error), fetchJSON(url, options)}. */
  constructor(page, app) {
    this.page = page;
    this.app = app;
  }

  /** The server's list of sessions. */
  listed(list) {
    this.page.sessions = new Map(list.map((s) => [s.id, s]));
    this.changed();
  }

  /** A session's news (it started, changed state, ended). */
  updated(s) {
    this.page.sessions.set(s.id, s);
    this.changed();
  }

  /** A session the server no longer has: closed if it is the one shown. */
  removed(id) {
    this.page.sessions.delete(id);
    if (this.page.session?.id === id) this.close();
    this.changed();
  }

  /** A session made here (launched, or a recording loaded): listed, and opened. */
  added(s) {
    this.page.sessions.set(s.id, s);
    this.changed();
    this.open(s.id);
  }

  /** The list changed: the picker; the session the page waits for, opened; the one shown, as it is now. */
  changed() {
    const page = this.page, list = [...page.sessions.values()];
    fillSessionPicker($("session-picker"), list, page.session?.id);
    if (!page.session && page.wantPid === null && !page.opened && list.length) {
      // the page opened with no session named: show the newest (the demo `make run` launched, say)
      this.open(list.reduce((a, b) => (Number(b.id) > Number(a.id) ? b : a)).id);
    }
    page.opened = true;
    if (page.wantPid !== null) {
      const s = list.find((x) => x.pid === page.wantPid);
      if (s) {
        page.wantPid = null;
        this.open(s.id);
      }
    }
    if (page.session) {
      const s = page.sessions.get(page.session.id);
      if (s) {
        if (page.session.state === "?" && !isLive(s)) {
          this.app.viewport.open(page.trace, true); // opened by its URL: an ended one, fitted
        }
        page.session = s;
        this.show();
      }
    }
  }

  /** Open a session: a fresh Trace, fed from its first retained event; live ones followed, ended ones fitted. With
   * `range` ([start, stop], ns since its first event), the events of its recording there instead (read from disk),
   * shown from start to stop. */
  open(id, range = null) {
    if (!id) return;
    const page = this.page, { narrator, side, source, viewport, timeline, gauges, stream } = this.app;
    const s = page.sessions.get(id) || { id, state: "?" };
    page.session = s;
    page.trace = new Trace(model);
    page.range = range && { start: range[0], stop: range[1], first: null, events: null }; // events: the server says
    narrator.reset();
    if (side.tab === "source") source.open(s).then(() => source.update(page.trace));
    viewport.open(page.trace, !isLive(s) || Boolean(range));
    if (range) viewport.setRange(range[0], range[1]);
    timeline.setTrace(page.trace);
    gauges.setTrace(page.trace);
    if (side.tab === "details") side.hide();
    this.app.refreshInsights(true);
    const url = new URL(location.href);
    url.searchParams.set("session", id);
    url.searchParams.delete("pid");
    history.replaceState(null, "", url);
    stream.subscribe(id, range);
    this.show();
    this.app.redraw();
  }

  /** The header as the session shown is (or none). */
  show() {
    const s = this.page.session;
    const pill = $("session-state");
    pill.textContent = s ? (s.stalled ? "stalled" : s.state) : "";
    pill.dataset.state = s ? s.state : "";
    pill.dataset.stalled = String(Boolean(s?.stalled));
    pill.title = s?.error || "";
    // whatever the state: an ended session may have lost events on the way
    if (s?.error) this.app.status(s.error, true);
    const live = Boolean(s) && ["starting", "running"].includes(s.state) && s.source !== "recording";
    this.app.control.setSession(s, live, this.page.trace);
    $("btn-stop").disabled = !live;
    $("btn-delete").disabled = !s || live;
    $("btn-play").disabled = !s || ["starting", "running"].includes(s.state);
    $("replay-seek").disabled = $("btn-play").disabled;
    const base = s ? `/api/sessions/${encodeURIComponent(s.id)}` : "";
    for (const [el, href] of [
      ["dl-recording", `${base}/recording`],
      ["dl-chrome", `${base}/export?format=chrome`],
    ]) {
      $(el).setAttribute("aria-disabled", String(!s));
      $(el).href = s ? href : "#";
    }
    $("empty").hidden = Boolean(s);
    $("session-picker").value = s ? s.id : "";
  }

  /** Stop a live session's program, or delete an ended session and its recording (DELETE does what fits). */
  async stop() {
    if (!this.page.session) return;
    const url = `/api/sessions/${encodeURIComponent(this.page.session.id)}`;
    const r = await this.app.fetchJSON(url, { method: "DELETE" });
    if (!r.ok) this.app.status(r.body?.error || `failed (${r.status})`, true);
  }

  /** No session open: the page says what to do. */
  close() {
    const page = this.page, { viewport, narrator, timeline, gauges, side } = this.app;
    page.session = page.trace = page.range = viewport.trace = null;
    narrator.reset();
    timeline.setTrace(null);
    gauges.setTrace(null);
    if (side.tab) side.hide();
    const url = new URL(location.href);
    url.searchParams.delete("session");
    history.replaceState(null, "", url);
    this.show();
    this.app.redraw();
  }

  /** Upload a recording (a .gsc file) and open its session. */
  async load(file) {
    const { status, fetchJSON } = this.app;
    status(`loading ${file.name}…`);
    const form = new FormData();
    form.append("file", file);
    const r = await fetchJSON("/api/recordings", { method: "POST", body: form });
    if (!r.ok) {
      status(r.body?.error || `could not load ${file.name} (${r.status})`, true);
      return;
    }
    status(`${file.name}: ${count(r.body.events)} events`);
    this.added(r.body);
  }
}

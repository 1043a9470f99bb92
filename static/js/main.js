// The page's wiring: sessions in, the stream into a Trace, the controls, and one redraw per animation
// frame behind dirty flags.

import { Control } from "./control.js";
import { fillPools, fillChoices, readFilter, timeDependent } from "./filters.js";
import { count, duration } from "./format.js";
import { Gauges } from "./gauges.js";
import { KEYS, wireInput } from "./input.js";
import { Launcher } from "./launcher.js";
import { renderDetails, tooltipText } from "./details.js";
import { Insights } from "./insights.js";
import { fillHelp, fillLegend, fillSessionPicker } from "./panels.js";
import { Narrator } from "./narration.js";
import { model } from "./schema.js";
import { SourceView } from "./source.js";
import { Stream } from "./stream.js";
import { Side } from "./side.js";
import { fitCanvas, readTheme } from "./theme.js";
import { Timeline } from "./timeline.js";
import { Trace } from "./trace.js";
import { View } from "./view.js";
import { Viewport } from "./viewport.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search); // a token, if any, is in the server's cookie: never here

const page = {
  session: null, // the session dict open now
  trace: null,
  hover: null, // {x, y} of the pointer over the timeline
  sessions: new Map(),
  wantPid: params.get("pid") ? Number(params.get("pid")) : null,
  opened: false, // a session list came: later ones never open a session by themselves
};
const view = new View();
const dirty = { main: true, gauges: true, overlay: true };
const viewport = new Viewport(view, () => dirtyAll());
const timeline = new Timeline(view);
const gauges = new Gauges($("gauges"), view);
let theme = readTheme();
const stats = { frames: [], draws: 0, ingest: 0 }; // ms of drawing work per frame, ms ingesting (for benchmarks)

// ------------------------------------------------------------------ server

/** A request to the dashboard: {ok, status, body}. Requests that change something say they come from the page
 * (X-Greenscope): with the same-origin check, no other page can make them. */
async function fetchJSON(url, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (options.method && options.method !== "GET") headers["X-Greenscope"] = "1";
  try {
    const r = await fetch(url, { ...options, headers });
    let body = null;
    try {
      body = await r.json();
    } catch {
      body = null;
    }
    return { ok: r.ok, status: r.status, body };
  } catch (e) {
    return { ok: false, status: 0, body: { error: `the dashboard is unreachable (${e.message})` } };
  }
}

function status(text, error = false) {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", error);
}

const stream = new Stream({
  onStatus: status,
  onConnect: () => page.session && stream.subscribe(page.session.id),
  onSessions: (list) => {
    page.sessions = new Map(list.map((s) => [s.id, s]));
    sessionsChanged();
  },
  onSession: (s) => {
    page.sessions.set(s.id, s);
    sessionsChanged();
  },
  onRemoved: (id) => {
    page.sessions.delete(id);
    if (page.session?.id === id) closeSession();
    sessionsChanged();
  },
  onBatch: (batch) => {
    const t0 = performance.now();
    page.trace.ingest(batch);
    stats.ingest += performance.now() - t0;
    liveControl(batch);
    if (!viewport.paused) dirtyAll();
  },
});

// ------------------------------------------------------------------ live control: pace, narration, source

const control = new Control($("pace"), { fetchJSON, onStatus: (text, error) => status(text, error) });
const narrator = new Narrator($("narration"));
const source = new SourceView($("source"), { fetchJSON, onSelectGid: (gid) => select(page.trace.byGid.get(gid) || null) });

/** After a batch: the pace buttons, the narration and the source view's marks as the program's hub is now. */
function liveControl(batch) {
  narrator.ingest(batch, page.trace);
  narrator.show(page.trace, page.session);
  control.ingested();
  if (side.tab === "source") source.update(page.trace);
}

function sessionsChanged() {
  const list = [...page.sessions.values()];
  fillSessionPicker($("session-picker"), list, page.session?.id);
  if (!page.session && page.wantPid === null && !page.opened && list.length) {
    // the page opened with no session named: show the newest (the demo `make run` launched, say)
    openSession(list.reduce((a, b) => (Number(b.id) > Number(a.id) ? b : a)).id);
  }
  page.opened = true;
  if (page.wantPid !== null) {
    const s = list.find((x) => x.pid === page.wantPid);
    if (s) {
      page.wantPid = null;
      openSession(s.id);
    }
  }
  if (page.session) {
    const s = page.sessions.get(page.session.id);
    if (s) {
      if (page.session.state === "?" && !isLive(s)) {
        viewport.open(page.trace, true); // opened by its URL: an ended one, fitted
      }
      page.session = s;
      showSession();
    }
  }
}

const isLive = (s) => ["starting", "running", "?"].includes(s.state) && s.source !== "recording";

/** Open a session: a fresh Trace, fed from its first retained event; live ones followed, ended ones fitted. */
function openSession(id) {
  if (!id) return;
  const s = page.sessions.get(id) || { id, state: "?" };
  page.session = s;
  page.trace = new Trace(model);
  narrator.reset();
  if (side.tab === "source") source.open(s).then(() => source.update(page.trace));
  viewport.open(page.trace, !isLive(s));
  timeline.setTrace(page.trace);
  gauges.setTrace(page.trace);
  if (side.tab === "details") side.hide();
  refreshInsights(true);
  const url = new URL(location.href);
  url.searchParams.set("session", id);
  url.searchParams.delete("pid");
  history.replaceState(null, "", url);
  stream.subscribe(id);
  showSession();
  dirtyAll();
}

function showSession() {
  const s = page.session;
  const pill = $("session-state");
  pill.textContent = s ? (s.stalled ? "stalled" : s.state) : "";
  pill.dataset.state = s ? s.state : "";
  pill.dataset.stalled = String(Boolean(s?.stalled));
  pill.title = s?.error || "";
  if (s?.error) status(s.error, true); // whatever the state: an ended session may have lost events on the way
  const live = Boolean(s) && ["starting", "running"].includes(s.state) && s.source !== "recording";
  control.setSession(s, live, page.trace);
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

// ------------------------------------------------------------------ launching, stopping, loading

const launcher = new Launcher($("launcher"), $("launcher-body"), {
  fetchJSON,
  onLaunched: (s) => {
    page.sessions.set(s.id, s);
    sessionsChanged();
    openSession(s.id);
  },
});

/** Stop a live session's program, or delete an ended session and its recording (DELETE does what fits). */
async function stopSession() {
  if (!page.session) return;
  const r = await fetchJSON(`/api/sessions/${encodeURIComponent(page.session.id)}`, { method: "DELETE" });
  if (!r.ok) status(r.body?.error || `failed (${r.status})`, true);
}

/** No session open: the page says what to do. */
function closeSession() {
  page.session = page.trace = viewport.trace = null;
  narrator.reset();
  timeline.setTrace(null);
  gauges.setTrace(null);
  if (side.tab) side.hide();
  const url = new URL(location.href);
  url.searchParams.delete("session");
  history.replaceState(null, "", url);
  showSession();
  dirtyAll();
}

async function loadRecording(file) {
  status(`loading ${file.name}…`);
  const form = new FormData();
  form.append("file", file);
  const r = await fetchJSON("/api/recordings", { method: "POST", body: form });
  if (!r.ok) {
    status(r.body?.error || `could not load ${file.name} (${r.status})`, true);
    return;
  }
  status(`${file.name}: ${count(r.body.events)} events`);
  page.sessions.set(r.body.id, r.body);
  sessionsChanged();
  openSession(r.body.id);
}

// ------------------------------------------------------------------ drawing, once per frame

function dirtyAll() {
  dirty.main = dirty.gauges = dirty.overlay = true;
  schedule();
}

let scheduled = false;
function schedule() {
  if (!scheduled) {
    scheduled = true;
    requestAnimationFrame(frame);
  }
}

function frame(now) {
  scheduled = false;
  const playing = viewport.replayStep(now);
  if (!playing && viewport.replay) showReplay();
  draw();
  if (playing) {
    showReplay();
    schedule();
  }
}

/** Draw what is dirty, now. */
function draw() {
  const t0 = performance.now();
  const tr = page.trace, s = page.session;
  viewport.fitWhenIn(Boolean(tr && s && tr.events > 0 && tr.events >= (s.retained ?? s.events ?? 0)));
  viewport.step();
  timeline.frozen = viewport.paused || Boolean(viewport.replay);
  timeline.liveFirst = viewport.follow && Boolean(s && isLive(s)) && timeline.hideDone;
  const end = viewport.until();
  const canvas = $("timeline");
  view.gutter = theme.gutter;
  view.width = Math.max(1, canvas.clientWidth - theme.gutter);
  if (dirty.gauges) {
    dirty.gauges = false;
    $("gauges").style.height = `${gauges.height(theme)}px`; // gauges.draw sizes its backing store
    gauges.draw(theme, end);
  }
  if (dirty.main) {
    dirty.main = false;
    const { ctx, w, h } = fitCanvas(canvas);
    timeline.draw(ctx, w, h, theme, end);
    showRange();
    showControls();
  }
  if (dirty.overlay) {
    dirty.overlay = false;
    const { ctx, w, h } = fitCanvas($("overlay"));
    timeline.drawOverlay(ctx, w, h, theme, page.hover?.x ?? null, end);
  }
  stats.frames.push(performance.now() - t0);
  if (stats.frames.length > 600) stats.frames.splice(0, 300);
  stats.draws++;
}

function showRange() {
  const tr = page.trace;
  const el = $("view-range");
  const c = $("timeline").dataset;
  c.t0 = String(view.t0);
  c.t1 = String(view.t1);
  c.lanes = String(tr ? tr.lanes.length : 0);
  c.events = String(tr ? tr.events : 0);
  c.rows = String(timeline.nrows);
  if (!tr) {
    el.textContent = "";
    return;
  }
  const dropped = tr.dropped ? ` · ${count(tr.dropped)} lost` : "";
  el.textContent = `${duration(view.t0)} – ${duration(view.t1)} · ${count(tr.lanes.length)} greenthreads · ${count(tr.events)} events${dropped}`;
}

function showReplay() {
  const r = viewport.replay;
  $("btn-play").textContent = r?.playing ? "❚❚ Pause replay" : "▶ Replay";
  if (r) $("replay-seek").value = String(Math.round((1000 * r.t) / Math.max(1, page.trace.now)));
}

// ------------------------------------------------------------------ details, tooltip

/** Select a greenthread (or none): its lane scrolled into view, its details shown. */
function select(lane) {
  timeline.selected = lane;
  if (lane && side.tab === "source") {
    timeline.reveal(lane, theme);
    source.reveal(page.trace, lane); // its line in the program
  } else if (lane) {
    timeline.reveal(lane, theme);
    side.show("details");
    showDetails(lane);
  } else if (side.tab === "details") side.hide();
  dirtyAll();
}

function showDetails(lane) {
  renderDetails($("details"), page.trace, lane, {
    now: viewport.until(),
    onSelectGid: (gid) => select(page.trace.byGid.get(gid) || null),
  });
}

// ------------------------------------------------------------------ the analysis: insights, tasks, resources, a range

const side = new Side($("side"), (tab) => {
  if (tab === "source") source.open(page.session).then(() => source.update(page.trace));
  refreshInsights(true);
  dirtyAll();
});

const insights = new Insights(
  { insights: $("insights"), tasks: $("tasks"), resources: $("resources") },
  {
    fetchJSON,
    onSelectGid: (gid) => select(page.trace.byGid.get(gid) || null),
    onFinding: showFinding,
    onClearRange: () => selectRange(null),
  },
);

/** Ask for the analysis again (if a panel of it is open, and the session changed since). */
function refreshInsights(force = false) {
  if (side.tab && side.tab !== "details" && side.tab !== "source") insights.refresh(page.session, page.trace, force);
}

/** A finding: its greenthread selected, the moment it points at in view. */
function showFinding(f) {
  const tr = page.trace;
  if (f.at !== null) {
    const at = f.at, ns = Math.max(f.ns ?? 0, tr.now / 100, 1e6);
    viewport.setFollow(false);
    viewport.setRange(Math.max(0, at - ns), at + 2 * ns);
  }
  if (f.gid !== null && tr.byGid.has(f.gid)) select(tr.byGid.get(f.gid)); // its details: the Greenthread tab
  dirtyAll();
}

/** The range shift-dragged on the timeline (page times), or none: its totals in the Insights tab. */
function selectRange(t0, t1) {
  timeline.range = t0 === null ? null : { t0: Math.min(t0, t1), t1: Math.max(t0, t1) };
  if (timeline.range) side.show("insights");
  insights.select(page.session, page.trace, timeline.range?.t0 ?? null, timeline.range?.t1 ?? null);
  dirtyAll();
}

function hover(x, y) {
  page.hover = { x, y };
  dirty.overlay = true;
  schedule();
  const tip = $("tooltip");
  const hit = timeline.hit(x, y, theme);
  if (!hit || (!hit.inPlot && hit.kind !== "group" && hit.kind !== "lane")) {
    tip.hidden = true;
    return;
  }
  tip.textContent = tooltipText(timeline, hit, viewport.until());
  tip.hidden = false;
  const rect = $("timeline").getBoundingClientRect();
  tip.style.left = `${Math.min(x + 14, rect.width - tip.offsetWidth - 4)}px`;
  tip.style.top = `${Math.min(y + 14, rect.height - tip.offsetHeight - 4)}px`;
}

function leave() {
  page.hover = null;
  $("tooltip").hidden = true;
  dirtyAll(); // the rows may move again
}

// ------------------------------------------------------------------ filters, sort, controls

function applyFilters() {
  timeline.filter = readFilter(page.trace);
  timeline.sort = $("sort").value;
  timeline.scrollRow = 0;
  timeline.invalidateRows();
  dirtyAll();
}

function hideEnded(on) {
  $("filter-done").checked = on;
  timeline.hideDone = on;
  timeline.invalidateRows();
  dirtyAll();
}

function cycleSort() {
  const sel = $("sort");
  sel.selectedIndex = (sel.selectedIndex + 1) % sel.options.length;
  applyFilters();
}

/** The Follow and Pause buttons as the viewport is (at each redraw). */
function showControls() {
  const pause = $("btn-pause"), label = viewport.paused ? "Resume" : "Pause";
  if (pause.textContent !== label) pause.textContent = label;
  pause.setAttribute("aria-pressed", String(viewport.paused));
  $("btn-follow").setAttribute("aria-pressed", String(viewport.follow));
}

function toggleReplay() {
  if (!page.trace || $("btn-play").disabled) return;
  viewport.toggleReplay(Number($("replay-speed").value));
  showReplay();
  schedule();
}

// the rows that depend on time (a state filter, a sort by state or time blocked) move twice a second
setInterval(() => {
  fillPools(page.trace);
  if (!viewport.paused) {
    timeline.tick(timeDependent(timeline.sort));
    dirtyAll();
  }
  if (timeline.selected && side.tab === "details" && !viewport.paused) showDetails(timeline.selected); // no scrolling
  if (page.session && isLive(page.session)) refreshInsights();
  if (side.tab === "source") source.update(page.trace);
}, 500);

function toggleTheme() {
  const root = document.documentElement;
  root.dataset.theme = root.dataset.theme === "dark" ? "light" : "dark";
  localStorage.setItem("greenscope.theme", root.dataset.theme);
  themeChanged();
}

function toggleProjector() {
  const root = document.documentElement;
  if ("projector" in root.dataset) delete root.dataset.projector;
  else root.dataset.projector = "";
  localStorage.setItem("greenscope.projector", "projector" in root.dataset ? "1" : "");
  themeChanged();
}

function themeChanged() {
  theme = readTheme();
  dirtyAll();
}

const scrollBy = (rows) => () => timeline.scrollBy(rows(), theme);
const rowsPage = () => timeline.visibleRows(theme) - 1;
const actions = {
  f: () => viewport.setFollow(!viewport.follow),
  " ": () => viewport.setPaused(!viewport.paused),
  "+": () => viewport.zoom(0.5),
  "=": () => viewport.zoom(0.5),
  "-": () => viewport.zoom(2),
  0: () => viewport.fit(),
  ArrowLeft: () => viewport.pan(-view.width / 5),
  ArrowRight: () => viewport.pan(view.width / 5),
  ArrowUp: scrollBy(() => -1),
  ArrowDown: scrollBy(() => 1),
  PageUp: scrollBy(() => -rowsPage()),
  PageDown: scrollBy(rowsPage),
  Home: scrollBy(() => -timeline.nrows),
  End: scrollBy(() => timeline.nrows),
  Escape: () => {
    if (timeline.range) selectRange(null);
    else if (side.tab) side.hide();
    select(null);
  },
  i: () => side.toggle("insights"),
  "/": () => $("filter-text").focus(),
  s: cycleSort,
  h: () => hideEnded(!timeline.hideDone),
  r: toggleReplay,
  l: () => launcher.open(),
  k: () => control.pause(),
  n: () => control.step(),
  b: () => control.stepThread(),
  m: () => control.slower(),
  g: () => control.resume(),
  c: () => side.toggle("source"),
  t: toggleTheme,
  p: toggleProjector,
  "?": () => $("help").showModal(),
};

function wireControls() {
  $("btn-follow").onclick = () => viewport.setFollow(!viewport.follow);
  $("btn-pause").onclick = () => viewport.setPaused(!viewport.paused);
  $("btn-zoom-in").onclick = () => viewport.zoom(0.5);
  $("btn-zoom-out").onclick = () => viewport.zoom(2);
  $("btn-fit").onclick = () => viewport.fit();
  $("btn-play").onclick = toggleReplay;
  $("replay-speed").onchange = () => viewport.replay && (viewport.replay.speed = Number($("replay-speed").value));
  $("replay-seek").oninput = (ev) => page.trace && viewport.seek(Number(ev.target.value) / 1000);
  $("btn-launch").onclick = () => launcher.open();
  $("empty-launch").onclick = () => launcher.open();
  $("btn-stop").onclick = stopSession;
  $("btn-delete").onclick = stopSession;
  $("btn-help").onclick = () => $("help").showModal();
  $("btn-insights").onclick = () => side.toggle("insights");
  $("btn-theme").onclick = toggleTheme;
  $("btn-projector").onclick = toggleProjector;
  $("session-picker").onchange = (ev) => openSession(ev.target.value);
  $("file-input").onchange = (ev) => ev.target.files[0] && loadRecording(ev.target.files[0]);
  for (const id of ["filter-text", "filter-state", "filter-pool", "sort"]) $(id).addEventListener("input", applyFilters);
  $("filter-done").onchange = (ev) => hideEnded(ev.target.checked);
  fillChoices();
  document.addEventListener("dragover", (ev) => {
    ev.preventDefault();
    $("drop-hint").hidden = false;
  });
  document.addEventListener("dragleave", (ev) => {
    if (!ev.relatedTarget) $("drop-hint").hidden = true;
  });
  document.addEventListener("drop", (ev) => {
    ev.preventDefault();
    $("drop-hint").hidden = true;
    const file = ev.dataTransfer?.files?.[0];
    if (file) loadRecording(file);
  });
  window.addEventListener("resize", dirtyAll);
}

// ------------------------------------------------------------------ start

window.greenscope = {
  page, view, viewport, timeline, gauges, stats, model, insights, side, stream, control, narrator, source,
  get trace() { return page.trace; },
  get theme() { return theme; },
  /** Draw now, synchronously (tests read the canvas right after). */
  drawNow() {
    dirtyAll();
    draw();
  },
};
document.documentElement.dataset.theme = params.get("theme") || localStorage.getItem("greenscope.theme") || "dark";
// ?presenter=WORKLOAD: a bookmark for a talk: projector mode, and that workload running until stopped (its
// defaults, `continuous` on)
const presenter = params.get("presenter");
if (presenter || localStorage.getItem("greenscope.projector")) document.documentElement.dataset.projector = "";
themeChanged();
fillHelp($("help-keys"), KEYS);
fillLegend($("legend"));
wireControls();
wireInput({ timeline, viewport, theme: () => theme, select, selectRange, hover, leave, redraw: dirtyAll, actions });
new ResizeObserver(dirtyAll).observe($("timeline-wrap"));
window.addEventListener("load", themeChanged); // the stylesheet's sizes, for sure by now
showSession(); // none yet: Stop, Replay and the downloads are off
if (params.get("session")) {
  page.sessions.set(params.get("session"), { id: params.get("session"), state: "?" });
  openSession(params.get("session"));
} else if (presenter) {
  page.opened = true; // the presenter's session, not the newest
  launcher.launch(presenter, { continuous: true }).then((r) => r.ok || status(r.body?.error || `could not launch ${presenter}`, true));
}
dirtyAll();

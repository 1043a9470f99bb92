// The page's wiring: the parts made and joined (the session shown: sessions.js; what is selected and
// hovered: selection.js), the stream into the session's Trace, the controls, and one redraw per
// animation frame behind dirty flags.

import { Control } from "./control.js";
import { Feed } from "./feed.js";
import { fillPools, fillChoices, readFilter, timeDependent } from "./filters.js";
import { count, duration } from "./format.js";
import { Gauges } from "./gauges.js";
import { KEYS, wireInput } from "./input.js";
import { Launcher } from "./launcher.js";
import { Insights } from "./insights.js";
import { fillHelp, fillLegend } from "./panels.js";
import { Narrator } from "./narration.js";
import { Overview } from "./overview.js";
import { model } from "./schema.js";
import { Selection } from "./selection.js";
import { Sessions, isLive } from "./sessions.js";
import { SourceView } from "./source.js";
import { Stream } from "./stream.js";
import { Side } from "./side.js";
import { fitCanvas, readTheme } from "./theme.js";
import { Timeline } from "./timeline.js";
import { View } from "./view.js";
import { Viewport } from "./viewport.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search); // a token, if any, is in the server's cookie: never here

const page = {
  session: null, // the session dict open now
  trace: null,
  range: null, // {start, stop, first, events}: the span of the session's recording open (null: as memory holds it)
  hover: null, // {x, y} of the pointer over the timeline
  sessions: new Map(),
  wantPid: params.get("pid") ? Number(params.get("pid")) : null,
  opened: false, // a session list came: later ones never open a session by themselves
  maxEvents: 10_000_000, // a live session's events the page holds: past them it starts again from the server's window
  rollovers: 0, // times it did
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
  onConnect: () => {
    // again, after the connection was lost: the server sends the history again, to a fresh trace (once, it went
    // into the one the page had, and every event was there twice)
    if (page.session && page.trace?.events) sessions.open(page.session.id, stream.range);
    else if (page.session) stream.subscribe(page.session.id, stream.range);
  },
  onSessions: (list) => sessions.listed(list),
  onSession: (s) => sessions.updated(s),
  onRemoved: (id) => sessions.removed(id),
  onRange: (range) => {
    if (page.range) Object.assign(page.range, range);
    dirtyAll();
  },
  onBatch: (batch, ack) => feed.push(page.trace, batch, ack),
});

const feed = new Feed({
  current: ({ trace, batch }) => trace === page.trace && batch.tag === stream.tag,
  done: ({ batch, ack }) => {
    ack();
    if (tooMany()) return rollover();
    liveControl(batch);
    if (!viewport.paused) redrawAfterBatch();
  },
  spent: (ms) => (stats.ingest += ms),
});

/** Whether the page holds more of a live session than it keeps: `maxEvents`, and twice what the server sent it as the
 * session's history (a server that keeps more in memory than that would send it all again, and again). */
function tooMany() {
  const s = page.session, held = page.trace.events;
  return !page.range && isLive(s) && held > page.maxEvents && held > 2 * (s.retained ?? 0);
}

/** A live session that outgrew the page: it starts again from what the server holds in memory (its window; the rest
 * is on disk, on the overview), so a page left following a busy program for an hour keeps its memory bounded. */
function rollover() {
  const held = page.trace.events;
  page.rollovers++;
  sessions.open(page.session.id);
  status(`the page held ${count(held)} events: it starts again from the latest the server holds (earlier: above)`);
}

// ------------------------------------------------------------------ live control: pace, narration, source

const control = new Control($("pace"), { fetchJSON, onStatus: (text, error) => status(text, error) });
const narrator = new Narrator($("narration"));
const source = new SourceView($("source"), { fetchJSON, onSelectGid: (gid) => selection.selectGid(gid) });

/** After a batch: the pace buttons, the narration and the source view's marks as the program's hub is now. */
function liveControl(batch) {
  narrator.ingest(batch, page.trace);
  narrator.show(page.trace, page.session);
  control.ingested();
  if (side.tab === "source") source.update(page.trace);
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
    onSelectGid: (gid) => selection.selectGid(gid),
    onFinding: (f) => selection.showFinding(f),
    onClearRange: () => selection.selectRange(null),
  },
);

/** Ask for the analysis again (if a panel of it is open, and the session changed since). */
function refreshInsights(force = false) {
  if (side.tab && side.tab !== "details" && side.tab !== "source") insights.refresh(page.session, page.trace, force);
}

// ------------------------------------------------------------------ sessions, launching, selecting

const sessions = new Sessions(page, {
  stream, viewport, timeline, gauges, control, narrator, source, side, refreshInsights, redraw: dirtyAll, status,
  fetchJSON,
});

const overview = new Overview($("overview"), {
  fetchJSON,
  onPick: (start, stop) => sessions.open(page.session.id, [start, stop]),
  onLatest: () => sessions.open(page.session.id),
  redraw: dirtyAll,
  viewSpan: () => view.t1 - view.t0,
});

const launcher = new Launcher($("launcher"), $("launcher-body"), { fetchJSON, onLaunched: (s) => sessions.added(s) });

const selection = new Selection(page, {
  timeline, viewport, side, source, insights, theme: () => theme, redraw: dirtyAll,
  redrawOverlay: () => {
    dirty.overlay = true;
    schedule();
  },
});

// ------------------------------------------------------------------ drawing, once per frame

function dirtyAll() {
  dirty.main = dirty.gauges = dirty.overlay = true;
  schedule();
}

const LOADING_REDRAW_MS = 250;
let loadingRedraw = null;

/** Redraw for a batch: at once, but while the session's history streams in (the page holds fewer events than the
 * session kept), every `LOADING_REDRAW_MS` at most — a redraw per batch of a 10M-event recording took a fifth of
 * the page's time from taking the batches in. */
function redrawAfterBatch() {
  const tr = page.trace;
  if (!tr || !page.session || tr.events >= expected()) return dirtyAll();
  loadingRedraw ??= setTimeout(() => {
    loadingRedraw = null;
    dirtyAll();
  }, LOADING_REDRAW_MS);
}

/** The events the page is to get: the span of the recording it asked for, or what the session holds in memory. */
function expected() {
  const s = page.session;
  if (page.range) return page.range.events ?? Infinity;
  return s.retained ?? s.events ?? 0;
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
  viewport.fitWhenIn(Boolean(tr && s && tr.events > 0 && tr.events >= expected()));
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
    overview.draw(theme, page, view);
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
  // what matters most first: a narrow toolbar (a projector's) cuts the end off; the title has all of it
  const dropped = (tr.dropped ? ` · ${count(tr.dropped)} lost` : "") + (tr.earlier ? ` · ${count(tr.earlier)} before` : "");
  el.textContent = `${duration(view.t0)} – ${duration(view.t1)}${dropped} · ${count(tr.lanes.length)} greenthreads · ${count(tr.events)} events`;
  el.title = el.textContent;
}

function showReplay() {
  const r = viewport.replay;
  $("btn-play").textContent = r?.playing ? "❚❚ Pause replay" : "▶ Replay";
  const start = page.trace.start;
  if (r) $("replay-seek").value = String(Math.round((1000 * (r.t - start)) / Math.max(1, page.trace.now - start)));
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
  if (timeline.selected && side.tab === "details" && !viewport.paused) selection.showDetails(timeline.selected); // no scrolling
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
    if (timeline.range) selection.selectRange(null);
    else if (side.tab) side.hide();
    selection.select(null);
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
  $("btn-stop").onclick = () => sessions.stop();
  $("btn-delete").onclick = () => sessions.stop();
  $("btn-help").onclick = () => $("help").showModal();
  $("btn-insights").onclick = () => side.toggle("insights");
  $("btn-theme").onclick = toggleTheme;
  $("btn-projector").onclick = toggleProjector;
  $("session-picker").onchange = (ev) => sessions.open(ev.target.value);
  $("file-input").onchange = (ev) => ev.target.files[0] && sessions.load(ev.target.files[0]);
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
    if (file) sessions.load(file);
  });
  window.addEventListener("resize", dirtyAll);
}

// ------------------------------------------------------------------ start

window.greenscope = {
  page, view, viewport, timeline, gauges, stats, model, insights, side, stream, feed, control, narrator, source,
  overview, sessions,
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
wireInput({
  timeline, viewport, gauges, theme: () => theme, redraw: dirtyAll, actions,
  select: (lane) => selection.select(lane),
  selectRange: (t0, t1) => selection.selectRange(t0, t1),
  hover: (x, y) => selection.hover(x, y),
  leave: () => selection.leave(),
});
new ResizeObserver(dirtyAll).observe($("timeline-wrap"));
window.addEventListener("load", themeChanged); // the stylesheet's sizes, for sure by now
sessions.show(); // none yet: Stop, Replay and the downloads are off
if (params.get("session")) {
  page.sessions.set(params.get("session"), { id: params.get("session"), state: "?" });
  sessions.open(params.get("session"));
} else if (presenter) {
  page.opened = true; // the presenter's session, not the newest
  launcher.launch(presenter, { continuous: true }).then((r) => r.ok || status(r.body?.error || `could not launch ${presenter}`, true));
}
dirtyAll();

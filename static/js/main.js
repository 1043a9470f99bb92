// The page: sessions, the live stream, controls, and one redraw per animation frame behind dirty flags.

import { io } from "../vendor/socket.io/socket.io.esm.min.js";
import { duration, count } from "./format.js";
import { Gauges } from "./gauges.js";
import { fillHelp, fillLegend, fillSessionPicker, Launcher, renderDetails } from "./panels.js";
import { fitCanvas, readTheme, View } from "./theme.js";
import { Timeline } from "./timeline.js";
import { STATES, Trace } from "./trace.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const token = params.get("token");
if (token) {
  // kept in memory (and in the server's cookie), off the address bar: it may be on a projector
  const url = new URL(location.href);
  url.searchParams.delete("token");
  history.replaceState(null, "", url);
}

const KEYS = [
  ["f", "follow now (the view slides with the newest events)"],
  ["space", "pause / resume the view (events keep arriving)"],
  ["+  −  or wheel", "zoom in / out (around the pointer with the wheel)"],
  ["0", "zoom to fit"],
  ["← →  or drag", "pan in time"],
  ["↑ ↓  PgUp PgDn  shift+wheel", "scroll the lanes"],
  ["Home End", "first lane / last lane"],
  ["click", "details of a greenthread (and who woke it: arrows); click a pool's row to fold it"],
  ["Esc", "close the details"],
  ["/", "filter lanes"],
  ["h", "hide / show the lanes of greenthreads that ended before the view starts"],
  ["r", "replay the session from its start (ended sessions and recordings)"],
  ["l", "launch a workload"],
  ["t", "light / dark theme"],
  ["p", "projector mode: large type, thick lanes"],
  ["?", "this help"],
];

const state = {
  session: null, // the session dict open now
  trace: null,
  follow: true,
  paused: false, // the view is frozen at `frozenAt`
  frozenAt: 0,
  replay: null, // {t, playing, last} while replaying
  hoverX: null,
  sessions: new Map(),
  wantPid: params.get("pid") ? Number(params.get("pid")) : null,
  fitPending: false, // fit the view once a loaded recording's events are all in
  opened: false, // a session list came: later ones never open a session by themselves
  tag: 0, // names our latest subscription; batches of an earlier one are dropped
};
const view = new View();
view.t1 = 2e9;
let theme = null;
const timeline = new Timeline($("timeline"), $("overlay"), view);
const gauges = new Gauges($("gauges"), view);
const dirty = { main: true, gauges: true, overlay: true };
const stats = { frames: [], draws: 0 }; // ms of drawing work per frame (for benchmarks)
window.greenscope = {
  state, view, timeline, gauges, stats,
  get trace() { return state.trace; },
  get theme() { return theme; },
};

// ------------------------------------------------------------------ server

async function fetchJSON(url, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
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

const socket = io({ auth: token ? { token } : {}, transports: ["websocket", "polling"] });
socket.on("connect_error", (e) => status(`not connected: ${e.message}`, true));
socket.on("connect", () => {
  status("");
  if (state.session) openSession(state.session.id); // afresh: the server sends its history again
});
socket.on("sessions", (list) => {
  state.sessions = new Map(list.map((s) => [s.id, s]));
  sessionsChanged();
});
socket.on("session", (s) => {
  state.sessions.set(s.id, s);
  sessionsChanged();
});
socket.on("batch", (batch) => {
  if (!state.session || batch.tag !== state.tag) return; // another session's, or sent before we subscribed again
  state.trace.ingest(batch);
  socket.emit("ack", { seq: batch.seq });
  if (!state.paused) dirtyAll();
});

function sessionsChanged() {
  const list = [...state.sessions.values()];
  fillSessionPicker($("session-picker"), list, state.session?.id);
  if (!state.session && state.wantPid === null && !state.opened && list.length) {
    // the page opened with no session named: show the newest (the demo `make run` launched, say)
    openSession(list.reduce((a, b) => (Number(b.id) > Number(a.id) ? b : a)).id);
  }
  state.opened = true;
  if (state.wantPid !== null) {
    const s = list.find((x) => x.pid === state.wantPid);
    if (s) {
      state.wantPid = null;
      openSession(s.id);
    }
  }
  if (state.session) {
    const s = state.sessions.get(state.session.id);
    if (s) {
      state.session = s;
      showSession();
    }
  }
}

function subscribe(id) {
  state.tag++;
  socket.emit("subscribe", { session: id, tag: state.tag }, (reply) => {
    if (reply?.error) status(reply.error, true);
  });
}

/** Open a session: a fresh Trace, fed from its first retained event. */
function openSession(id) {
  if (!id) return;
  const s = state.sessions.get(id) || { id, state: "?" };
  if (state.session) socket.emit("unsubscribe", {});
  state.session = s;
  state.trace = new Trace();
  state.follow = true;
  state.paused = false;
  state.replay = null;
  timeline.setTrace(state.trace);
  gauges.setTrace(state.trace);
  $("details").hidden = true;
  const url = new URL(location.href);
  url.searchParams.set("session", id);
  url.searchParams.delete("pid");
  history.replaceState(null, "", url);
  if (socket.connected) subscribe(id); // else on connect
  showSession();
  dirtyAll();
}

function showSession() {
  const s = state.session;
  const pill = $("session-state");
  pill.textContent = s ? (s.stalled ? "stalled" : s.state) : "";
  pill.dataset.state = s ? s.state : "";
  pill.dataset.stalled = String(Boolean(s?.stalled));
  pill.title = s?.error || "";
  $("btn-stop").disabled = !s || !["starting", "running"].includes(s.state) || s.source === "recording";
  $("btn-play").disabled = !s || ["starting", "running"].includes(s.state);
  $("replay-seek").disabled = $("btn-play").disabled;
  const auth = token ? `token=${encodeURIComponent(token)}` : "";
  const base = s ? `/api/sessions/${encodeURIComponent(s.id)}` : "";
  for (const [el, href] of [
    ["dl-recording", `${base}/recording${auth ? `?${auth}` : ""}`],
    ["dl-chrome", `${base}/export?format=chrome${auth ? `&${auth}` : ""}`],
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
    state.sessions.set(s.id, s);
    sessionsChanged();
    openSession(s.id);
  },
});

async function stopSession() {
  if (!state.session) return;
  const r = await fetchJSON(`/api/sessions/${encodeURIComponent(state.session.id)}`, { method: "DELETE" });
  if (!r.ok) status(r.body?.error || `stop failed (${r.status})`, true);
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
  state.sessions.set(r.body.id, r.body);
  sessionsChanged();
  openSession(r.body.id);
  state.follow = false;
  state.fitPending = true; // fit once its events are in
}

// ------------------------------------------------------------------ view

function until() {
  const tr = state.trace;
  if (!tr) return 0;
  if (state.replay) return state.replay.t;
  if (state.paused) return state.frozenAt;
  return tr.end;
}

function dirtyAll() {
  dirty.main = dirty.gauges = dirty.overlay = true;
  schedule();
}

function setRange(t0, t1) {
  const span = Math.max(1e3, t1 - t0); // 1 µs at the most zoomed in
  view.t0 = t0;
  view.t1 = t0 + span;
  dirtyAll();
}

function zoom(factor, atX) {
  const x = atX ?? view.gutter + view.width / 2;
  const t = view.t(x);
  const span = Math.min(Math.max((view.t1 - view.t0) * factor, 1e3), 1e13);
  if (state.follow && atX === undefined) setRange(view.t1 - span, view.t1);
  else setRange(t - ((x - view.gutter) / view.width) * span, t - ((x - view.gutter) / view.width) * span + span);
}

function pan(px) {
  setFollow(false);
  const dt = px * view.scale;
  setRange(view.t0 + dt, view.t1 + dt);
}

function fit() {
  setFollow(false);
  setRange(0, Math.max(until(), 1e6));
}

function setFollow(on) {
  state.follow = on;
  if (on && state.paused) setPaused(false);
  $("btn-follow").setAttribute("aria-pressed", String(on));
  dirtyAll();
}

function setPaused(on) {
  if (on) {
    state.frozenAt = until();
    state.follow = false;
  } else state.follow = true;
  state.paused = on;
  $("btn-pause").setAttribute("aria-pressed", String(on));
  $("btn-pause").textContent = on ? "Resume" : "Pause";
  $("btn-follow").setAttribute("aria-pressed", String(state.follow));
  dirtyAll();
}

// ------------------------------------------------------------------ replay

function toggleReplay() {
  if (!state.trace || $("btn-play").disabled) return;
  const r = state.replay;
  if (r && r.playing) {
    r.playing = false;
  } else if (r) {
    r.playing = true;
    r.last = performance.now();
    if (r.t >= state.trace.end) r.t = 0;
  } else {
    state.replay = { t: 0, playing: true, last: performance.now() };
    state.paused = false;
    setFollow(true);
  }
  $("btn-play").textContent = state.replay.playing ? "❚❚ Pause replay" : "▶ Replay";
  dirtyAll();
}

function replayStep(now) {
  const r = state.replay;
  if (!r || !r.playing) return;
  r.t += Math.max(0, now - r.last) * 1e6 * Number($("replay-speed").value);
  r.last = now;
  if (r.t >= state.trace.end) {
    r.t = state.trace.end;
    r.playing = false;
    $("btn-play").textContent = "▶ Replay";
  }
  $("replay-seek").value = String(Math.round((1000 * r.t) / Math.max(1, state.trace.end)));
  dirtyAll();
}

function seek(frac) {
  if (!state.trace) return;
  if (!state.replay) state.replay = { t: 0, playing: false, last: performance.now() };
  state.replay.t = frac * state.trace.end;
  dirtyAll();
}

// ------------------------------------------------------------------ drawing, once per frame

let scheduled = false;
function schedule() {
  if (!scheduled) {
    scheduled = true;
    requestAnimationFrame(frame);
  }
}

function frame(now) {
  scheduled = false;
  replayStep(now);
  const t0 = performance.now();
  if (!theme) theme = readTheme();
  const tr = state.trace;
  const end = until();
  if (state.follow && tr) {
    const span = view.t1 - view.t0;
    view.t1 = Math.max(end, span * 0.02);
    view.t0 = view.t1 - span;
  }
  if (state.fitPending && tr && tr.end > 0 && state.session?.events && tr.events >= state.session.retained) {
    state.fitPending = false;
    view.t0 = 0;
    view.t1 = Math.max(tr.end, 1e6);
  }
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
  }
  if (dirty.overlay) {
    dirty.overlay = false;
    const { ctx, w, h } = fitCanvas($("overlay"));
    timeline.drawOverlay(ctx, w, h, theme, state.hoverX, end);
  }
  const spent = performance.now() - t0;
  stats.frames.push(spent);
  if (stats.frames.length > 600) stats.frames.splice(0, 300);
  stats.draws++;
  if (state.replay?.playing) schedule();
}

function showRange() {
  const tr = state.trace;
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

// ------------------------------------------------------------------ details, tooltip

/** Select a greenthread (or none): its lane scrolled into view, its details shown. */
function select(lane) {
  timeline.selected = lane;
  if (lane) {
    timeline.reveal(lane, theme);
    showDetails(lane);
  } else $("details").hidden = true;
  dirtyAll();
}

function showDetails(lane) {
  renderDetails($("details"), state.trace, lane, {
    now: until(),
    onSelectGid: (gid) => select(state.trace.byGid.get(gid) || null),
    onClose: () => select(null),
  });
}

function tooltipText(hit) {
  const tr = state.trace;
  if (hit.kind === "hub") {
    if (hit.wait < 0) return `hub: running\n${duration(hit.t)}`;
    const s = tr.waitStart.a[hit.wait], e = tr.waitEnd.a[hit.wait];
    return `hub: waiting in the poller\nfrom ${duration(s)} for ${duration(e - s)}\n${tr.waitReady.a[hit.wait]} fds ready after`;
  }
  if (hit.kind === "group") return `${hit.group.label}: ${hit.group.count} greenthreads (click to fold)`;
  const lane = hit.lane;
  const head = `gt${lane.gid} ${lane.func}`;
  if (hit.index < 0) return `${head}\n${lane.site || ""}`;
  const s = lane.ts.a[hit.index], e = tr.endOf(lane, hit.index);
  const st = STATES[lane.st.a[hit.index]], det = tr.detail(lane.dt.a[hit.index]);
  return `${head}\n${st}${det ? ` (${det})` : ""}\nat ${duration(s)} for ${duration(e - s)}`;
}

function hover(ev) {
  const rect = $("timeline").getBoundingClientRect();
  const x = ev.clientX - rect.left, y = ev.clientY - rect.top;
  state.hoverX = x;
  dirty.overlay = true;
  schedule();
  const tip = $("tooltip");
  const hit = theme && timeline.hit(x, y, theme);
  if (!hit || (hit.kind !== "group" && x < view.gutter && hit.kind !== "lane")) {
    tip.hidden = true;
    return;
  }
  tip.textContent = tooltipText(hit);
  tip.hidden = false;
  tip.style.left = `${Math.min(x + 14, rect.width - tip.offsetWidth - 4)}px`;
  tip.style.top = `${Math.min(y + 14, rect.height - tip.offsetHeight - 4)}px`;
}

// ------------------------------------------------------------------ filters

function applyFilters() {
  const text = $("filter-text").value.trim().toLowerCase();
  const st = $("filter-state").value;
  const pool = $("filter-pool").value;
  const tr = state.trace;
  if (!text && !st && !pool) timeline.filter = null;
  else {
    const want = st === "" ? -1 : Number(st);
    timeline.filter = (lane) =>
      (!pool || String(lane.pool) === pool) &&
      (want < 0 || lane.state === want) &&
      (!text ||
        `gt${lane.gid}`.startsWith(text) ||
        String(lane.func).toLowerCase().includes(text) ||
        String(lane.site || "").toLowerCase().includes(text) ||
        (tr.resources.get(lane.pool)?.name || "").toLowerCase().includes(text));
  }
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

function fillPools() {
  const sel = $("filter-pool");
  const tr = state.trace;
  if (!tr) return;
  const pools = [...tr.resources.values()].filter((r) => r.type === "pool");
  if (sel.options.length === pools.length + 1) return;
  const keep = sel.value;
  sel.replaceChildren(new Option("any pool", ""), ...pools.map((p) => new Option(p.name, String(p.obj))));
  sel.value = keep;
}

// a state filter depends on time: the rows are rebuilt twice a second
setInterval(() => {
  fillPools();
  if ($("filter-state").value && !state.paused) {
    timeline.invalidateRows();
    dirtyAll();
  }
  if (timeline.selected && !$("details").hidden && !state.paused) showDetails(timeline.selected); // no scrolling
}, 500);

// ------------------------------------------------------------------ input

function wireInput() {
  const canvas = $("timeline");
  let drag = null;
  canvas.addEventListener("pointerdown", (ev) => {
    canvas.setPointerCapture(ev.pointerId);
    drag = { x: ev.clientX, y: ev.clientY, moved: false, acc: 0 };
  });
  canvas.addEventListener("pointermove", (ev) => {
    hover(ev);
    if (!drag) return;
    const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    drag.moved = true;
    canvas.classList.add("dragging");
    pan(-dx);
    drag.acc += dy;
    const rows = Math.trunc(drag.acc / theme.row);
    if (rows) {
      timeline.scrollBy(-rows, theme);
      drag.acc -= rows * theme.row;
    }
    drag.x = ev.clientX;
    drag.y = ev.clientY;
  });
  canvas.addEventListener("pointerup", (ev) => {
    canvas.classList.remove("dragging");
    const d = drag;
    drag = null;
    if (!d || d.moved) return;
    const rect = canvas.getBoundingClientRect();
    const hit = timeline.hit(ev.clientX - rect.left, ev.clientY - rect.top, theme);
    if (hit?.kind === "group") {
      timeline.toggleGroup(hit.group);
      dirtyAll();
    } else if (hit?.kind === "lane") select(hit.lane);
  });
  canvas.addEventListener("pointerleave", () => {
    state.hoverX = null;
    $("tooltip").hidden = true;
    dirty.overlay = true;
    schedule();
  });
  canvas.addEventListener(
    "wheel",
    (ev) => {
      ev.preventDefault();
      if (ev.shiftKey) {
        timeline.scrollBy(Math.sign(ev.deltaY || ev.deltaX) * 3, theme);
        dirtyAll();
        return;
      }
      const rect = canvas.getBoundingClientRect();
      const x = ev.clientX - rect.left;
      if (Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) pan(ev.deltaX);
      else zoom(Math.exp(ev.deltaY * 0.002), state.follow ? undefined : Math.max(x, view.gutter));
    },
    { passive: false },
  );
  const gcanvas = $("gauges");
  gcanvas.addEventListener("pointermove", (ev) => {
    const rect = gcanvas.getBoundingClientRect();
    const text = gauges.hit(ev.clientX - rect.left, ev.clientY - rect.top);
    gcanvas.title = text || "";
  });

  $("btn-follow").onclick = () => setFollow(!state.follow);
  $("btn-pause").onclick = () => setPaused(!state.paused);
  $("btn-zoom-in").onclick = () => zoom(0.5);
  $("btn-zoom-out").onclick = () => zoom(2);
  $("btn-fit").onclick = fit;
  $("btn-play").onclick = toggleReplay;
  $("replay-seek").oninput = (ev) => seek(Number(ev.target.value) / 1000);
  $("btn-launch").onclick = () => launcher.open();
  $("btn-stop").onclick = stopSession;
  $("btn-help").onclick = () => $("help").showModal();
  $("btn-theme").onclick = toggleTheme;
  $("btn-projector").onclick = toggleProjector;
  $("session-picker").onchange = (ev) => openSession(ev.target.value);
  $("file-input").onchange = (ev) => ev.target.files[0] && loadRecording(ev.target.files[0]);
  for (const id of ["filter-text", "filter-state", "filter-pool"]) $(id).addEventListener("input", applyFilters);
  $("filter-done").onchange = (ev) => hideEnded(ev.target.checked);
  const fs = $("filter-state");
  STATES.forEach((s, i) => fs.append(new Option(`${s} now`, String(i))));

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
  document.addEventListener("keydown", onKey);
  window.addEventListener("resize", dirtyAll);
}

function onKey(ev) {
  if (ev.target.closest("dialog") || (ev.target.closest("input, select, textarea") && ev.key !== "Escape")) return;
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const rowsPage = timeline.visibleRows(theme) - 1;
  const actions = {
    f: () => setFollow(!state.follow),
    " ": () => setPaused(!state.paused),
    "+": () => zoom(0.5),
    "=": () => zoom(0.5),
    "-": () => zoom(2),
    0: fit,
    ArrowLeft: () => pan(-view.width / 5),
    ArrowRight: () => pan(view.width / 5),
    ArrowUp: () => timeline.scrollBy(-1, theme),
    ArrowDown: () => timeline.scrollBy(1, theme),
    PageUp: () => timeline.scrollBy(-rowsPage, theme),
    PageDown: () => timeline.scrollBy(rowsPage, theme),
    Home: () => timeline.scrollBy(-timeline.nrows, theme),
    End: () => timeline.scrollBy(timeline.nrows, theme),
    Escape: () => select(null),
    "/": () => $("filter-text").focus(),
    h: () => hideEnded(!timeline.hideDone),
    r: toggleReplay,
    l: () => launcher.open(),
    t: toggleTheme,
    p: toggleProjector,
    "?": () => $("help").showModal(),
  };
  const act = actions[ev.key];
  if (!act) return;
  ev.preventDefault();
  act();
  dirtyAll();
}

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

// ------------------------------------------------------------------ start

document.documentElement.dataset.theme = localStorage.getItem("greenscope.theme") || "dark";
if (localStorage.getItem("greenscope.projector")) document.documentElement.dataset.projector = "";
theme = readTheme();
fillHelp($("help-keys"), KEYS);
fillLegend($("legend"));
wireInput();
new ResizeObserver(dirtyAll).observe($("timeline-wrap"));
window.addEventListener("load", themeChanged); // the stylesheet's sizes, for sure by now
showSession(); // none yet: Stop, Replay and the downloads are off
if (params.get("session")) {
  state.sessions.set(params.get("session"), { id: params.get("session"), state: "?" });
  openSession(params.get("session"));
}
dirtyAll();

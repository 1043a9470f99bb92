// Pointer, wheel and keys. Shortcuts work wherever the focus is but in a text field or a dialog;
// Escape leaves a text field, and buttons, choices and the seek slider let go of the focus once used.

const $ = (id) => document.getElementById(id);

export const KEYS = [
  ["f", "follow now (the view slides with the newest events)"],
  ["space", "pause / resume the view (events keep arriving)"],
  ["+  −  or wheel", "zoom in / out (around the pointer with the wheel)"],
  ["0", "zoom to fit"],
  ["← →  or drag", "pan in time"],
  ["↑ ↓  PgUp PgDn  shift+wheel", "scroll the lanes"],
  ["Home End", "first lane / last lane"],
  ["click", "details of a greenthread (and who woke it: arrows); click a pool's row to fold it"],
  ["shift + drag", "select a time range: its totals per state and per function (Insights)"],
  ["i", "insights: what slows the program down; tasks; resources"],
  ["Esc", "clear the range; close the panel; leave the filter box"],
  ["/", "filter lanes"],
  ["s", "sort the lanes: by creation, time blocked, state now, function"],
  ["h", "hide / show the lanes of greenthreads that ended before the view starts"],
  ["r", "replay the session from its start (ended sessions and recordings)"],
  ["l", "launch a workload"],
  ["k", "pause the program itself: its hub holds at the next switch (a running program)"],
  ["n", "step the paused program: one switch"],
  ["b", "step one greenthread until it blocks"],
  ["m", "slow motion: 0.5×, 0.1×, 0.02× of real time"],
  ["g", "resume the program at full speed"],
  ["c", "the program's source: where each greenthread waits (click a lane: its line)"],
  ["t", "light / dark theme"],
  ["p", "projector mode: large type, thick lanes"],
  ["?", "this help"],
];

const TYPING = 'input:not([type="range"]):not([type="checkbox"]):not([type="file"]), textarea';

/** Wire the page's input to `app`: {timeline, viewport, gauges, theme(), select(lane), selectRange(t0, t1),
 * hover(x, y), leave(), redraw(), actions: {key: () => void}} — the keys' actions, by the key. */
export function wireInput(app) {
  const canvas = $("timeline");
  const { timeline, viewport, gauges } = app;
  const strips = $("gauges");
  strips.addEventListener("pointermove", (ev) => {
    const rect = strips.getBoundingClientRect();
    strips.title = gauges.hit(ev.clientX - rect.left, ev.clientY - rect.top) || ""; // the gauge's values there
  });
  let drag = null;
  canvas.addEventListener("pointerenter", () => {
    timeline.held = true; // rows hold still under the pointer
  });
  canvas.addEventListener("pointerdown", (ev) => {
    canvas.setPointerCapture(ev.pointerId);
    const rect = canvas.getBoundingClientRect();
    // what is under the pointer now (the tooltip's lane) is what a click selects; shift-drag selects a range
    const x = ev.clientX - rect.left, hit = timeline.hit(x, ev.clientY - rect.top, app.theme());
    drag = { x: ev.clientX, y: ev.clientY, moved: false, acc: 0, hit, range: ev.shiftKey ? viewport.view.t(x) : null };
  });
  canvas.addEventListener("pointermove", (ev) => {
    const rect = canvas.getBoundingClientRect();
    app.hover(ev.clientX - rect.left, ev.clientY - rect.top);
    if (!drag) return;
    const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    drag.moved = true;
    if (drag.range !== null) {
      const t = viewport.view.t(ev.clientX - canvas.getBoundingClientRect().left);
      timeline.range = { t0: Math.min(drag.range, t), t1: Math.max(drag.range, t) }; // shown as it is dragged
      app.redraw();
      return;
    }
    canvas.classList.add("dragging");
    viewport.pan(-dx);
    drag.acc += dy;
    const rows = Math.trunc(drag.acc / app.theme().row);
    if (rows) {
      timeline.scrollBy(-rows, app.theme());
      drag.acc -= rows * app.theme().row;
    }
    drag.x = ev.clientX;
    drag.y = ev.clientY;
  });
  canvas.addEventListener("pointerup", () => {
    canvas.classList.remove("dragging");
    const d = drag;
    drag = null;
    if (d && d.range !== null && d.moved) app.selectRange(timeline.range.t0, timeline.range.t1);
    if (!d || d.moved || !d.hit) return;
    if (d.hit.kind === "group") timeline.toggleGroup(d.hit.group);
    else if (d.hit.kind === "lane") app.select(d.hit.lane);
    app.redraw();
  });
  canvas.addEventListener("pointerleave", () => {
    timeline.held = false;
    app.leave();
  });
  canvas.addEventListener(
    "wheel",
    (ev) => {
      ev.preventDefault();
      if (ev.shiftKey) {
        timeline.scrollBy(Math.sign(ev.deltaY || ev.deltaX) * 3, app.theme());
        app.redraw();
        return;
      }
      const x = ev.clientX - canvas.getBoundingClientRect().left;
      if (Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) viewport.pan(ev.deltaX);
      else viewport.zoom(Math.exp(ev.deltaY * 0.002), viewport.follow ? undefined : Math.max(x, viewport.view.gutter));
    },
    { passive: false },
  );
  // a control used with the pointer lets go of the focus: the shortcuts work again at once
  document.addEventListener("click", (ev) => {
    const el = ev.target.closest("header button, nav button, header .button, nav .button");
    if (el && ev.detail > 0 && !el.closest("dialog")) el.blur();
  });
  document.addEventListener("change", (ev) => {
    if (ev.target.matches("nav select, header select, nav input[type=range], nav input[type=checkbox]")) ev.target.blur();
  });
  document.addEventListener("keydown", (ev) => onKey(ev, app));
}

function onKey(ev, app) {
  const typing = ev.target.closest?.(TYPING);
  if (typing && ev.key === "Escape") {
    typing.blur(); // leave the filter box; the next keys are shortcuts
    ev.preventDefault();
    return;
  }
  // a closed dialog can keep the focus on its button (Chromium does not always hand it back): it does not count
  if (ev.target.closest?.("dialog[open]") || typing || ev.target.closest?.("select")) return;
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.target.closest?.("button, a, summary") && (ev.key === " " || ev.key === "Enter")) return; // pressing it
  const act = app.actions[ev.key];
  if (!act) return;
  ev.preventDefault();
  act();
  app.redraw();
}

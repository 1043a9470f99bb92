// The whole of a recording at a glance, above the timeline, when the page cannot hold all of it (memory keeps the
// latest window of a session; its recording on disk has everything): the events over time, a bar per pixel (the
// server's summary, GET /api/sessions/<id>/overview), lit where the page holds them, the view marked on top. Drag
// across it to load that span from disk (or click: the view's width around that moment); "Latest" goes back.

import { count, duration } from "./format.js";
import { fitCanvas } from "./theme.js";

const REFRESH_MS = 2000; // a live session's overview, asked again at most this often
const CLICK_PX = 4; // a drag shorter than this is a click
const VIEW_PX = 3; // the height of the bar that shows the view

export class Overview {
  /** `el`: the strip (holding #overview-canvas, #overview-label, #overview-latest). `onPick(start, stop)`: load
   * that span (ns since the session's first event); `onLatest()`: back to the session as memory holds it;
   * `viewSpan()`: the timeline's span (ns), the width a click loads. */
  constructor(el, { fetchJSON, onPick, onLatest, redraw, viewSpan }) {
    this.el = el;
    this.canvas = el.querySelector("canvas");
    this.label = el.querySelector("#overview-label");
    this.h = { fetchJSON, onPick, onLatest, redraw, viewSpan };
    this.data = null; // {span, counts, events} of `this.sid`
    this.sid = null;
    this.asked = 0; // when it was last asked for (ms), and at how many events
    this.askedAt = -1;
    this.drag = null; // {x0, x1} while the pointer drags across it
    this.canvas.addEventListener("pointerdown", (e) => this.down(e));
    this.canvas.addEventListener("pointermove", (e) => this.move(e));
    this.canvas.addEventListener("pointerup", (e) => this.up(e));
    el.querySelector("#overview-latest").addEventListener("click", () => this.h.onLatest());
  }

  /** Whether the strip is shown for `session` (`range`: the span loaded, if one is): when memory does not hold all
   * of its recording, or a span of it is loaded. */
  wanted(session, range) {
    return Boolean(session && (range || session.trimmed > 0));
  }

  /** Draw it for the page as it is (asking the server for the overview when the session is new, or grew). */
  draw(theme, page, view) {
    const s = page.session, shown = this.wanted(s, page.range);
    this.el.hidden = !shown;
    if (!shown) return;
    this.refresh(s);
    const { ctx, w, h } = fitCanvas(this.canvas);
    ctx.fillStyle = theme.panel;
    ctx.fillRect(0, 0, w, h);
    const d = this.data;
    if (!d || d.sid !== s.id) {
      this.label.textContent = "reading the recording…";
      return;
    }
    const x = (t) => (t / d.span) * w;
    const tr = page.trace;
    const held = tr && tr.events ? [x(tr.start), x(tr.end)] : [-1, -1]; // the span the page holds: its bars lit
    const top = Math.max(1, ...d.counts), scale = (h - VIEW_PX - 1) / Math.sqrt(top); // sqrt: quiet spans show
    const per = w / d.counts.length;
    d.counts.forEach((n, i) => {
      if (n > 0) {
        const bar = Math.max(1, Math.sqrt(n) * scale), at = i * per;
        ctx.fillStyle = at + per > held[0] && at <= held[1] ? theme.accent : theme.dim;
        ctx.fillRect(at, h - bar, Math.max(per, 1), bar);
      }
    });
    ctx.fillStyle = theme.fg; // the view: a bar along the top, over the bars' heads
    const v0 = Math.max(0, x(view.t0)), v1 = Math.min(w, x(view.t1));
    ctx.fillRect(Math.min(v0, w - 2), 0, Math.max(2, v1 - v0), VIEW_PX);
    if (this.drag) {
      ctx.fillStyle = theme.select;
      ctx.fillRect(Math.min(this.drag.x0, this.drag.x1), 0, Math.abs(this.drag.x1 - this.drag.x0), h);
    }
    const where = page.range
      ? `showing ${duration(tr?.start ?? 0)} – ${duration(tr?.end ?? 0)}, ${count(page.range.events ?? 0)} events read from disk`
      : `memory holds the latest ${count(s.retained ?? 0)}: drag here to load an earlier span`;
    this.label.textContent = `recording: ${duration(d.span)}, ${count(d.events)} events · ${where}`;
    this.el.querySelector("#overview-latest").hidden = !page.range;
    this.el.dataset.span = String(d.span);
  }

  /** Ask for `session`'s overview: once, and again as a live one grows (every `REFRESH_MS` at most). */
  async refresh(session) {
    const now = performance.now();
    const fresh = this.sid === session.id;
    if (fresh && (this.askedAt === session.events || now - this.asked < REFRESH_MS)) return;
    this.sid = session.id;
    this.asked = now;
    this.askedAt = session.events;
    const buckets = Math.max(1, Math.min(10000, Math.round(this.canvas.clientWidth) || 1000));
    const r = await this.h.fetchJSON(`/api/sessions/${encodeURIComponent(session.id)}/overview?buckets=${buckets}`);
    if (this.sid !== session.id) return; // another session was opened meanwhile
    if (r.ok) this.data = { ...r.body, sid: session.id };
    else this.label.textContent = r.body?.error || `no overview (${r.status})`;
    this.h.redraw();
  }

  // ------------------------------------------------------------ picking a span

  at(e) {
    const box = this.canvas.getBoundingClientRect();
    return Math.min(Math.max(e.clientX - box.left, 0), box.width);
  }

  down(e) {
    if (!this.data) return;
    this.canvas.setPointerCapture(e.pointerId);
    this.drag = { x0: this.at(e), x1: this.at(e) };
  }

  move(e) {
    if (!this.drag) return;
    this.drag.x1 = this.at(e);
    this.h.redraw();
  }

  /** The end of a drag: that span loaded; a click: a span as wide as the view, centred there. */
  up(e) {
    const drag = this.drag;
    if (!drag) return;
    this.drag = null;
    drag.x1 = this.at(e);
    const w = this.canvas.clientWidth, span = this.data.span, t = (px) => (px / w) * span;
    let start = t(Math.min(drag.x0, drag.x1)), stop = t(Math.max(drag.x0, drag.x1));
    if (Math.abs(drag.x1 - drag.x0) < CLICK_PX) {
      const half = Math.max(this.h.viewSpan() / 2, span / w);
      start = t(drag.x0) - half;
      stop = t(drag.x0) + half;
    }
    this.h.onPick(Math.max(0, Math.floor(start)), Math.min(Math.ceil(stop), span));
  }
}

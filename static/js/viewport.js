// Where the view is in time, and how it moves: follow now, pause (freeze), zoom, pan, fit, replay.

const MIN_SPAN = 1e3; // 1 µs: the most zoomed in
const MAX_SPAN = 1e13;
const LIVE_SPAN = 10e9; // a live session opens on its first 10 s, then slides

export class Viewport {
  /** `view`: the View both canvases draw; `changed()`: something moved, redraw. */
  constructor(view, changed) {
    this.view = view;
    this.changed = changed;
    this.trace = null;
    this.follow = true; // the view slides with now
    this.paused = false; // the view is frozen at `frozenAt`
    this.frozenAt = 0;
    this.replay = null; // {t, playing, last, speed} while replaying
    this.fitPending = false; // fit once the whole of an ended session is in
  }

  /** A new session: live ones are followed from their start, ended ones and recordings fitted once in. */
  open(trace, ended) {
    this.trace = trace;
    this.replay = null;
    this.paused = false;
    this.follow = !ended;
    this.setRange(0, LIVE_SPAN);
    this.fitPending = ended;
  }

  /** The latest time drawn (ns): the replay's, the paused view's, or how far the session is known. */
  until() {
    const tr = this.trace;
    if (!tr) return 0;
    if (this.replay) return this.replay.t;
    if (this.paused) return this.frozenAt;
    return tr.now;
  }

  /** Once a frame: slide with now when following (from the start until the run outgrows the view). */
  step() {
    const v = this.view, end = this.until();
    if (!this.follow || !this.trace) return;
    const span = v.t1 - v.t0;
    v.t0 = Math.max(0, end - span);
    v.t1 = v.t0 + span;
  }

  /** Fit the whole run (an ended session, once its events are in). */
  fitWhenIn(ready) {
    if (this.fitPending && ready) this.fit();
  }

  /** Show [t0, t1] (the user chose where to look: no fit pending overrides it). */
  setRange(t0, t1) {
    const v = this.view;
    this.fitPending = false;
    v.t0 = t0;
    v.t1 = t0 + Math.min(MAX_SPAN, Math.max(MIN_SPAN, t1 - t0));
    this.changed();
  }

  zoom(factor, atX) {
    const v = this.view;
    const x = atX ?? v.gutter + v.width / 2;
    const t = v.t(x);
    const span = Math.min(Math.max((v.t1 - v.t0) * factor, MIN_SPAN), MAX_SPAN);
    if (this.follow && atX === undefined) this.setRange(v.t1 - span, v.t1);
    else {
      const t0 = t - ((x - v.gutter) / v.width) * span;
      this.setRange(t0, t0 + span);
    }
  }

  pan(px) {
    this.setFollow(false);
    const dt = px * this.view.scale;
    this.setRange(this.view.t0 + dt, this.view.t1 + dt);
  }

  fit() {
    this.setFollow(false);
    const start = this.trace?.start ?? 0;
    this.setRange(start, Math.max(this.until(), start + 1e6));
  }

  setFollow(on) {
    this.follow = on;
    if (on && this.paused) this.setPaused(false);
    this.changed();
  }

  setPaused(on) {
    if (on) {
      this.frozenAt = this.until();
      this.follow = false;
    } else this.follow = true;
    this.paused = on;
    this.changed();
  }

  // ------------------------------------------------------------ replay (ended sessions and recordings)

  toggleReplay(speed) {
    const r = this.replay, end = this.trace.now;
    if (r && r.playing) r.playing = false;
    else if (r) {
      r.playing = true;
      r.last = performance.now();
      if (r.t >= end) r.t = this.trace.start;
    } else {
      this.replay = { t: this.trace.start, playing: true, last: performance.now() };
      this.paused = false;
      this.follow = true;
    }
    this.replay.speed = speed;
    this.changed();
  }

  /** Advance a playing replay to wall-clock `now` (ms); true while it plays on. */
  replayStep(now) {
    const r = this.replay;
    if (!r || !r.playing) return false;
    r.t += Math.max(0, now - r.last) * 1e6 * r.speed;
    r.last = now;
    if (r.t >= this.trace.now) {
      r.t = this.trace.now;
      r.playing = false;
    }
    this.changed();
    return r.playing;
  }

  seek(frac) {
    const start = this.trace.start;
    this.replay ??= { t: start, playing: false, last: performance.now(), speed: 1 };
    this.replay.t = start + frac * (this.trace.now - start);
    this.changed();
  }
}

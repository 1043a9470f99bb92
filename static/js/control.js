// Live control of the program itself (not a replay): pause its hub, step one switch or one greenthread until it
// blocks, slow motion, resume. Sent to the dashboard (POST /api/sessions/<id>/control), which relays each to the
// program's agent; what the hub did comes back as `control` events (trace.controls), and the buttons show that.

/** The slow-motion speeds, in the order `m` goes through them. */
export const SPEEDS = [0.5, 0.1, 0.02];

const FULL_SPEED = { ts: 0, action: "resumed", speed: 1 };

/** The pace the hub said it keeps: its last control event ({ts, action, speed}), full speed if none. */
export function paceOf(trace) {
  const c = trace?.controls;
  return c?.length ? c[c.length - 1] : FULL_SPEED;
}

/** Whether the hub holds by itself at that pace (paused, or between steps). */
export const holding = (pace) => pace.action === "paused" || pace.action.startsWith("stepped");

/** The buttons of #pace and the requests they make. */
export class Control {
  /** `group`: #pace (its buttons name their method in data-act); `fetchJSON(url, options)`; `onStatus(text, error)`. */
  constructor(group, { fetchJSON, onStatus }) {
    this.group = group;
    this.fetchJSON = fetchJSON;
    this.onStatus = onStatus;
    this.session = null;
    this.live = false; // a running program (not a recording, not ended)
    this.trace = null;
    this.pending = null; // a step on its way: {at: performance.now(), steps: steps seen before it}
    this.asked = null; // a speed asked for and not yet obeyed: {speed, controls: the controls seen then}
    this.stats = { latencies: [] }; // ms from a step's request to the frame that drew its switch (benchmarks)
    group.addEventListener("click", (ev) => {
      const act = ev.target.closest("button")?.dataset.act;
      if (act) this[act]();
    });
  }

  /** The session shown (and whether its program runs), and its trace. */
  setSession(session, live, trace) {
    this.session = session;
    this.live = live;
    this.trace = trace;
    this.show();
  }

  pause() {
    return this.send("pause");
  }

  step() {
    return this.send("step");
  }

  stepThread() {
    return this.send("step_thread");
  }

  /** Slow motion, one step slower each time (0.5x, 0.1x, 0.02x, then 0.5x again), from the speed asked for last
   * if the hub has not said it obeyed yet (presses faster than the round trip add up). */
  slower() {
    const pace = paceOf(this.trace);
    const now = this.asked ? this.asked.speed : pace.action === "speed" ? pace.speed : null;
    const speed = SPEEDS[(SPEEDS.indexOf(now) + 1) % SPEEDS.length];
    this.asked = { speed, controls: this.trace?.controls.length ?? 0 };
    return this.send("speed", speed);
  }

  resume() {
    return this.send("resume");
  }

  async send(action, speed) {
    if (!this.live || !this.session) return null;
    if (action.startsWith("step")) this.pending = { at: performance.now(), steps: this.steps() };
    const r = await this.fetchJSON(`/api/sessions/${encodeURIComponent(this.session.id)}/control`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(speed === undefined ? { action } : { action, speed }),
    });
    if (!r.ok) this.onStatus(r.body?.error || `${action}: failed (${r.status})`, true);
    return r;
  }

  /** How many steps the hub has said it made. */
  steps() {
    return this.trace ? this.trace.controls.filter((c) => c.action.startsWith("stepped")).length : 0;
  }

  /** After each batch: a step whose switch has arrived is done (its latency noted); the buttons as the pace is. */
  ingested() {
    const p = this.pending, tr = this.trace;
    const last = paceOf(tr);
    if (this.asked && tr && tr.controls.length > this.asked.controls && (last.action !== "speed" || last.speed === this.asked.speed)) {
      this.asked = null; // the hub obeyed it, or was told something else since
    }
    if (p && tr) {
      const stepped = tr.controls.filter((c) => c.action.startsWith("stepped"))[p.steps];
      if (stepped && tr.switches.n && tr.switches.last() >= stepped.ts) {
        this.pending = null;
        // this frame draws it (the page asked for one with the batch): measured once its callbacks are done
        requestAnimationFrame(() => setTimeout(() => this.stats.latencies.push(performance.now() - p.at)));
      }
    }
    this.show();
  }

  show() {
    const pace = paceOf(this.trace), held = holding(pace), slow = pace.action === "speed";
    for (const b of this.group.querySelectorAll("button")) b.disabled = !this.live;
    const set = (id, on) => this.group.querySelector(id).setAttribute("aria-pressed", String(on));
    set("#btn-pace-pause", held);
    set("#btn-pace-slow", slow);
    const label = slow ? `${pace.speed}×` : "½×";
    const slowBtn = this.group.querySelector("#btn-pace-slow");
    if (slowBtn.textContent !== label) slowBtn.textContent = label;
  }
}

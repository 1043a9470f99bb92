// The narration line: while the program is paused, stepped or slowed down, one sentence says what its hub just
// did, in the words of the hub's model — who blocked on what and where, the hub polling its poller, an fd ready,
// who woke and why, who runs — and which greenthread runs next: the first in the hub's ready queue (FIFO; a
// killed one goes to its front), as the events tell it.

import { paceOf, holding } from "./control.js";
import { duration, esc, shortName } from "./format.js";
import { readBatch } from "./events.js";

const KEPT = 400; // events kept since the last control event
const SAID = 7; // phrases said at most: the latest

const BLOCKED = {
  io_read: (on) => `blocked reading ${on}`,
  io_write: (on) => `blocked writing ${on}`,
  sleep: (on) => `sleeps ${on}`,
  queue_get: (on) => `waits to get from ${on}`,
  queue_put: (on) => `waits to put into ${on} (full)`,
  pool_slot: (on) => `waits for a slot of ${on}`,
  semaphore: (on) => `waits on ${on}`,
  event: (on) => `waits for ${on}`,
  join: () => "waits for a greenthread to end",
  lock: (on) => `waits for the lock ${on}`,
  thread: () => "waits for an OS thread",
};
/** Why a greenthread became ready, by the wake's cause (`wait`: what it waited on, from `lastWait`). */
const WOKE = {
  fd_ready: (wait) => `woke: fd ${wait?.reason === "io_write" ? "writable" : "readable"}${wait?.on ? ` (${esc(wait.on)})` : ""}`,
  timer: () => "woke: its sleep is over",
  timeout: () => "woke: timed out",
  put: () => "woke: an item was put",
  get: () => "woke: an item was taken (room to put)",
  release: () => "woke: a release",
  send: () => "woke: the event was sent",
  exit: () => "woke: the greenthread it waits for ended",
  kill: () => "killed (it goes first)",
  closed: () => "woke: its fd was closed",
  resize: () => "woke: the pool grew",
  task_done: () => "woke: every task done",
  thread: () => "woke: its OS thread is done",
  deadlock: () => "woke: deadlock",
  spawn: () => "new",
  yield: () => "it yielded",
};

/** Why `lane` was ready at `t` (ns; default: now), or about to run then, in words ("" if it was not ready). */
function why(trace, lane, t = Infinity) {
  let i = t === Infinity ? lane.ts.n - 1 : lane.at(t);
  if (i > 0 && lane.st.a[i] === trace.model.RUNNING) i--;
  if (i < 0 || lane.st.a[i] !== trace.model.READY) return "";
  const cause = trace.detail(lane.dt.a[i]);
  return (WOKE[cause] ?? (() => `woke: ${esc(cause)}`))(lastWait(trace, lane, lane.ts.a[i]));
}

/** The greenthread the hub runs next: the first in its ready queue — greenthreads made ready in the order they
 * became ready, a killed one at the front (the latest kill first) — or null if none is ready. */
export function nextUp(trace) {
  const m = trace.model, kill = trace.strings.codes.get("kill");
  let first = null, killed = null;
  for (const lv of trace.lanes) {
    if (lv.state !== m.READY || (lv.hub !== null && lv.hub !== 0)) continue;
    if (kill !== undefined && lv.detail === kill) {
      if (!killed || lv.since >= killed.since) killed = lv;
    } else if (!first || lv.since < first.since) first = lv;
  }
  return killed || first;
}

/** What `lane` last waited on by time `t` (ns; default: now): {reason, on, where} of its latest parked state (within
 * its last few), or null. */
export function lastWait(trace, lane, t = Infinity) {
  for (let i = t === Infinity ? lane.ts.n - 1 : lane.at(t), seen = 0; i >= 0 && seen < 8; i--, seen++) {
    if (!trace.model.waiting[lane.st.a[i]]) continue;
    const obj = trace.detail(lane.ob.a[i]), res = obj == null ? null : trace.resources.get(obj);
    const info = trace.detail(lane.info.a[i]);
    return {
      reason: trace.detail(lane.dt.a[i]),
      on: res ? shortName(res.name) : info == null ? "" : String(info),
      where: trace.detail(lane.wh.a[i]),
    };
  }
  return null;
}

export class Narrator {
  /** `el`: #narration. */
  constructor(el) {
    this.el = el;
    this.kept = []; // the events since the last control event: {kind, ts, ...fields}
    this.text = "";
    this.said = 0; // phrases in the sentence shown
    this.shown = null; // what it was said of: {trace, session, pace}
    this.width = 0;
    if (typeof ResizeObserver === "undefined") return; // (in Node)
    new ResizeObserver(([entry]) => {
      const width = entry.contentRect.width; // (its height follows what it says: a change of it is no news)
      if (width === this.width) return;
      this.width = width;
      if (this.shown) this.fit();
    }).observe(el);
  }

  reset() {
    this.kept = [];
    this.show(null, null);
  }

  /** Take a server batch (the trace has taken it already): while the hub is paced, keep its events since the
   * last control event. */
  ingest(batch, trace) {
    const m = trace.model, { kinds, cols } = readBatch(batch, m), control = m.codes.get("control");
    const last = kinds.lastIndexOf(control);
    if (last < 0 && paceOf(trace).action === "resumed") return; // full speed: nothing to say
    if (last >= 0) this.kept = [];
    const pos = new Int32Array(256);
    for (let i = 0; i < kinds.length; i++) {
      const code = kinds[i], j = pos[code]++, c = cols[code];
      if (i < last || !c) continue;
      const kind = m.kinds.get(code), e = { kind: kind.name, ts: Math.max(0, c.ts.at(j)) };
      for (const f of kind.fields) e[f] = c[f].at(j);
      this.kept.push(e);
    }
    if (this.kept.length > KEPT) this.kept.splice(0, this.kept.length - KEPT);
  }

  /** Say what the hub just did (or nothing, at full speed). `session`: its description (the poller's name). */
  show(trace, session) {
    const pace = trace ? paceOf(trace) : null;
    const text = !pace || pace.action === "resumed" ? "" : this.sentence(trace, session, pace);
    if (text === this.text) return;
    this.text = text;
    this.shown = text ? { trace, session, pace } : null;
    this.el.hidden = !text;
    this.fit();
  }

  /** The sentence, its oldest phrases giving way ("…") until the rest fits the line's two rows: the latest is the
   * one to read (again as the line's width changes). */
  fit() {
    this.el.innerHTML = this.text;
    const over = () => {
      const said = this.el.querySelector?.(".said");
      return said && said.scrollHeight > said.clientHeight + 1;
    };
    for (let drop = 1; this.shown && drop < this.said && over(); drop++) {
      const { trace, session, pace } = this.shown;
      this.el.innerHTML = this.sentence(trace, session, pace, drop);
    }
  }

  /** The sentence (HTML, escaped): what the pace is, what happened since (but its `drop` oldest phrases), who runs
   * next. */
  sentence(trace, session, pace, drop = 0) {
    const lead = {
      paused: "Paused",
      stepped: "Step",
      stepped_thread: "Step (one greenthread until it blocks)",
      speed: `Slow motion ${pace.speed}×`,
    }[pace.action] ?? esc(pace.action);
    const phrases = [], woken = new Set();
    for (const e of this.kept) {
      const p = this.phrase(trace, session, e, woken);
      if (p) phrases.push(p);
    }
    const kept = phrases.slice(-SAID);
    this.said = kept.length;
    const said = phrases.length > kept.length || drop ? ["…", ...kept.slice(drop)] : kept;
    let text = `<span class="said"><strong>${lead}:</strong> ${said.join(" → ") || "the hub holds"}</span>`;
    const next = holding(pace) ? nextUp(trace) : null;
    if (next) text += `<span class="next"><strong>Next:</strong> ${this.name(trace, next.gid)} (${why(trace, next)})</span>`;
    return text;
  }

  /** "gt5 <code>fetch</code>". */
  name(trace, gid) {
    if (gid <= 0) return "the hub";
    const lane = trace.byGid.get(gid);
    return `gt${esc(gid)}${lane && lane.func !== "?" ? ` <code>${esc(lane.func)}</code>` : ""}`;
  }

  /** One event in words, or "" for those not worth a word here. `woken`: the gids whose wake was said already. */
  phrase(trace, session, e, woken) {
    const who = (gid) => this.name(trace, gid);
    switch (e.kind) {
      case "switch": {
        if (e.to <= 0) return "";
        const lane = trace.byGid.get(e.to), reason = woken.has(e.to) || !lane ? "" : why(trace, lane, e.ts);
        woken.delete(e.to);
        return `${who(e.to)}${reason ? ` (${reason})` : ""} runs`;
      }
      case "block": {
        const res = e.obj == null ? null : trace.resources.get(e.obj);
        const on = res ? shortName(res.name) : e.reason === "sleep" && typeof e.detail === "number"
          ? duration(e.detail * 1e9) : e.detail == null ? "" : String(e.detail);
        const what = (BLOCKED[e.reason] ?? ((x) => `waits (${e.reason}) ${x}`))(esc(on));
        return `${who(e.gid)} ${what}${e.where ? ` at ${esc(shortName(trace.relative(e.where).split(" in ")[0]))}` : ""}`;
      }
      case "wake": {
        const lane = trace.byGid.get(e.gid);
        woken.add(e.gid);
        const words = WOKE[e.cause] ?? (() => `woke: ${esc(e.cause)}`);
        return `${who(e.gid)} ${words(lane ? lastWait(trace, lane, e.ts) : null)}`;
      }
      case "hub_wait": {
        const poller = esc(session?.poller || "its poller");
        return e.timeout === 0 ? "" : `the hub polls ${poller}${e.timeout == null ? "" : ` (up to ${duration(e.timeout * 1e9)})`}`;
      }
      case "hub_wake":
        return e.nready ? `${e.nready === 1 ? "an fd" : `${e.nready} fds`} ready` : "";
      case "timers":
        return `${e.count === 1 ? "a timer" : `${e.count} timers`} fired`;
      case "spawn":
        return `${who(e.parent)} spawned ${who(e.gid)}`;
      case "exit":
        return `${who(e.gid)} ${e.outcome === "ok" ? "ended" : esc(`${e.outcome === "killed" ? "was killed" : "died"}${e.error ? `: ${e.error}` : ""}`)}`;
      default:
        return "";
    }
  }
}

// The browser's model of one session: events in, columnar state out. No DOM: Node runs it too.
//
// `Trace.ingest(batch)` takes the server's columnar batches (see visualizer/streaming.py, read by events.js)
// and keeps, in growable typed arrays (lanes.js; never an object per event):
//   - per greenthread (a `Lane`): its state transitions (ts, state, detail, info, where) —
//     interval i runs from ts[i] to ts[i+1], the last one to the trace's end — and the wakes
//     it got (when, why, by whom, how late);
//   - per hub (a `HubLane`: one per OS thread that ran one; gid 0 and below): its transitions
//     between busy and waiting in its poller, and its timer passes;
//   - the stalls the program's stall monitor caught, with their stacks;
//   - gauges: greenthreads by state (as their moves, counts.js), each pool and queue as a step series, switch times.
// The state semantics are runtime/trace/states.py's: its rules, and its state table and event
// kinds, which reach the page as the schema (`Model`, events.js), never as constants copied here. The golden
// corpus in tests/corpus/states holds both to the same intervals (pytest and `node --test`).
// Times are nanoseconds since the session's first event, as doubles.

import { K, readBatch } from "./events.js";
import { NONE, StateCounts } from "./counts.js";
import { Column, HubLane, Lane, Series, Strings, lastAtOrBefore } from "./lanes.js";
import { Slabs } from "./slabs.js";

export class Trace {
  constructor(model) {
    this.model = model;
    this.base = null; // the session's origin: its first event's ts (every time here is ns since it)
    this.first = null; // the first event's ts here: 0, or later for a range of the recording (or a window of it)
    this.midway = false; // the events start midway through the run (not at the session's first): states.py's rule
    this.end = 0; // ts of the latest event: how far the session is known
    this.events = 0; // events ingested
    this.dropped = 0; // events lost (reported by the stream or a `dropped` event)
    this.earlier = 0; // the session's events before the first here (memory no longer held them: on disk, if recorded)
    this.process = null; // {pid, argv, program, version}
    this.strings = new Strings();
    this.spawned = this.strings.code("spawn"); // the detail of a greenthread not started yet
    this.poolSlot = this.strings.code("pool_slot");
    this.lanes = []; // Lane, in order of appearance
    this.slabs = new Slabs(); // room for the lanes' columns
    this.byGid = new Map(); // gid -> Lane
    this.resources = new Map(); // obj -> {obj, type, name, size, series}
    this.stateCounts = new StateCounts(model.states); // greenthreads per state: now, and at any time
    this.switches = new Column(Float64Array, 1024); // ts of every switch
    this.hubs = [new HubLane(0, 0)]; // the main thread's hub first, others as they appear
    this.byHub = new Map([[0, this.hubs[0]]]);
    this.stalls = []; // {gid, ts, ns, stack}: a greenthread that held its hub, caught in the act
    this.controls = []; // {ts, action, speed}: the live control the hub obeyed (paused, stepped, speed...)
    this.home = null; // the program's directory, as its first spawn site tells: paths are shown from there
    this.gaps = new Column(Float64Array, 4); // where events were lost
    this.marks = []; // lanes that ended with an error or a kill, in order
    this.version = 0; // bumped at every ingest: views compare it to know what changed
  }

  /** The main thread's hub. */
  get hub() {
    return this.hubs[0];
  }

  hubLane(gid) {
    let h = this.byHub.get(gid);
    if (h === undefined) {
      h = new HubLane(gid, this.hubs.length, this.start);
      this.hubs.push(h);
      this.byHub.set(gid, h);
    }
    return h;
  }

  // ------------------------------------------------------------ ingest

  /** Take one server batch (visualizer/sessions.py's `wire`, read by events.js's `readBatch`): {events, data,
   * columns, origin, dropped}. Timestamps come as ns since the session's `origin` (a string: its first event's ts
   * on the program's clock). */
  ingest(batch) {
    this.ingestSome(this.reading(batch), Infinity);
  }

  /** `batch` (as `ingest` takes it) read for `ingestSome` to take a part at a time: a page following a million
   * events a second takes a 100k-event batch in slices, drawing frames between them. The strings of a coded
   * column are looked up here, once per batch, not once per event. */
  reading(batch) {
    const m = this.model, { kinds, cols } = readBatch(batch, m);
    if (this.first === null) this.earlier += batch.dropped ?? 0; // the session's events before those shown here
    else if (batch.dropped) this.lost(this.end, batch.dropped); // this viewer missed events before this batch
    if (kinds.length) {
      this.base ??= Number(batch.origin);
      if (this.first === null) this.begin(batch, kinds, cols);
    }
    const code = (s) => this.strings.code(s);
    const bl = cols[m.codes.get("block")], wk = cols[m.codes.get("wake")];
    return {
      kinds, cols, next: 0, pos: new Int32Array(256), sw: cols[m.codes.get("switch")],
      blockState: bl?.reason.map((r) => m.stateOf(r)), blockReason: bl?.reason.map(code),
      blockInfo: bl?.detail.map((d) => (d === null || d === undefined ? 0 : code(String(d)))),
      blockWhere: bl?.where.map((w) => (w ? code(w) : 0)), wakeCause: wk?.cause.map(code),
    };
  }

  /** Up to `limit` more events of `r` (from `reading`), in order; whether they are all in. */
  ingestSome(r, limit) {
    const m = this.model, { kinds, cols, pos, sw, blockState, blockReason, blockInfo, blockWhere, wakeCause } = r;
    const first = this.start, stop = Math.min(kinds.length, r.next + limit);
    for (let i = r.next; i < stop; i++) {
      const kc = kinds[i];
      const j = pos[kc]++;
      const k = m.local[kc];
      if (k === K.switch) {
        this.switched(Math.max(first, sw.ts.at(j)), sw.from.at(j), sw.to.at(j));
        continue;
      }
      const c = k ? cols[kc] : undefined;
      if (!c) continue; // a kind this page does not know: skipped
      const ts = Math.max(first, c.ts.at(j)); // nothing happens before the first event
      switch (k) {
        case K.spawn: this.spawn(ts, c.gid.at(j), c.parent.at(j), c.func.at(j), c.site.at(j), c.pool.at(j)); break;
        case K.block:
          this.block(ts, c.gid.at(j), blockState.at(j), blockReason.at(j), c.obj.at(j), blockInfo.at(j),
            blockWhere.at(j));
          break;
        case K.wake: this.wake(ts, c.gid.at(j), wakeCause.at(j), c.waker.at(j), c.late.at(j) ?? 0); break;
        case K.exit: this.exit(ts, c.gid.at(j), c.outcome.at(j), c.error.at(j)); break;
        case K.hub_wait: this.hubLane(c.hub.at(j) ?? 0).wait(ts); break;
        case K.hub_wake: this.hubLane(c.hub.at(j) ?? 0).wake(ts, c.nready.at(j)); break;
        case K.timers: this.timers(ts, c.hub.at(j) ?? 0, c.count.at(j), c.late.at(j) ?? 0); break;
        case K.stall: this.stalls.push({ gid: c.gid.at(j), ts, ns: c.ns.at(j), stack: c.stack.at(j) }); break;
        case K.control: this.controls.push({ ts, action: c.action.at(j), speed: c.speed.at(j) }); break;
        case K.resource: this.resource(ts, c.obj.at(j), c.type.at(j), c.name.at(j), c.size.at(j)); break;
        case K.pool: this.poolState(ts, c.obj.at(j), c.size.at(j), c.running.at(j), c.waiting.at(j)); break;
        case K.queue:
          this.queueState(ts, c.obj.at(j), c.size.at(j), c.maxsize.at(j), c.putters.at(j), c.getters.at(j));
          break;
        case K.dropped: this.lost(this.end, c.count.at(j)); break;
        case K.process:
          this.process = { pid: c.pid.at(j), argv: c.argv.at(j), program: c.program.at(j), version: c.version.at(j) };
          break;
      }
      if (ts > this.end) this.end = ts;
    }
    if (stop > r.next) this.version++;
    this.events += stop - r.next;
    r.next = stop;
    return stop === kinds.length;
  }

  /** The first events are in (`batch`: `kinds` and `cols`, as `readBatch` reads them): the trace starts at the
   * first; midway through the run if it is not the session's first event. */
  begin(batch, kinds, cols) {
    const kc = kinds.find((k) => cols[k]); // the first of a kind this page knows
    if (kc === undefined) return;
    this.first = Math.max(0, cols[kc].ts.at(0));
    this.midway = batch.first > 0;
    this.end = Math.max(this.end, this.first);
    for (const h of this.hubs) if (h.ts.n === 1) h.ts.a[0] = this.first; // busy from the first event
  }

  /** Where the trace starts (ns): its first event's ts. */
  get start() {
    return this.first ?? 0;
  }

  /** How far the session is known (ns): open intervals are drawn up to here. */
  get now() {
    return this.end;
  }

  lane(gid) {
    let lv = this.byGid.get(gid);
    if (lv === undefined) {
      // first seen acting: running since the first event (unknown before its first event here, midway)
      const m = this.model;
      if (this.midway) lv = this.newLane(gid, this.start, m.LOST, this.strings.code(m.beforeDetail));
      else lv = this.newLane(gid, this.start, m.RUNNING, 0);
    }
    return lv;
  }

  newLane(gid, since, state, detail) {
    const lv = new Lane(gid, this.lanes.length, since, state, detail, this.slabs, this.model.states.length);
    this.lanes.push(lv);
    this.byGid.set(gid, lv);
    this.stateCounts.move(since, NONE, state);
    return lv;
  }

  /** states.py's `_Life.move`: close the open interval at ts (never before its start), open (state, detail). */
  move(lv, ts, state, detail, info = 0, where = 0, ob = 0) {
    if (lv.state === state && lv.detail === detail) return;
    if (ts < lv.since) ts = lv.since;
    this.stateCounts.move(ts, lv.state, state);
    lv.state = state;
    lv.detail = detail;
    lv.push(ts, state, detail, info, where, ob);
  }

  switched(ts, src, dst) {
    const m = this.model;
    if (ts > this.end) this.end = ts;
    this.switches.push(Math.max(ts, this.switches.n ? this.switches.last() : 0));
    if (src > 0) {
      const lv = this.lane(src);
      if (lv.hub === null) lv.hub = dst <= 0 ? dst : this.lane(dst).hub; // straight to the next: the same hub
      if (lv.exited) this.move(lv, ts, m.DONE, lv.exited);
      else if (lv.pending >= 0) this.move(lv, ts, lv.pending, lv.pendingDetail, lv.pendingInfo, lv.pendingWhere, lv.pendingOb);
      else this.move(lv, ts, m.READY, this.strings.code("yield"));
      lv.pending = -1;
    }
    if (dst > 0) {
      const lv = this.lane(dst);
      if (lv.hub === null) lv.hub = src <= 0 ? src : this.lane(src).hub;
      this.move(lv, ts, m.RUNNING, 0);
    }
  }

  spawn(ts, gid, parent, func, site, pool) {
    let lv = this.byGid.get(gid);
    if (lv === undefined) lv = this.newLane(gid, ts, this.model.READY, this.spawned);
    else {
      // a gid known already (seen acting before its spawn): its life starts afresh, on the same lane
      this.move(lv, ts, this.model.READY, this.spawned);
      lv.pending = -1;
      lv.exited = 0;
      lv.exitTs = lv.outcome = lv.error = null;
    }
    lv.parent = parent;
    lv.func = func;
    lv.site = site;
    if (this.home === null && site) this.home = site.slice(0, site.search(/[^\\/]*$/));
    lv.pool = pool;
    lv.spawned = ts;
  }

  /** A block: `state` the one its reason puts it in; `reason`, `info` (its peer, fd or timeout) and `where` as
   * string codes (0: none); `obj` the id of the object it waits on (kept as a code too), or none. */
  block(ts, gid, state, reason, obj, info, where) {
    const lv = this.lane(gid), ob = obj === null || obj === undefined ? 0 : this.strings.code(obj);
    if (lv.state === this.model.READY && lv.detail === this.spawned) {
      this.move(lv, ts, state, reason, info, where, ob); // not started yet: its start waits (spawn_after)
    } else {
      // the running greenthread parks: that is its state once it is switched out
      lv.pending = state;
      lv.pendingDetail = reason;
      lv.pendingInfo = info;
      lv.pendingWhere = where;
      lv.pendingOb = ob;
    }
    if (reason === this.poolSlot && obj !== null && obj !== undefined) {
      lv.slotWaits ??= new Map();
      if (!lv.slotWaits.has(obj)) lv.slotWaits.set(obj, ts);
    }
  }

  /** A wake: `cause` as a string code. */
  wake(ts, gid, c, waker, late) {
    const lv = this.lane(gid), m = this.model;
    lv.pushWake(ts, waker === null || waker === undefined ? -1 : waker, c, late);
    if (lv.state === m.RUNNING) {
      lv.pending = m.READY;
      lv.pendingDetail = c;
      lv.pendingInfo = lv.pendingWhere = 0;
      lv.pendingOb = 0;
    } else if (lv.state !== m.DONE) this.move(lv, ts, m.READY, c);
  }

  timers(ts, hub, count, late) {
    const h = this.hubLane(hub);
    h.timerTs.push(Math.max(ts, h.timerTs.n ? h.timerTs.last() : 0));
    h.timerCount.push(count);
    h.timerLate.push(late);
  }

  exit(ts, gid, outcome, error) {
    const lv = this.lane(gid);
    lv.exited = this.strings.code(outcome);
    lv.exitTs = ts;
    lv.outcome = outcome;
    lv.error = error;
    if (outcome !== "ok") this.marks.push(lv);
    if (lv.state !== this.model.RUNNING) this.move(lv, ts, this.model.DONE, lv.exited);
  }

  /** `count` events were lost after `from` (ns): every greenthread not done is in an unknown state from then. */
  lost(from, count) {
    const m = this.model, detail = this.strings.code(m.lostDetail);
    this.dropped += count;
    this.gaps.push(from);
    for (const lv of this.lanes) {
      if (lv.state === m.DONE) continue;
      this.move(lv, from, m.LOST, detail);
      lv.pending = -1;
    }
  }

  resource(ts, obj, type, name, size) {
    const names = type === "pool" ? ["size", "running", "waiting"] : ["size", "maxsize", "putters", "getters"];
    const r = { obj, type, name, size, created: ts, series: new Series(names) };
    this.resources.set(obj, r);
    if (type === "pool") r.series.push(ts, [size ?? 0, 0, 0]);
  }

  poolState(ts, obj, size, running, waiting) {
    const r = this.resources.get(obj) || this.unnamed(ts, obj, "pool", size);
    r.size = size;
    r.series.push(ts, [size, running, waiting]);
  }

  queueState(ts, obj, size, maxsize, putters, getters) {
    const r = this.resources.get(obj) || this.unnamed(ts, obj, "queue", maxsize);
    r.series.push(ts, [size, maxsize ?? -1, putters, getters]);
  }

  unnamed(ts, obj, type, size) {
    this.resource(ts, obj, type, `${type} ${obj}`, size);
    return this.resources.get(obj);
  }

  // ------------------------------------------------------------ queries

  /** ns the main thread's hub spent waiting in its poller from the start to `t`. */
  waitedUntil(t) {
    return this.hub.waitedUntil(t, this.end);
  }

  /** Switches in [t0, t1). */
  switchesIn(t0, t1) {
    const a = this.switches.a, n = this.switches.n;
    return lastAtOrBefore(a, n, t1, 0, true) - lastAtOrBefore(a, n, t0, 0, true);
  }

  /** The end of transition `i` of `lane` (the next one's start, or the trace's end). */
  endOf(lane, i) {
    return i + 1 < lane.ts.n ? lane.ts.a[i + 1] : Math.max(this.end, lane.ts.a[i]);
  }

  /** Time `lane` spent parked up to `t`. */
  waitedBy(lane, t) {
    const a = lane.ts.a, st = lane.st.a, waiting = this.model.waiting, last = lane.at(t);
    let sum = 0;
    for (let i = 0; i <= last; i++) if (waiting[st[i]]) sum += (i < last ? a[i + 1] : t) - a[i];
    return sum;
  }

  detail(code) {
    return this.strings.list[code];
  }

  /** A path (or "path:line in function") as people read it: from the program's directory when it is below it. */
  relative(path) {
    return this.home && path.startsWith(this.home) ? path.slice(this.home.length) : path;
  }

  /** A sentence (a finding) with each path in it as `relative` shows it. */
  relativeText(text) {
    return this.home ? text.split(this.home).join("") : text;
  }

  /** A lane's intervals as [start, end, state name, detail] (for details and tests). */
  intervals(lane) {
    const out = [];
    for (let i = 0; i < lane.ts.n; i++) {
      out.push([lane.ts.a[i], this.endOf(lane, i), this.model.states[lane.st.a[i]], this.detail(lane.dt.a[i])]);
    }
    return out;
  }

  /** Totals of a lane: ns spent per state. */
  totals(lane) {
    const t = new Float64Array(this.model.states.length);
    for (let i = 0; i < lane.ts.n; i++) t[lane.st.a[i]] += this.endOf(lane, i) - lane.ts.a[i];
    return t;
  }
}

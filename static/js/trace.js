// The browser's model of one session: events in, columnar state out.
//
// `Trace.ingest(batch)` takes the server's columnar batches (see visualizer/streaming.py)
// and keeps, in growable typed arrays (never an object per event):
//   - per greenthread (a `Lane`): its state transitions (ts, state, detail) — interval i
//     runs from ts[i] to ts[i+1], the last one to `trace.end` — and the wakes it got;
//   - the hub: its poller waits (start, end, fds ready) and timer passes;
//   - gauges as step series: greenthreads by state, each pool and queue, switch times.
// The state machine is `runtime/trace/states.py`'s, ported line for line
// (tests/browser checks both give the same intervals on the same recording).
// Times are nanoseconds since the session's first event, as doubles.

export const STATES = ["running", "ready", "io", "queue", "sync", "pool", "sleep", "done"];
export const [RUNNING, READY, IO, QUEUE, SYNC, POOL, SLEEP, DONE] = STATES.keys();
export const STATE_LABELS = [
  "running",
  "ready (woken, waiting to run)",
  "blocked on I/O",
  "blocked on a queue",
  "blocked on a semaphore / event / join",
  "waiting for a pool slot",
  "sleeping",
  "done",
];
const BLOCK_STATE = {
  io_read: IO, io_write: IO, queue_get: QUEUE, queue_put: QUEUE, pool_slot: POOL, sleep: SLEEP,
};

// kind codes (runtime/trace/events.py, VERSION 1)
const SPAWN = 1, SWITCH = 2, BLOCK = 3, WAKE = 4, EXIT = 5, HUB_WAIT = 6, HUB_WAKE = 7, TIMERS = 8,
  RESOURCE = 9, POOL_EV = 10, QUEUE_EV = 11, DROPPED = 12, PROCESS = 13;
const KIND_NAMES = [null, "spawn", "switch", "block", "wake", "exit", "hub_wait", "hub_wake", "timers",
  "resource", "pool", "queue", "dropped", "process"];

/** A growable column of numbers in a typed array. */
export class Column {
  constructor(Type = Float64Array, capacity = 16) {
    this.a = new Type(capacity);
    this.n = 0;
  }
  push(v) {
    if (this.n === this.a.length) this.grow();
    this.a[this.n++] = v;
  }
  grow() {
    const b = new this.a.constructor(this.a.length * 2);
    b.set(this.a);
    this.a = b;
  }
}

/** Index of the last element of sorted `a[0..n)` that is <= t (-1 if none). */
export function lastAtOrBefore(a, n, t) {
  let lo = 0, hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Strings interned as small ints (details: wake causes, block reasons, outcomes). */
class Strings {
  constructor() {
    this.list = [null];
    this.codes = new Map([[null, 0]]);
  }
  code(s) {
    let c = this.codes.get(s);
    if (c === undefined) {
      c = this.list.length;
      this.list.push(s);
      this.codes.set(s, c);
    }
    return c;
  }
}

/** One greenthread: who it is, its state transitions and the wakes it got. */
export class Lane {
  constructor(gid, index, since, state, detail) {
    this.gid = gid;
    this.index = index;
    this.parent = null;
    this.func = gid === 1 ? "main" : "?";
    this.site = null;
    this.pool = null; // the id of its pool's object, if spawned into one
    this.spawned = null; // ts
    this.exitTs = null;
    this.outcome = null; // ok | error | killed
    this.error = null; // "Type: message"
    this.ts = new Column(Float64Array, 8);
    this.st = new Column(Uint8Array, 8);
    this.dt = new Column(Uint16Array, 8);
    this.wakeTs = new Column(Float64Array, 4);
    this.wakeBy = new Column(Int32Array, 4);
    this.wakeCause = new Column(Uint16Array, 4);
    // the state machine (states.py's _Life)
    this.state = state;
    this.detail = detail;
    this.pending = -1; // state it takes when switched out, or -1
    this.pendingDetail = 0;
    this.exited = 0; // outcome code once exited
    this.push(since, state, detail);
  }
  push(ts, state, detail) {
    const n = this.ts.n;
    if (n && this.ts.a[n - 1] === ts) {
      // a zero-length interval: the newer state wins
      this.st.a[n - 1] = state;
      this.dt.a[n - 1] = detail;
    } else {
      this.ts.push(ts);
      this.st.push(state);
      this.dt.push(detail);
    }
  }
  /** The index of the transition in force at `t` (-1: before the first). */
  at(t) {
    return lastAtOrBefore(this.ts.a, this.ts.n, t);
  }
}

/** Step series: (ts, v0, v1, ...) rows in columns. */
export class Series {
  constructor(names) {
    this.names = names;
    this.ts = new Column(Float64Array, 16);
    this.cols = names.map(() => new Column(Float64Array, 16));
  }
  push(ts, values) {
    const n = this.ts.n;
    if (n && this.ts.a[n - 1] === ts) {
      // same instant: the newer values win
      for (let i = 0; i < values.length; i++) this.cols[i].a[n - 1] = values[i];
      return;
    }
    this.ts.push(ts);
    for (let i = 0; i < values.length; i++) this.cols[i].push(values[i]);
  }
  /** Row index in force at t (-1: none yet). */
  at(t) {
    return lastAtOrBefore(this.ts.a, this.ts.n, t);
  }
}

export class Trace {
  constructor() {
    this.base = null; // ns of the first event (the origin of every time here)
    this.end = 0; // ts of the latest event
    this.events = 0; // events ingested
    this.dropped = 0; // events lost (reported by the stream or a `dropped` event)
    this.process = null; // {pid, argv, program, version}
    this.strings = new Strings();
    this.lanes = []; // Lane, in order of appearance
    this.byGid = new Map(); // gid -> Lane
    this.resources = new Map(); // obj -> {obj, type, name, size, series}
    this.counts = new Int32Array(STATES.length); // greenthreads per state, now
    this.stateSeries = new Series(STATES);
    this.switches = new Column(Float64Array, 1024); // ts of every switch
    this.waitStart = new Column(Float64Array, 256); // the hub's poller waits
    this.waitEnd = new Column(Float64Array, 256);
    this.waitReady = new Column(Int32Array, 256);
    this.waitCum = new Column(Float64Array, 256); // time waited before each wait began
    this.timerTs = new Column(Float64Array, 256); // timer passes
    this.timerCount = new Column(Int32Array, 256);
    this.gaps = new Column(Float64Array, 4); // where events were lost
    this.marks = []; // lanes that ended with an error or a kill, in order
    this.version = 0; // bumped at every ingest: views compare it to know what changed
    this._waiting = false;
  }

  // ------------------------------------------------------------ ingest

  /** Take one server batch ({kinds, columns: {kind name: {field: [...]}}, dropped}). */
  ingest(batch) {
    const kinds = batch.kinds, cols = batch.columns;
    this.dropped += batch.dropped || 0;
    if (!kinds.length) return;
    if (this.base === null) this.base = this.firstTs(kinds, cols);
    const base = this.base;
    if (batch.dropped) this.gaps.push(this.firstTs(kinds, cols) - base); // the viewer lost events here
    const pos = new Int32Array(KIND_NAMES.length);
    const col = (k, f) => (cols[KIND_NAMES[k]] || {})[f] || [];
    const sw = { ts: col(SWITCH, "ts"), from: col(SWITCH, "from"), to: col(SWITCH, "to") };
    for (let i = 0; i < kinds.length; i++) {
      const k = kinds[i];
      const j = pos[k]++;
      if (k === SWITCH) {
        this.switched(sw.ts[j] - base, sw.from[j], sw.to[j]);
        continue;
      }
      const c = cols[KIND_NAMES[k]];
      if (!c) continue; // a kind this page does not know: skipped
      const ts = c.ts[j] - base;
      if (ts > this.end) this.end = ts;
      switch (k) {
        case SPAWN: this.spawn(ts, c.gid[j], c.parent[j], c.func[j], c.site[j], c.pool[j]); break;
        case BLOCK: this.block(ts, c.gid[j], c.reason[j], c.obj[j], c.detail[j]); break;
        case WAKE: this.wake(ts, c.gid[j], c.cause[j], c.waker[j]); break;
        case EXIT: this.exit(ts, c.gid[j], c.outcome[j], c.error[j]); break;
        case HUB_WAIT: this.hubWait(ts); break;
        case HUB_WAKE: this.hubWake(ts, c.nready[j]); break;
        case TIMERS: this.timerTs.push(ts); this.timerCount.push(c.count[j]); break;
        case RESOURCE: this.resource(ts, c.obj[j], c.type[j], c.name[j], c.size[j]); break;
        case POOL_EV: this.poolState(ts, c.obj[j], c.size[j], c.running[j], c.waiting[j]); break;
        case QUEUE_EV: this.queueState(ts, c.obj[j], c.size[j], c.maxsize[j], c.putters[j], c.getters[j]); break;
        case DROPPED: this.dropped += c.count[j]; this.gaps.push(ts); break;
        case PROCESS:
          this.process = { pid: c.pid[j], argv: c.argv[j], program: c.program[j], version: c.version[j] };
          break;
      }
    }
    this.events += kinds.length;
    this.version++;
  }

  /** The ts of a batch's first event (of a kind this page knows). */
  firstTs(kinds, cols) {
    for (const k of kinds) {
      const c = cols[KIND_NAMES[k]];
      if (c) return c.ts[0];
    }
    return 0;
  }

  lane(gid) {
    let lv = this.byGid.get(gid);
    if (lv === undefined) lv = this.newLane(gid, 0, RUNNING, 0); // first seen acting: running since the start
    return lv;
  }

  newLane(gid, since, state, detail) {
    const lv = new Lane(gid, this.lanes.length, since, state, detail);
    this.lanes.push(lv);
    this.byGid.set(gid, lv);
    this.counts[state]++;
    this.sample(since);
    return lv;
  }

  move(lv, ts, state, detail) {
    if (lv.state !== state) {
      this.counts[lv.state]--;
      this.counts[state]++;
      lv.state = state;
      lv.detail = detail;
      lv.push(ts, state, detail);
      this.sample(ts);
    } else if (lv.detail !== detail) {
      lv.detail = detail;
      lv.push(ts, state, detail);
    }
  }

  sample(ts) {
    this.stateSeries.push(ts, this.counts);
  }

  blockedState(reason) {
    const s = BLOCK_STATE[reason];
    return s === undefined ? SYNC : s;
  }

  switched(ts, src, dst) {
    if (ts > this.end) this.end = ts;
    this.switches.push(ts);
    if (src) {
      const lv = this.lane(src);
      if (lv.exited) this.move(lv, ts, DONE, lv.exited);
      else if (lv.pending >= 0) this.move(lv, ts, lv.pending, lv.pendingDetail);
      else this.move(lv, ts, READY, this.strings.code("yield"));
      lv.pending = -1;
    }
    if (dst) this.move(this.lane(dst), ts, RUNNING, 0);
  }

  spawn(ts, gid, parent, func, site, pool) {
    const old = this.byGid.get(gid);
    if (old) this.counts[old.state]--; // a gid seen before its spawn (a gap): start afresh
    const lv = this.newLane(gid, ts, READY, this.strings.code("spawn"));
    lv.parent = parent;
    lv.func = func;
    lv.site = site;
    lv.pool = pool;
    lv.spawned = ts;
  }

  block(ts, gid, reason, obj, detail) {
    const lv = this.lane(gid);
    lv.pending = this.blockedState(reason);
    lv.pendingDetail = this.strings.code(detail === null || detail === undefined ? reason : `${reason} ${detail}`);
  }

  wake(ts, gid, cause, waker) {
    const lv = this.lane(gid);
    const c = this.strings.code(cause);
    lv.wakeTs.push(ts);
    lv.wakeBy.push(waker === null || waker === undefined ? -1 : waker);
    lv.wakeCause.push(c);
    if (lv.state === RUNNING) {
      lv.pending = READY;
      lv.pendingDetail = c;
    } else if (lv.state !== DONE) this.move(lv, ts, READY, c);
  }

  exit(ts, gid, outcome, error) {
    const lv = this.lane(gid);
    lv.exited = this.strings.code(outcome);
    lv.exitTs = ts;
    lv.outcome = outcome;
    lv.error = error;
    if (outcome !== "ok") this.marks.push(lv);
    if (lv.state !== RUNNING) this.move(lv, ts, DONE, lv.exited);
  }

  hubWait(ts) {
    if (this._waiting) return;
    this._waiting = true;
    const n = this.waitStart.n;
    const cum = n ? this.waitCum.a[n - 1] + (this.waitEnd.a[n - 1] - this.waitStart.a[n - 1]) : 0;
    this.waitStart.push(ts);
    this.waitEnd.push(ts);
    this.waitReady.push(0);
    this.waitCum.push(cum);
  }

  hubWake(ts, nready) {
    if (!this._waiting) return;
    this._waiting = false;
    const n = this.waitStart.n;
    this.waitEnd.a[n - 1] = ts;
    this.waitReady.a[n - 1] = nready;
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

  /** Seconds the hub spent waiting in its poller from the start to `t` (ns). */
  waitedUntil(t) {
    const i = lastAtOrBefore(this.waitStart.a, this.waitStart.n, t);
    if (i < 0) return 0;
    const start = this.waitStart.a[i];
    let end = this.waitEnd.a[i];
    if (this._waiting && i === this.waitStart.n - 1) end = this.end;
    return this.waitCum.a[i] + Math.min(t, end) - start;
  }

  /** Switches in [t0, t1). */
  switchesIn(t0, t1) {
    const a = this.switches.a, n = this.switches.n;
    return lastAtOrBefore(a, n, t1 - 1e-9) - lastAtOrBefore(a, n, t0 - 1e-9);
  }

  /** The end of transition `i` of `lane` (the next one's start, or the trace's end). */
  endOf(lane, i) {
    return i + 1 < lane.ts.n ? lane.ts.a[i + 1] : Math.max(this.end, lane.ts.a[i]);
  }

  detail(code) {
    return this.strings.list[code];
  }

  /** A lane's intervals as [start, end, state name, detail] (for details and tests). */
  intervals(lane) {
    const out = [];
    for (let i = 0; i < lane.ts.n; i++) {
      out.push([lane.ts.a[i], this.endOf(lane, i), STATES[lane.st.a[i]], this.detail(lane.dt.a[i])]);
    }
    return out;
  }

  /** Totals of a lane: ns spent per state. */
  totals(lane) {
    const t = new Float64Array(STATES.length);
    for (let i = 0; i < lane.ts.n; i++) t[lane.st.a[i]] += this.endOf(lane, i) - lane.ts.a[i];
    return t;
  }
}

// The trace's storage: growable typed arrays (never an object per event), and what is kept in them — per
// greenthread its state transitions and the wakes it got (`Lane`), per hub its transitions between busy and
// waiting in its poller and its timer passes (`HubLane`), step series (`Series`), strings as small ints — with
// the binary search every view reads them by. No DOM: Node runs it too.
// Times are nanoseconds since the session's first event, as doubles.

/** The hub's two states. */
export const HUB_BUSY = 0, HUB_WAITING = 1;

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
  last() {
    return this.a[this.n - 1];
  }
}

/** A column of `Columns`: its array (`a`), and as many values (`n`) as the rows. */
class ColumnOf {
  constructor(Type, rows) {
    this.a = new Type(0);
    this.rows = rows;
  }
  get n() {
    return this.rows.n;
  }
}

/** Columns that always hold as many values (a lane's transitions; its wakes), their arrays views of one
 * ArrayBuffer: a growth is one allocation for all of them, not one per column (20,000 lanes growing their ten
 * columns each kept the page's allocator and garbage collector busy for seconds on a 10M-event recording), and
 * one count of rows (`n`) for all of them. `cols` are written a row at a time: `add()` gives the row's index, the
 * caller sets its values. */
export class Columns {
  /** `slabs`: where small regions come from (slabs.js), or null: an ArrayBuffer each. */
  constructor(types, capacity, slabs = null) {
    this.cols = types.map((Type) => new ColumnOf(Type, this));
    // the widest first: every view starts at a multiple of its element's size
    this.order = this.cols.map((_, i) => i).sort((i, j) => types[j].BYTES_PER_ELEMENT - types[i].BYTES_PER_ELEMENT);
    this.n = 0;
    this.size = 0;
    this.slabs = slabs;
    this.region = null; // {buf, at, slab}: where the columns are
    this.alloc(capacity);
  }
  /** Room for `capacity` rows, the rows held copied over (the columns are full when they grow: whole arrays). */
  alloc(capacity) {
    const cols = this.cols, order = this.order;
    let bytes = 0;
    for (let k = 0; k < cols.length; k++) bytes += cols[k].a.BYTES_PER_ELEMENT * capacity;
    bytes = Math.ceil(bytes / 8) * 8;
    const old = this.region;
    const region = this.slabs ? this.slabs.take(bytes) : { buf: new ArrayBuffer(bytes), at: 0, slab: null };
    let at = region.at;
    for (let k = 0; k < order.length; k++) {
      const c = cols[order[k]], a = new c.a.constructor(region.buf, at, capacity);
      a.set(c.a);
      c.a = a;
      at += a.byteLength;
    }
    if (old !== null && this.slabs) this.slabs.give(old);
    this.region = region;
    this.size = capacity;
  }
  /** The index of a new row in every column (room made for it): the caller writes its values there, each
   * column's array a type of its own (a store per column site, where `Column.push` saw them all). */
  add() {
    const i = this.n;
    if (i === this.size) this.alloc(Math.max(4, 2 * i));
    this.n = i + 1;
    return i;
  }
}

/** Index of the last element of sorted `a[lo..hi)` that is <= t (< t if `strict`), else lo - 1. */
export function lastAtOrBefore(a, hi, t, lo = 0, strict = false) {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (strict ? a[mid] < t : a[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Strings interned as small ints (details: wake causes, block reasons, outcomes). */
export class Strings {
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

/** Transitions per block of a lane's time in each state (`Lane.sums`). */
export const BLOCK = 64;

/** One greenthread: who it is, its state transitions and the wakes it got. */
export class Lane {
  /** `slabs`: the trace's room for its lanes' columns (slabs.js); `states`: how many states there are. */
  constructor(gid, index, since, state, detail, slabs, states) {
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
    this.slotWaits = null; // pool obj -> ts it first waited for a slot of it (a spawner of that pool)
    // first room for 8 to 15 transitions, by lane: lanes that move in step (a server's handlers) double their
    // arrays at eight different lengths, an eighth of them at a time, not all in one frame
    const room = 8 + (index % 8);
    const types = [Float64Array, Uint8Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
    this.transitions = new Columns(types, room, slabs);
    // ts, state, detail: the cause, reason or outcome (a string code); info: a block's peer, fd or timeout (a
    // string code), else 0; wh: a block's place in the user's code (a string code), else 0; ob: the object it
    // waited on (its id's code), else 0
    [this.ts, this.st, this.dt, this.info, this.wh, this.ob] = this.transitions.cols;
    this.hub = null; // the gid of the hub that runs it (0: the main thread's)
    this.wakes = new Columns([Float64Array, Int32Array, Uint32Array, Float64Array], room >> 1, slabs);
    // when, by whom, why (a string code), and how many ns the timer that woke it fired after its deadline
    [this.wakeTs, this.wakeBy, this.wakeCause, this.wakeLate] = this.wakes.cols;
    // the state machine (states.py's _Life)
    this.state = state;
    this.detail = detail;
    this.pending = -1; // the state it takes when switched out, or -1
    this.pendingDetail = 0;
    this.pendingInfo = 0;
    this.pendingWhere = 0;
    this.pendingOb = 0;
    this.exited = 0; // outcome code once exited
    this.since = since; // the start of the open interval
    // per block of BLOCK intervals (i B to i B + B - 1), the time in each state: `states` values a block, once the
    // next block's first transition is in (the timeline sums a column holding whole blocks by these)
    this.states = states;
    this.sums = null;
    this.push(since, state, detail, 0, 0, 0);
  }
  push(ts, state, detail, info, where, ob) {
    const i = this.transitions.add();
    this.since = ts;
    this.ts.a[i] = ts;
    this.st.a[i] = state;
    this.dt.a[i] = detail;
    this.info.a[i] = info;
    this.wh.a[i] = where;
    this.ob.a[i] = ob;
    if (i >= BLOCK && i % BLOCK === 0) this.sumBlock(i - BLOCK);
  }
  /** The block of intervals from `j0`: its time in each state. */
  sumBlock(j0) {
    const S = this.states, sums = (this.sums ??= new Column(Float64Array, 4 * S)), at = sums.n;
    for (let s = 0; s < S; s++) sums.push(0);
    const a = this.ts.a, st = this.st.a, out = sums.a;
    for (let j = j0; j < j0 + BLOCK; j++) out[at + st[j]] += a[j + 1] - a[j];
  }
  /** A wake: at `ts` (never before the one before), by greenthread `by` (-1: none said), for `cause` (a string
   * code), `late` ns after its timer's deadline. */
  pushWake(ts, by, cause, late) {
    const i = this.wakes.add();
    this.wakeTs.a[i] = i ? Math.max(ts, this.wakeTs.a[i - 1]) : Math.max(ts, 0);
    this.wakeBy.a[i] = by;
    this.wakeCause.a[i] = cause;
    this.wakeLate.a[i] = late;
  }
  /** The index of the transition in force at `t` (-1: before the first). */
  at(t) {
    return lastAtOrBefore(this.ts.a, this.ts.n, t);
  }
}

/** One hub (an OS thread's): its transitions between busy and waiting in its poller, its waits and timer passes. */
export class HubLane {
  constructor(gid, index, since = 0) {
    this.gid = gid;
    this.index = index; // in order of appearance
    this.ts = new Column(Float64Array, 256); // transitions: busy <-> waiting in its poller
    this.st = new Column(Uint8Array, 256);
    this.ts.push(since); // busy from the first event
    this.st.push(HUB_BUSY);
    this.waitStart = new Column(Float64Array, 256); // the poller waits
    this.waitEnd = new Column(Float64Array, 256);
    this.waitReady = new Column(Int32Array, 256);
    this.waitCum = new Column(Float64Array, 256); // time waited before each wait began
    this.timerTs = new Column(Float64Array, 256); // timer passes
    this.timerCount = new Column(Int32Array, 256);
    this.timerLate = new Column(Float64Array, 256); // how late the latest timer of each pass fired (ns)
    this.waiting = false;
  }

  wait(ts) {
    if (this.waiting) return;
    this.waiting = true;
    const n = this.waitStart.n;
    if (n) ts = Math.max(ts, this.waitEnd.a[n - 1]);
    const cum = n ? this.waitCum.a[n - 1] + (this.waitEnd.a[n - 1] - this.waitStart.a[n - 1]) : 0;
    this.waitStart.push(ts);
    this.waitEnd.push(ts);
    this.waitReady.push(0);
    this.waitCum.push(cum);
    this.move(ts, HUB_WAITING);
  }

  wake(ts, nready) {
    if (!this.waiting) return;
    this.waiting = false;
    const n = this.waitStart.n;
    ts = Math.max(ts, this.waitStart.a[n - 1]);
    this.waitEnd.a[n - 1] = ts;
    this.waitReady.a[n - 1] = nready;
    this.move(ts, HUB_BUSY);
  }

  move(ts, state) {
    this.ts.push(Math.max(ts, this.ts.last()));
    this.st.push(state);
  }

  /** ns spent waiting in the poller from the start to `t`, the trace known up to `end`. */
  waitedUntil(t, end) {
    const i = lastAtOrBefore(this.waitStart.a, this.waitStart.n, t);
    if (i < 0) return 0;
    const start = this.waitStart.a[i];
    const stop = this.waiting && i === this.waitStart.n - 1 ? end : this.waitEnd.a[i];
    return this.waitCum.a[i] + Math.min(t, stop) - start;
  }
}

/** Step series: (ts, v0, v1, ...) rows in columns. */
export class Series {
  constructor(names) {
    this.names = names;
    this.rows = new Columns([Float64Array, ...names.map(() => Float64Array)], 16);
    [this.ts, ...this.cols] = this.rows.cols;
  }
  push(ts, values) {
    const cols = this.cols;
    let r = this.ts.n - 1; // at the same instant (or older: never back in time) the newer values win
    if (r < 0 || this.ts.a[r] < ts) {
      r = this.rows.add();
      this.ts.a[r] = ts;
    }
    for (let i = 0; i < values.length; i++) cols[i].a[r] = values[i];
  }
  /** Row index in force at t (-1: none yet). */
  at(t) {
    return lastAtOrBefore(this.ts.a, this.ts.n, t);
  }
}

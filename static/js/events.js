// The event model and the wire: the event kinds, states and reason → state table the page knows (`Model`, from
// the schema; the page's own kind codes, `K`), and the server's columnar batches read from their binary block
// (`readBatch`).
// No DOM: Node runs it too.
//
// The state semantics are runtime/trace/states.py's: its state table and event kinds reach the page as the
// schema (`Model`), never as constants copied here.

/** The event kinds, the states and the reason → state table, from `runtime.trace.states.schema()`. */
export class Model {
  constructor(schema) {
    this.schema = schema;
    this.states = schema.states;
    this.labels = schema.labels;
    const index = (name) => {
      const i = schema.states.indexOf(name);
      if (i < 0) throw new Error(`the schema has no state ${name}`);
      return i;
    };
    this.RUNNING = index("running");
    this.READY = index("ready");
    this.DONE = index("done");
    this.LOST = index("lost");
    this.blockedBy = new Map(Object.entries(schema.blocked_by).map(([reason, s]) => [reason, index(s)]));
    this.blockedOtherwise = index(schema.blocked_otherwise);
    this.lostDetail = schema.lost_detail;
    this.beforeDetail = schema.before_detail;
    this.waiting = new Uint8Array(this.states.length); // 1 for the states of a parked greenthread
    for (const s of [...this.blockedBy.values(), this.blockedOtherwise]) this.waiting[s] = 1;
    // wire kind code -> [name, fields]; the page works on its own codes (K), mapped by name
    this.kinds = new Map(Object.entries(schema.kinds).map(([code, [name, fields]]) => [Number(code), { name, fields }]));
    this.local = new Uint8Array(256);
    this.codes = new Map([...this.kinds].map(([code, { name }]) => [name, code])); // name -> wire code
    for (const [code, { name }] of this.kinds) this.local[code] = K[name] ?? 0;
  }
  stateOf(reason) {
    return this.blockedBy.get(reason) ?? this.blockedOtherwise;
  }
}

/** The page's own kind codes. */
export const K = {
  spawn: 1, switch: 2, block: 3, wake: 4, exit: 5, hub_wait: 6, hub_wake: 7, timers: 8, resource: 9, pool: 10,
  queue: 11, dropped: 12, process: 13, stall: 14, clock: 15, control: 16,
};

/** A batch's binary block (an ArrayBuffer as Socket.IO delivers it, or a view of one) as [buffer, byteOffset],
 * the offset a multiple of 8 (int64s are read in place). */
function block(data) {
  if (data instanceof ArrayBuffer) return [data, 0];
  if (data.byteOffset % 8 === 0) return [data.buffer, data.byteOffset];
  return [data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength), 0];
}

/** A column of a batch that is not ints, event by event: `at(j)` is event j's value. Each distinct value once
 * (`table`) and each event's index in it (`ids`, a typed array), as the server codes a column that repeats a few
 * values; or the values themselves as the table (`ids` null: a column sent as a list). */
export class Values {
  constructor(table, ids = null) {
    this.table = table;
    this.ids = ids;
  }
  at(j) {
    return this.table[this.ids === null ? j : this.ids[j]];
  }
  /** The column with `f` applied to its values: to each distinct value once, where it is coded. */
  map(f) {
    return new Values(Array.from(this.table, f), this.ids);
  }
}

const TWO32 = 4294967296;

/** A column of ints as the wire sends them, read in place (no array made per batch): `n` little-endian int64s,
 * `at(j)` the j-th as a float64 (exact below 2**53) less `origin` ([high, low] 32 bits of it), exactly. */
export class Int64s {
  constructor(buf, at, n, [hi0, lo0] = [0, 0]) {
    this.lo = new Uint32Array(buf, at, 2 * n);
    this.hi = new Int32Array(buf, at, 2 * n);
    this.hi0 = hi0;
    this.lo0 = lo0;
  }
  at(j) {
    return (this.hi[2 * j + 1] - this.hi0) * TWO32 + (this.lo[2 * j] - this.lo0);
  }
  map(f) {
    return new Values(Array.from({ length: this.lo.length / 2 }, (_, j) => f(this.at(j))));
  }
}

/** A decimal string (the session's origin: ns, past 2**53) as its [high, low] 32 bits. */
function split64(decimal) {
  const v = BigInt.asUintN(64, BigInt(decimal ?? 0));
  return [Number(BigInt.asIntN(32, v >> 32n)), Number(v & 0xffffffffn)];
}

const read = new WeakMap(); // batch -> what readBatch made of it: each reader of a batch gets the same

/** A server batch (visualizer/sessions.py's `wire`) read from its binary block: `kinds` (its wire kind codes, in
 * order, in place) and `cols` (wire code -> {n, ts: `Int64s` of ns since the batch's `origin`, then an `Int64s`
 * or a `Values` per field}; undefined for a kind `model` does not know, and undefined values for a field the batch
 * lacks). Event i of kind code k is field.at(pos) of cols[k], pos counting the events of kind k before it. */
export function readBatch(batch, model) {
  let done = read.get(batch);
  if (done?.model === model) return done;
  const [buf, at] = block(batch.data);
  const origin = split64(batch.origin);
  const kinds = new Uint8Array(buf, at, batch.events);
  const cols = new Array(256);
  for (const [name, given] of Object.entries(batch.columns)) {
    const code = model.codes.get(name);
    if (code === undefined) continue;
    const n = given.n, c = (cols[code] = { n, ts: new Int64s(buf, at + given.ts, n, origin) });
    for (const field of model.kinds.get(code).fields) {
      const v = given[field];
      if (typeof v === "number") c[field] = new Int64s(buf, at + v, n);
      else if (Array.isArray(v)) c[field] = new Values(v);
      else if (v) {
        const Ids = v.table.length > 256 ? Uint16Array : Uint8Array; // a byte an event; two past 256 values
        c[field] = new Values(v.table, new Ids(buf, at + v.ids, n));
      } else c[field] = new Values([undefined], new Uint8Array(n)); // not in the batch (an older program's events)
    }
  }
  done = { model, kinds, cols };
  read.set(batch, done);
  return done;
}

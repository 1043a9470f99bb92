// The event model and the wire: the event kinds, states and reason → state table the page knows (`Model`, from
// the schema; the page's own kind codes, `K`), and the server's columnar batches read in place (`readBatch`).
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
 * the offset a multiple of 8 (float64s are read in place). */
function block(data) {
  if (data instanceof ArrayBuffer) return [data, 0];
  if (data.byteOffset % 8 === 0) return [data.buffer, data.byteOffset];
  return [data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength), 0];
}

/** A server batch (visualizer/sessions.py's `wire`) read in place: `kinds` (its wire kind codes, in order) and
 * `cols` (wire code -> {field: values}: numbers as Float64Arrays over the batch's block, other fields as lists;
 * undefined for a kind `model` does not know). Event i of kind code k is field[pos] of cols[k], pos counting the
 * events of kind k before it. */
export function readBatch(batch, model) {
  const [buf, at] = block(batch.data);
  const kinds = new Uint8Array(buf, at, batch.events);
  const cols = new Array(256);
  for (const [name, given] of Object.entries(batch.columns)) {
    const code = model.codes.get(name);
    if (code === undefined) continue;
    const c = (cols[code] = {});
    for (const [field, v] of Object.entries(given)) {
      c[field] = typeof v === "number" && field !== "n" ? new Float64Array(buf, at + v, given.n) : v;
    }
  }
  return { kinds, cols };
}

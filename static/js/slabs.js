// Room for the rows of many small `Columns` (lanes.js): regions of a few large ArrayBuffers, not an ArrayBuffer
// each. A page loading a 10M-event recording grows its 20,000 lanes' columns 240,000 times, and an ArrayBuffer each
// cost ~8 µs (its backing store, the accounting of it, the collections that triggers): 2 s of the load.
// A slab holds REGIONS regions of one size; a region a growth leaves is free for the next growth to that size, and
// a slab left with no region in use is let go (the collector takes it). No DOM: Node runs it too.

const REGIONS = 16; // regions per slab
const LARGEST = 1 << 16; // bytes: a larger region is an ArrayBuffer of its own (few grow that far)

class Slab {
  constructor(bytes) {
    this.bytes = bytes;
    this.buf = new ArrayBuffer(bytes * REGIONS);
    this.free = Array.from({ length: REGIONS }, (_, k) => (REGIONS - 1 - k) * bytes); // offsets, the first on top
  }
}

export class Slabs {
  constructor() {
    this.open = new Map(); // region bytes -> the slabs of that size with a free region
  }

  /** A region of `bytes` (a multiple of 8): {buf, at, slab}, its bytes at `at` in `buf`. */
  take(bytes) {
    if (bytes > LARGEST) return { buf: new ArrayBuffer(bytes), at: 0, slab: null };
    let open = this.open.get(bytes);
    if (open === undefined) this.open.set(bytes, (open = []));
    if (!open.length) open.push(new Slab(bytes));
    const slab = open[open.length - 1], at = slab.free.pop();
    if (!slab.free.length) open.pop(); // full
    return { buf: slab.buf, at, slab };
  }

  /** `region` (from `take`) is no longer used. */
  give(region) {
    const slab = region.slab;
    if (slab === null) return;
    const open = this.open.get(slab.bytes);
    slab.free.push(region.at);
    if (slab.free.length === 1) open.push(slab); // room again
    else if (slab.free.length === REGIONS && open.length > 1) open.splice(open.indexOf(slab), 1); // empty: let go
  }
}

// The server's batches taken into the trace a slice at a time, in order, so the page draws frames between slices:
// a page following a million events a second got a 100k-event batch every ~70 ms and took each in one task of
// 20-70 ms, its frames waiting behind them (between two frames: p90 50 ms, the worst 216 ms).

const SLICE = 4096; // events between two looks at the clock

export class Feed {
  /** `budget`: ms of ingest in one task; `current(job)`: whether a batch ({trace, batch, ack}) is still wanted (else
   * it is dropped, never acknowledged: the page opened another trace, or subscribed again); `done(job)`: a batch is
   * all in; `spent(ms)`: the time each task took taking events in (`done` not counted). */
  constructor({ budget = 12, current, done, spent }) {
    this.budget = budget;
    this.current = current;
    this.done = done;
    this.spent = spent;
    this.queue = []; // {trace, batch, ack, reading}, the oldest first
    this.due = false;
    this.channel = new MessageChannel(); // a task soon, not a timer's 4 ms clamp
    this.channel.port1.onmessage = () => this.pump();
  }

  /** `batch` for `trace`, after those before it; `ack()` once it is all in. */
  push(trace, batch, ack) {
    this.queue.push({ trace, batch, ack, reading: null });
    this.later();
  }

  later() {
    if (this.due) return;
    this.due = true;
    this.channel.port2.postMessage(0);
  }

  /** Slices of the oldest batches for `budget` ms (one slice at least), then a task later for the rest. */
  pump() {
    this.due = false;
    const t0 = performance.now();
    let other = 0; // ms in `done`
    while (this.queue.length) {
      const job = this.queue[0];
      if (!this.current(job)) {
        this.queue.shift();
        continue;
      }
      job.reading ??= job.trace.reading(job.batch);
      if (job.trace.ingestSome(job.reading, SLICE)) {
        this.queue.shift();
        const t = performance.now();
        this.done(job);
        other += performance.now() - t;
      }
      if (performance.now() - t0 >= this.budget) break;
    }
    this.spent(performance.now() - t0 - other);
    if (this.queue.length) this.later();
  }
}

// The Socket.IO protocol with the dashboard (visualizer/streaming.py): the session list, one
// subscription at a time, and its batches, each acknowledged.

import { io } from "../vendor/socket.io/socket.io.esm.min.js";

export class Stream {
  /** Handlers: onSessions(list), onSession(s), onRemoved(id), onBatch(batch, ack: to call once it is in),
   * onRange(range), onStatus(text, error), onConnect().
   * A token, if the server wants one, is in its cookie. */
  constructor(handlers) {
    this.h = handlers;
    this.session = null; // the id subscribed to
    this.range = null; // the span of its recording subscribed to (null: the session as memory holds it)
    this.tag = 0; // names our latest subscription: batches of an earlier one are dropped
    this.socket = io({ transports: ["websocket", "polling"] });
    const s = this.socket;
    s.on("connect_error", (e) => this.h.onStatus(`not connected: ${e.message}`, true));
    s.on("connect", () => {
      this.h.onStatus("", false);
      this.h.onConnect(); // afresh: the server sends the history again
    });
    s.on("sessions", (list) => this.h.onSessions(list));
    s.on("session", (session) => this.h.onSession(session));
    s.on("removed", (m) => m && this.h.onRemoved(String(m.id)));
    s.on("batch", (batch) => {
      if (batch.tag !== this.tag || this.session === null) return; // another session's, or sent before we subscribed again
      this.h.onBatch(batch, () => s.emit("ack", { seq: batch.seq }));
    });
  }

  /** From now on, session `id`'s events (all it retains, then the new ones; or with `range`, [start, stop] in ns
   * since its first event, those of its recording there, read from disk), and no other's (a subscription replaces
   * the one before; the server handles each message in a thread of its own, and goes by the tag). The server's
   * word on a range (which events: {first, events}) goes to onRange. */
  subscribe(id, range = null) {
    this.session = id;
    this.range = range;
    const tag = ++this.tag;
    if (!this.socket.connected) return; // onConnect subscribes again
    this.socket.emit("subscribe", range ? { session: id, tag, range } : { session: id, tag }, (reply) => {
      if (reply?.error) this.h.onStatus(reply.error, true);
      if (tag !== this.tag) return;
      if (reply?.session) this.h.onSession(reply.session); // as it is now: what it holds in memory
      if (reply?.range) this.h.onRange(reply.range);
    });
  }
}

// The Socket.IO protocol with the dashboard (visualizer/streaming.py): the session list, one
// subscription at a time, and its batches, each acknowledged.

import { io } from "../vendor/socket.io/socket.io.esm.min.js";

export class Stream {
  /** Handlers: onSessions(list), onSession(s), onRemoved(id), onBatch(batch), onStatus(text, error), onConnect().
   * A token, if the server wants one, is in its cookie. */
  constructor(handlers) {
    this.h = handlers;
    this.session = null; // the id subscribed to
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
      this.h.onBatch(batch);
      s.emit("ack", { seq: batch.seq });
    });
  }

  /** From now on, session `id`'s events (all it retains, then the new ones), and no other's (a subscription
   * replaces the one before; the server handles each message in a thread of its own, and goes by the tag). */
  subscribe(id) {
    this.session = id;
    this.tag++;
    if (!this.socket.connected) return; // onConnect subscribes again
    this.socket.emit("subscribe", { session: id, tag: this.tag }, (reply) => {
      if (reply?.error) this.h.onStatus(reply.error, true);
    });
  }
}

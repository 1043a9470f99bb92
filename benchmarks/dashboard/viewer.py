"""A viewer of the dashboard: a real Socket.IO client subscribed to a session, counting what it gets and the
end-to-end delay of each event; it can stall (take no batch, ack none) until released."""

from __future__ import annotations

import queue
import sys
import threading
import time
from array import array

STALL_LIMIT = 120.0  # seconds a stalled viewer waits at most, whatever happens


class Viewer:
    """A python-socketio client watching one session: counts events and ``dropped``, and the delay of each event
    emitted after `measure_from` (ns). With `stall` set, it takes no batch (and acks none) until `released`.

    Messages are read in order (`OrderedClient`: a batch's binary attachment after its header) and handed to a
    thread of its own, so a stalled viewer still answers the server's pings."""

    def __init__(self, url: str, stall: bool = False) -> None:
        from tests.support.socketio_client import OrderedClient

        self.measure_from = 2**63
        self.delays_ms: list[float] = []
        self.events = self.dropped = self.arrived = 0
        self.released = threading.Event()
        self._lock = threading.Lock()
        self._inbox: queue.SimpleQueue[tuple[int, dict] | None] = queue.SimpleQueue()
        if not stall:
            self.released.set()
        self._worker = threading.Thread(target=self._work, daemon=True)
        self._worker.start()
        self.sio = OrderedClient()
        self.sio.on("batch", self._batch)
        self.sio.connect(url, transports=["websocket"], wait_timeout=10)

    def watch(self, sid: str) -> None:
        reply = self.sio.call("subscribe", {"session": sid}, timeout=10)
        if "session" not in reply:
            raise RuntimeError(f"subscribe failed: {reply}")

    def _batch(self, batch: dict) -> None:
        with self._lock:
            self.arrived += 1
        self._inbox.put((time.monotonic_ns(), batch))

    def _work(self) -> None:
        while (item := self._inbox.get()) is not None:
            received, batch = item
            self.released.wait(STALL_LIMIT)
            since = self.measure_from
            data, columns = batch["data"], batch["columns"].values()
            stamps = [ts for c in columns for ts in _int64s(data, c["ts"], c["n"])]
            delays = [(received - ts) / 1e6 for ts in stamps if ts >= since]
            with self._lock:
                self.delays_ms += delays
                self.events += batch["events"]
                self.dropped += batch["dropped"]
            try:
                self.sio.emit("ack", {"seq": batch["seq"]})
            except Exception:  # leaving: the ack no longer matters
                pass

    def close(self) -> None:
        self.released.set()
        self._inbox.put(None)
        self.sio.disconnect()


def _int64s(data: bytes, offset: int, n: int) -> array:
    """`n` little-endian int64s at `offset` in `data` (a column of a batch: `visualizer.sessions.wire`)."""
    values = array("q", data[offset : offset + 8 * n])
    if sys.byteorder != "little":
        values.byteswap()
    return values


def caught_up(viewer: Viewer, total: int, patience: float = 15.0) -> None:
    """Wait while `viewer` still gets events (or dropped counts) and has not had `total`."""
    seen, since = -1, time.monotonic()
    while (now := viewer.events + viewer.dropped) < total and time.monotonic() - since < patience:
        if now != seen:
            seen, since = now, time.monotonic()
        time.sleep(0.1)

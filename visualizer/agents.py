"""The agent listener: traced programs connect here (TCP, 127.0.0.1) and stream their events.

Each connection is read by its own OS thread and feeds one session (`Store.claim`): HELLO
first, then EVENTS, then END on a clean stop. Commands go back the same way
(`AgentConnection.send`). Whatever is wrong with a connection — bytes that are not a
stream, a damaged or truncated frame, a first frame that is not HELLO, a frame larger
than `max_pending` bytes or more than `max_rate` bytes a second, silence before HELLO —
closes that connection and is logged; the listener and the other sessions carry on.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

from runtime.trace.codec import COMMAND, END, EVENTS, HELLO, MAGIC, Decoder, FormatError, check_hello, encode_frame
from visualizer.sessions import CRASHED, ENDED, Session, Store

__all__ = ["AgentConnection", "AgentListener"]

log = logging.getLogger(__name__)


class _Flood(Exception):
    """A connection sends more than the listener takes."""


class AgentListener:
    """Accepts agents on ``host:port`` (port 0: any free one); see `address`."""

    def __init__(
        self,
        store: Store,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_connections: int = 64,
        max_pending: int = 16 << 20,
        max_rate: int = 256 << 20,
        hello_timeout: float = 10.0,
    ) -> None:
        self.store = store
        self.max_connections = max_connections
        self.max_pending = max_pending
        self.max_rate = max_rate
        self.hello_timeout = hello_timeout
        self._sock = socket.create_server((host, port))
        self.address = f"{host}:{self._sock.getsockname()[1]}"
        self._connections: set[AgentConnection] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name="greenscope-agents", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                sock, peer = self._sock.accept()
            except OSError:  # closed
                return
            with self._lock:
                full = len(self._connections) >= self.max_connections
                if not full and not self._closed:
                    conn = AgentConnection(self, sock, peer)
                    self._connections.add(conn)
            if full or self._closed:
                log.warning("agent %s: refused, %d connections already", peer, self.max_connections)
                sock.close()
                continue
            conn.start()

    def _forget(self, conn: AgentConnection) -> None:
        with self._lock:
            self._connections.discard(conn)

    def close(self) -> None:
        """Stop accepting, close every connection and wait for their threads."""
        with self._lock:
            self._closed = True
            conns = list(self._connections)
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (closing alone does not)
        except OSError:
            pass
        self._sock.close()
        self._thread.join()
        for conn in conns:
            conn.close()
            conn.join()


class AgentConnection:
    """One agent's stream, read by its own thread into its session."""

    def __init__(self, listener: AgentListener, sock: socket.socket, peer: Any) -> None:
        self.listener = listener
        self.peer = peer
        self.session: Session | None = None
        self._sock = sock
        self._send_lock = threading.Lock()
        self._magic_sent = False
        self._thread = threading.Thread(target=self._run, name=f"greenscope-agent-{peer}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join()

    def close(self) -> None:
        """End the stream (its thread notices and finishes)."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already gone
            pass

    def send(self, command: dict) -> bool:
        """Send a COMMAND frame (``{"command": "stop"}``); False if the connection is gone."""
        frame = encode_frame(COMMAND, command)
        with self._send_lock:
            try:
                self._sock.sendall(frame if self._magic_sent else MAGIC + frame)
            except OSError:
                return False
            self._magic_sent = True
        return True

    def _run(self) -> None:
        try:
            self._read()
        except (FormatError, _Flood) as e:
            log.warning("agent %s: %s; closing its connection", self.peer, e)
        except TimeoutError:
            log.warning("agent %s: no hello within %ss; closing its connection", self.peer, self.listener.hello_timeout)
        except OSError as e:
            log.info("agent %s: %s", self.peer, e)
        finally:
            self._sock.close()
            self._detach()
            self.listener._forget(self)

    def _read(self) -> None:
        listener = self.listener
        decoder = Decoder()
        self._sock.settimeout(listener.hello_timeout)
        second, received = int(time.monotonic()), 0
        while data := self._sock.recv(1 << 18):
            now = int(time.monotonic())
            if now != second:
                second, received = now, 0
            received += len(data)
            if received > listener.max_rate:
                raise _Flood(f"more than {listener.max_rate} bytes in a second")
            for frame_type, payload in decoder.feed(data):
                self._frame(frame_type, payload)
            if decoder.pending > listener.max_pending:
                raise _Flood(f"a frame larger than {listener.max_pending} bytes")
        if self.session is not None and not self.session.complete:
            log.info("agent %s: the stream ended without an end mark", self.peer)

    def _frame(self, frame_type: int, payload: Any) -> None:
        session = self.session
        if session is None:
            if frame_type != HELLO:
                raise FormatError("the first frame is not a hello")
            process = check_hello(payload)
            self._sock.settimeout(None)
            self.session = self.listener.store.claim({"schema": payload["schema"], "process": process}, self)
            log.info("agent %s: session %s, pid %s", self.peer, self.session.id, process.get("pid"))
        elif frame_type == EVENTS:
            session.append(payload)
        elif frame_type == END:
            session.complete = True
            dropped = payload.get("dropped") if isinstance(payload, dict) else None
            if isinstance(dropped, int) and dropped > 0:
                session.lost += dropped
            if session.source != "launched":  # a launched one ends when its process does
                self.listener.store.set_state(session, ENDED)
        else:
            raise FormatError(f"an unexpected {'hello' if frame_type == HELLO else 'command'} frame")

    def _detach(self) -> None:
        session = self.session
        if session is None:
            return
        session.agent = None
        if not session.complete and session.source != "launched":
            self.listener.store.set_state(session, CRASHED, error="its stream broke off without an end mark")

"""The agent listener: traced programs connect here and stream their events.

Two doors: TCP on 127.0.0.1 (``address``) for programs run by hand (``greenscope run``,
``greenscope record --connect``), and a unix socket in a private directory
(``launch_address``) for the dashboard's own launches, so that whatever fills the first
cannot keep a launched workload out. Each connection is read by its own OS thread and
feeds one session: HELLO first, then EVENTS, then END on a clean stop. Commands go back
the same way (`AgentConnection.send`).

Nobody streams without a secret: a HELLO carries ``auth``, the launch secret of the one
session it may stream (given to the launched program, so no one can take over its session),
or the dashboard's agent key (in a file only its user can read; see `runtime.tracer`),
or its token. Everything is bounded: connections per door, connections that have not
said HELLO yet, the whole handshake (`hello_timeout`), silence after it (`idle_timeout`:
agents send an empty frame when they have nothing to say), the time one frame takes to
arrive (`frame_timeout`), bytes a second, and each frame (`runtime.trace.codec.AGENT_LIMITS`).
Whatever is wrong with a connection closes that connection and is logged and counted
(`refused`); the listener and the other sessions carry on.
"""

from __future__ import annotations

import hmac
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from typing import Any

from runtime.trace.codec import (
    AGENT_LIMITS,
    COMMAND,
    END,
    EVENTS,
    HELLO,
    MAGIC,
    Decoder,
    FormatError,
    Limits,
    check_hello,
    encode_frame,
)
from runtime.trace.events import describe
from visualizer.sessions import CRASHED, ENDED, Session
from visualizer.store import Store

__all__ = ["AgentConnection", "AgentListener"]

log = logging.getLogger(__name__)


class _Refused(Exception):
    """A connection breaks a rule of the listener (too fast, too slow, no secret)."""


class _Door:
    """One listening socket, the connections it accepted, and how many it takes."""

    def __init__(self, listener: AgentListener, sock: socket.socket, name: str, slots: int, handshakes: int) -> None:
        self.listener = listener
        self.sock = sock
        self.name = name
        self.slots = slots  # connections at once
        self.handshakes = handshakes  # of which, connections that have not said HELLO yet
        self.connections: set[AgentConnection] = set()
        self.handshaking = 0
        self._thread = threading.Thread(target=self._accept, name=f"greenscope-{name}", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        listener = self.listener
        while True:
            try:
                sock, peer = self.sock.accept()
            except OSError:  # closed
                return
            with listener.lock:
                full = len(self.connections) >= self.slots or self.handshaking >= self.handshakes
                if not full and not listener.closed:
                    conn = AgentConnection(self, sock, peer or self.name)
                    self.connections.add(conn)
                    self.handshaking += 1
            if full or listener.closed:
                listener.refused += 1
                log.warning("agent %s on the %s door: refused, it is full", peer, self.name)
                sock.close()
                continue
            if sock.family != socket.AF_UNIX:  # a command goes out at once, even right after another
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.start()

    def forget(self, conn: AgentConnection) -> None:
        with self.listener.lock:
            self.connections.discard(conn)
            if conn.session is None:
                self.handshaking -= 1

    def close(self) -> list[AgentConnection]:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (closing alone does not)
        except OSError:
            pass
        self.sock.close()
        self._thread.join()
        with self.listener.lock:
            return list(self.connections)


class AgentListener:
    """Accepts agents on ``host:port`` (port 0: any free one; see `address`) and on a unix
    socket for launched programs (`launch_address`)."""

    def __init__(
        self,
        store: Store,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        key: str,
        token: str | None = None,
        limits: Limits = AGENT_LIMITS,
        max_connections: int = 64,
        max_handshakes: int = 8,
        max_launched: int = 64,
        max_rate: int = 256 << 20,
        hello_timeout: float = 5.0,
        idle_timeout: float = 30.0,
        frame_timeout: float = 10.0,
    ) -> None:
        self.store = store
        self.limits = limits
        self.max_rate = max_rate  # bytes a second
        self.hello_timeout = hello_timeout
        self.idle_timeout = idle_timeout
        self.frame_timeout = frame_timeout
        self.refused = 0  # connections refused or closed for breaking a rule
        self.lock = threading.Lock()
        self.closed = False
        self.key = key  # what `greenscope run` reads from the dashboard's identity file
        self._secrets = [s for s in (key, token) if s]
        tcp = socket.create_server((host, port))
        self.address = f"{host}:{tcp.getsockname()[1]}"
        self._dir = tempfile.mkdtemp(prefix="greenscope-")  # 0700: only this user reaches the socket
        self.launch_address = os.path.join(self._dir, "agents.sock")
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.bind(self.launch_address)
        unix.listen(max_launched)
        self._doors = [
            _Door(self, tcp, "agents", max_connections, max_handshakes),
            _Door(self, unix, "launched", max_launched, max_launched),
        ]

    def trusts(self, secret: Any) -> bool:
        """Whether `secret` is the dashboard's agent key (or its token)."""
        return isinstance(secret, str) and any(hmac.compare_digest(secret, s) for s in self._secrets)

    def close(self) -> None:
        """Stop accepting, close every connection and wait for their threads."""
        with self.lock:
            self.closed = True
        conns = [conn for door in self._doors for conn in door.close()]
        for conn in conns:
            conn.close()
            conn.join()
        shutil.rmtree(self._dir, ignore_errors=True)


class AgentConnection:
    """One agent's stream, read by its own thread into its session."""

    def __init__(self, door: _Door, sock: socket.socket, peer: Any) -> None:
        self.door = door
        self.listener = door.listener
        self.peer = peer
        self.session: Session | None = None
        self._sock = sock
        self._send_lock = threading.Lock()
        self._magic_sent = False
        self._thread = threading.Thread(target=self._run, name=f"greenscope-agent-{peer}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

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
                self._sock.settimeout(1.0)  # a program that does not read gets no say in how long we wait
                self._sock.sendall(frame if self._magic_sent else MAGIC + frame)
            except OSError:
                return False
            self._magic_sent = True
        return True

    def _run(self) -> None:
        try:
            self._read()
        except (FormatError, _Refused) as e:
            self.listener.refused += 1
            log.warning("agent %s: %s; closing its connection", self.peer, e)
        except OSError as e:
            log.info("agent %s: %s", self.peer, e)
        finally:
            try:  # the session's state is settled before the peer sees the close
                self._detach()
                self.door.forget(self)
            finally:
                self._sock.close()

    def _read(self) -> None:
        listener = self.listener
        decoder = Decoder(listener.limits, coded=True)  # text columns stay coded, as sessions keep them
        hello_by = time.monotonic() + listener.hello_timeout
        frame_by = None  # when the frame now arriving must be whole
        allowance, last = float(listener.max_rate), time.monotonic()  # a token bucket: max_rate bytes a second
        while True:
            now = time.monotonic()
            if self.session is None:
                wait, why = hello_by - now, f"no hello within {listener.hello_timeout} s"
            elif frame_by is not None:
                wait, why = frame_by - now, f"a frame took longer than {listener.frame_timeout} s"
            else:
                wait, why = listener.idle_timeout, f"silent for {listener.idle_timeout} s"
            if wait <= 0:
                raise _Refused(why)
            self._sock.settimeout(wait)
            try:
                data = self._sock.recv(1 << 18)
            except TimeoutError:
                raise _Refused(why) from None
            if not data:
                break
            now = time.monotonic()
            allowance = min(listener.max_rate, allowance + (now - last) * listener.max_rate) - len(data)
            last = now
            if allowance < 0:
                raise _Refused(f"more than {listener.max_rate} bytes in a second")
            whole = decoder.frames
            for frame_type, payload in decoder.feed(data):
                self._frame(frame_type, payload, decoder.frame if decoder.current else None)
            if decoder.magic_seen and decoder.pending >= 5:
                decoder.next_length()  # a frame too large is refused before it arrives
            if not decoder.pending:
                frame_by = None
            elif frame_by is None or decoder.frames != whole:  # a new frame began: its own deadline
                frame_by = time.monotonic() + listener.frame_timeout
        if self.session is not None and not self.session.complete:
            log.info("agent %s: the stream ended without an end mark", self.peer)

    def _frame(self, frame_type: int, payload: Any, frame: bytes | None) -> None:
        session = self.session
        if session is None:
            if frame_type != HELLO:
                raise FormatError("the first frame is not a hello")
            process = check_hello(payload)
            hello = {"schema": describe(), "process": process}
            store, secret = self.listener.store, payload.get("auth")
            self.session = store.claim(secret, hello, self) if isinstance(secret, str) else None
            if self.session is None:
                if not self.listener.trusts(secret):
                    raise _Refused("its hello carries no secret this dashboard gave out")
                self.session = store.attach(hello, self)
            with self.listener.lock:
                self.door.handshaking -= 1
            log.info("agent %s: session %s, pid %s", self.peer, self.session.id, process.get("pid"))
        elif frame_type == EVENTS:
            self.listener.store.append(session, payload, frame)
        elif frame_type == END:
            dropped, note = (payload.get("dropped"), payload.get("note")) if isinstance(payload, dict) else (None, None)
            session.end(dropped if type(dropped) is int and dropped > 0 else 0, note if isinstance(note, str) else None)
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

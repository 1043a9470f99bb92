"""The agent: an OS thread in the traced process that ships the recorder's events out.

Every `interval` seconds it takes what the recorder holds and sends it as one EVENTS
frame (see `runtime.trace.codec`) to its sink: a recording file, or the dashboard's
agent listener (``host:port`` or a unix-socket path, from ``$GREENSCOPE_CONNECT``).

It never blocks the traced program: the program only appends to the recorder's
buffer. When the dashboard is slow (more than `max_backlog` bytes unsent) or gone, the
agent drops batches and counts them; the count goes out as a ``dropped`` event once it
can send again, and it reconnects (saying HELLO again) every second. The dashboard
may send COMMAND frames back; ``{"command": "stop"}`` ends the program (SIGTERM), and
anything else is ignored.

The agent uses the real `_socket` and `_thread`, captured when this module is imported,
so monkey-patching afterwards cannot make it green.
"""

from __future__ import annotations

import _socket
import _thread
import os
import signal
import sys
import time
from typing import Any

import runtime
from runtime.trace import events as ev
from runtime.trace.codec import COMMAND, END, EVENTS, HELLO, MAGIC, Decoder, FormatError, encode_frame
from runtime.trace.recorder import Recorder

__all__ = ["Agent", "FileSink", "SocketSink", "parse_address", "process_info"]

_start_thread = _thread.start_new_thread
_allocate_lock = _thread.allocate_lock
_monotonic = time.monotonic


def process_info(program: str, argv: list[str] | None = None) -> dict[str, Any]:
    """Who is traced: what the HELLO frame says."""
    return {
        "pid": os.getpid(),
        "argv": list(sys.argv if argv is None else argv),
        "program": program,
        "version": runtime.__version__,
    }


def parse_address(text: str) -> tuple[int, Any]:
    """``host:port`` (TCP) or a path with a ``/`` (unix socket) -> (family, address)."""
    if "/" in text:
        return _socket.AF_UNIX, text
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"not an agent address (host:port or a unix-socket path): {text!r}")
    return (_socket.AF_INET6 if ":" in host else _socket.AF_INET), (host, int(port))


class FileSink:
    """Frames appended to a recording file, each in one write (a crash leaves whole frames)."""

    lost = 0  # a file takes everything

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(self._fd, MAGIC)

    def hello(self, frame: bytes) -> None:
        os.write(self._fd, frame)

    def send(self, frame: bytes) -> bool:
        os.write(self._fd, frame)
        return True

    def poll_commands(self) -> list[dict]:
        return []

    def close(self) -> None:
        os.close(self._fd)


class SocketSink:
    """Frames sent to the dashboard; non-blocking, bounded, reconnecting."""

    def __init__(self, address: str, max_backlog: int = 8 << 20) -> None:
        self.family, self.address = parse_address(address)
        self.max_backlog = max_backlog
        self.lost = 0  # events not sent, to report when it can send again
        self._sock: Any = None
        self._out = bytearray()
        self._hello = b""
        self._next_try = 0.0
        self._decoder = Decoder()

    def hello(self, frame: bytes) -> None:
        self._hello = frame
        self._connect()

    @property
    def backlog(self) -> int:
        """Bytes waiting to be sent (never more than `max_backlog`)."""
        return len(self._out)

    def _connect(self) -> bool:
        if self._sock is not None:
            return True
        if _monotonic() < self._next_try:
            return False
        self._next_try = _monotonic() + 1.0
        sock = _socket.socket(self.family, _socket.SOCK_STREAM)
        try:
            sock.settimeout(1.0)
            sock.connect(self.address)
            sock.setblocking(False)
        except OSError:
            sock.close()
            return False
        self._sock = sock
        self._out = bytearray(MAGIC + self._hello)
        self._decoder = Decoder()
        return True

    def send(self, frame: bytes) -> bool:
        """Queue `frame` and send what the socket takes now; False if it had to be dropped."""
        if not self._connect():
            return False
        if len(self._out) + len(frame) > self.max_backlog:
            self._flush()
            if len(self._out) + len(frame) > self.max_backlog:
                return False
        self._out += frame
        self._flush()
        return True

    def _flush(self) -> None:
        try:
            while self._out:
                n = self._sock.send(self._out)
                del self._out[:n]
        except BlockingIOError:
            pass
        except OSError:
            self._drop_connection()

    def poll_commands(self) -> list[dict]:
        if self._sock is None:
            return []
        commands = []
        try:
            while True:
                data = self._sock.recv(65536)
                if not data:
                    self._drop_connection()
                    break
                for frame_type, payload in self._decoder.feed(data):
                    if frame_type == COMMAND and isinstance(payload, dict):
                        commands.append(payload)
        except BlockingIOError:
            pass
        except (OSError, FormatError):
            self._drop_connection()
        return commands

    def _drop_connection(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def close(self) -> None:
        if self._sock is not None:
            self._sock.setblocking(True)
            self._sock.settimeout(1.0)
            self._flush()
            self._drop_connection()


class Agent:
    """Drains `recorder` into each of `sinks` every `interval` seconds, from its own OS thread."""

    def __init__(self, recorder: Recorder, sinks: list[Any], process: dict, interval: float = 0.05) -> None:
        self.recorder = recorder
        self.sinks = sinks
        self.process = process
        self.interval = interval
        self._running = False
        self._done = _allocate_lock()  # held by the thread while it runs
        self._stop = _allocate_lock()  # held until stop(): the thread's interruptible sleep

    def start(self) -> Agent:
        hello = encode_frame(HELLO, {"schema": ev.describe(), "process": self.process})
        for sink in self.sinks:
            sink.hello(hello)
        self._running = True
        self._done.acquire()
        self._stop.acquire()
        _start_thread(self._loop, ())
        return self

    def _loop(self) -> None:
        try:
            while not self._stop.acquire(timeout=self.interval):  # True: stop() released it
                self.ship()
                for sink in self.sinks:
                    for command in sink.poll_commands():
                        self._obey(command)
        finally:
            self._done.release()

    def ship(self) -> None:
        """Send what the recorder holds now; a sink that cannot take it counts it as lost, and
        says so (a ``dropped`` event) as soon as it can send again."""
        batch = self.recorder.take_batch()
        if not batch.kinds:
            return
        frame = encode_frame(EVENTS, batch)
        lost_before = batch.column(ev.DROPPED, 1) if ev.DROPPED in batch.columns else []
        count = len(batch.kinds) - len(lost_before) + sum(lost_before)
        first_ts = batch.column(batch.kinds[0], 0)[0]
        for sink in self.sinks:
            if sink.lost:
                marker = encode_frame(EVENTS, [(ev.DROPPED, first_ts, sink.lost)])
                if sink.send(marker):
                    sink.lost = 0
            if sink.lost or not sink.send(frame):
                sink.lost += count

    def _obey(self, command: dict) -> None:
        if command.get("command") == "stop":
            os.kill(os.getpid(), signal.SIGTERM)

    def stop(self) -> None:
        """Stop the thread, ship the rest, write END, close the sinks."""
        if not self._running:
            return
        self._running = False
        self._stop.release()
        self._done.acquire()
        self.ship()
        for sink in self.sinks:
            sink.send(encode_frame(END, {"dropped": sink.lost}))
            sink.close()

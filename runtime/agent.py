"""The agent: an OS thread in the traced process that ships the recorder's events out.

Every `interval` seconds it takes what the recorder holds and sends it as EVENTS frames
(see `runtime.trace.codec`) to its sinks: a recording file, and/or the dashboard's agent
listener (``host:port`` or a unix-socket path, from ``$GREENSCOPE_CONNECT``), whose HELLO
carries the secret that dashboard gave out.

It never blocks the traced program: the program only appends to the recorder's buffer.
When the dashboard is slow (more than `max_backlog` bytes unsent) or gone, the agent drops
batches and counts them; the count goes out as a ``dropped`` event once it can send again,
and it reconnects (saying HELLO again) every second. Each batch ends with a ``clock`` event
(the time it was taken: every event before it is in), and with nothing else to say the
clock still goes out every `heartbeat` seconds: the dashboard can tell silence from a dead
connection, and draw what is still going on up to then. `StallMonitor` (from
`runtime.trace.stalls`) watches for a greenthread holding the hub longer than `stall_ms`.

The dashboard may send COMMAND frames back, which the agent reads as they come:
``{"command": "stop"}`` ends the program (SIGTERM); ``pause``, ``step``, ``step_thread``,
``speed`` (with ``"speed"``) and ``resume`` set the pace of the hub of the thread that started
the agent (`runtime.hubs.control`), and what the hub did is shipped as soon as it has obeyed;
anything else is ignored. While the pace is set, stalls are not watched (a paused or slowed hub
holds its greenthreads on purpose).

Nothing is lost unsaid: at exit the agent waits (at most `flush_timeout` seconds) for the
dashboard to take what is queued, and writes what it could not send to a fallback
recording; a recording file that cannot be written (a full disk, a size limit) is cut
back to its last whole frame and closed. `Agent.stop` returns one line for each such loss.

The agent uses the real `_socket` and `_thread`, captured when this module is imported,
so monkey-patching afterwards cannot make it green.
"""

from __future__ import annotations

import _socket
import _thread
import os
import select
import signal
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import runtime
from runtime.hubs import get_hub
from runtime.hubs.control import CommandError, Pace, command_of
from runtime.trace import events as ev
from runtime.trace.codec import (
    COMMAND,
    END,
    EVENTS,
    FRAME_EVENTS,
    HELLO,
    HELLO_FIELD,
    MAGIC,
    Decoder,
    FormatError,
    encode_frame,
    encode_frames,
)
from runtime.trace.events import Batch
from runtime.trace.recorder import Recorder
from runtime.trace.stalls import StallMonitor

__all__ = ["Agent", "FileSink", "FrameFile", "SocketSink", "parse_address", "process_info"]

_start_thread = _thread.start_new_thread
_allocate_lock = _thread.allocate_lock
_monotonic = time.monotonic
_select = select.select
_new_poll = select.poll
_POLLIN = select.POLLIN
_MAX_ARGV = HELLO_FIELD // 2  # characters of argv a HELLO carries (the rest is summed up)
_MAX_ERROR = 4 << 10  # characters of an exception's message an exit event carries


def process_info(program: str, argv: list[str] | None = None, traced_by: str | None = None) -> dict[str, Any]:
    """Who is traced, and by what runtime: what the HELLO frame says (argv cut to `_MAX_ARGV` characters,
    and the directory it runs in: what its relative paths are relative to)."""
    kept: list[str] = []
    room = _MAX_ARGV
    for arg in sys.argv if argv is None else argv:
        arg = str(arg)
        if len(arg) > room:
            kept.append(f"... ({len(argv or sys.argv) - len(kept)} more arguments)")
            break
        kept.append(arg)
        room -= len(arg)
    version = runtime.__version__
    return {
        "pid": os.getpid(),
        "argv": kept,
        "program": program[:_MAX_ARGV],
        "cwd": os.getcwd()[:_MAX_ARGV],
        "version": version,
        "runtime": traced_by or f"greenscope {version}",
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


class FrameFile:
    """A recording file that takes whole frames, each in one write (a crash leaves whole frames). A write
    that fails (a full disk, a size limit) cuts the file back to its last whole frame and closes it;
    `error` says why, and it takes nothing more."""

    def __init__(self, path: str | os.PathLike, fresh: bool = True, mode: int = 0o644) -> None:
        self.path = str(path)
        self.error: str | None = None
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if fresh else os.O_APPEND)
        self._fd: int | None = os.open(path, flags, mode)
        self.size = os.fstat(self._fd).st_size  # bytes, all in whole frames
        if fresh:
            self.write(MAGIC)

    def write(self, frame: bytes) -> bool:
        """Append `frame`; False if it could not (then, or before)."""
        if self._fd is None:
            return False
        try:
            view = memoryview(frame)
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as e:
            self.error = f"cannot write {self.path}: {e.strerror or e}"
            try:
                os.ftruncate(self._fd, self.size)  # back to its last whole frame
            except OSError:
                pass
            self.close()
            return False
        self.size += len(frame)
        return True

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class FileSink:
    """Frames appended to a recording file (`FrameFile`): a write that fails ends the recording at its
    last whole frame, and what came after is counted."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lost = 0  # events it could not write
        self._file = FrameFile(path)

    def hello(self, payload: dict) -> None:
        self._file.write(encode_frame(HELLO, payload))

    def send(self, frame: bytes, events: int = 0) -> bool:
        return self._file.write(frame)

    def poll_commands(self) -> list[dict]:
        return []

    def waitable(self) -> Any:
        """What commands come through (none here)."""
        return None

    def close(self, timeout: float = 0.0, note: str | None = None) -> str | None:
        """Write END (with `note`) and close it; a line saying what it could not write, if anything."""
        self._file.write(encode_frame(END, _end(self.lost, note)))
        self._file.close()
        if self._file.error:
            return f"{self._file.error}; the recording stops at its last whole frame ({self.lost} events not in it)"
        return None


class SocketSink:
    """Frames sent to the dashboard; non-blocking, bounded, reconnecting. Frames are queued
    whole, so what was not sent at exit can go, whole, to the `fallback` recording."""

    def __init__(
        self,
        address: str,
        max_backlog: int = 8 << 20,
        secret: str | None = None,
        fallback: str | None = None,
        sndbuf: int = 256 << 10,
    ) -> None:
        self.family, self.address = parse_address(address)
        self.max_backlog = max_backlog
        self.sndbuf = sndbuf  # the kernel's share of the backlog: what it holds at exit is neither sent nor saved
        self.secret = secret
        self.fallback = fallback
        self.lost = 0  # events not sent, to report when it can send again
        self._sock: Any = None
        self._frames: deque[tuple[bytes, int]] = deque()  # (frame, events in it), the first maybe half sent
        self._sent = 0  # bytes of the first frame sent
        self._backlog = 0
        self._hello: dict = {}
        self._next_try = 0.0
        self._decoder = Decoder()

    def hello(self, payload: dict) -> None:
        self._hello = payload
        self._connect()

    @property
    def backlog(self) -> int:
        """Bytes waiting to be sent (never more than `max_backlog`)."""
        return self._backlog - self._sent

    def _connect(self) -> bool:
        if self._sock is not None:
            return True
        if _monotonic() < self._next_try:
            return False
        self._next_try = _monotonic() + 1.0
        sock = _socket.socket(self.family, _socket.SOCK_STREAM)
        try:
            sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_SNDBUF, self.sndbuf)
            if self.family != _socket.AF_UNIX:  # a frame goes out at once, even right after another
                sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            sock.settimeout(1.0)
            sock.connect(self.address)
            sock.setblocking(False)
        except OSError:
            sock.close()
            return False
        self._sock = sock
        hello = {**self._hello, "auth": self.secret} if self.secret else self._hello
        self._frames = deque([(MAGIC + encode_frame(HELLO, hello), 0)])
        self._sent, self._backlog = 0, len(self._frames[0][0])
        self._decoder = Decoder()
        return True

    def send(self, frame: bytes, events: int = 0) -> bool:
        """Queue `frame` (holding `events`) and send what the socket takes now; False if it had to be dropped."""
        if not self._connect():
            return False
        if self.backlog + len(frame) > self.max_backlog:
            if not self._flush():
                self._drop_connection()
            if self._sock is None or self.backlog + len(frame) > self.max_backlog:
                return False
        self._frames.append((frame, events))
        self._backlog += len(frame)
        if not self._flush():
            self._drop_connection()
        return True

    def _flush(self) -> bool:
        """Send what the socket takes now; False if the connection broke (it is then dropped)."""
        try:
            while self._frames:
                frame = self._frames[0][0]
                self._sent += self._sock.send(memoryview(frame)[self._sent :])
                if self._sent < len(frame):
                    return True
                self._frames.popleft()
                self._backlog -= len(frame)
                self._sent = 0
        except BlockingIOError:
            pass
        except OSError:
            return False
        return True

    def waitable(self) -> Any:
        """The socket the dashboard's commands come through, or None while there is none."""
        return self._sock

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
        """Forget the connection; what was queued for it is lost (and counted)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self.lost += sum(events for _, events in self._frames)
        self._frames.clear()
        self._sent = self._backlog = 0

    def close(self, timeout: float = 5.0, note: str | None = None) -> str | None:
        """Send END (with `note`) and what is queued, waiting at most `timeout` seconds for the dashboard
        to take it; write what it could not send to the fallback recording. A line saying what was lost, if any."""
        if self._connect():
            self._frames.append((encode_frame(END, _end(self.lost, note)), self.lost))
            self.lost = 0  # said by END, or in the fallback
        deadline = _monotonic() + timeout
        while self._sock is not None and self._frames and _monotonic() < deadline:
            if not self._flush():
                break  # the dashboard is gone: what is queued goes to the fallback
            if self._frames:
                _wait_writable(self._sock, min(0.05, max(deadline - _monotonic(), 0)))
        unsent = list(self._frames)
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._frames.clear()
        events = self.lost + sum(n for _, n in unsent)  # events, and losses not reported
        where = self._write_fallback(unsent) if any(f[4] == EVENTS and n for f, n in unsent) else None
        if where:
            return f"the dashboard did not take {events} events in {timeout:g} s: they are in {where}"
        if events:
            return f"{events} events did not reach the dashboard at {self._where()}"
        return None

    def _write_fallback(self, unsent: list[tuple[bytes, int]]) -> str | None:
        """A recording of the unsent EVENTS frames (whole: the first was perhaps half sent), ending with an
        END that counts the losses not reported in them."""
        if not self.fallback:
            return None
        frames = [frame for frame, n in unsent if frame[4] == EVENTS and n]
        lost = self.lost + sum(n for frame, n in unsent if frame[4] == END)
        try:
            with open(self.fallback, "wb") as f:
                f.write(MAGIC + encode_frame(HELLO, self._hello))
                for frame in frames:
                    f.write(frame)
                f.write(encode_frame(END, {"dropped": lost}))
        except OSError:
            return None
        return self.fallback

    def _where(self) -> str:
        return self.address if isinstance(self.address, str) else f"{self.address[0]}:{self.address[1]}"


def _wait_writable(sock: Any, timeout: float) -> None:
    _select([], [sock], [], timeout)


class Agent:
    """Drains `recorder` into each of `sinks` every `interval` seconds, from its own OS thread, and obeys
    the commands its dashboard sends as they come. Not `paced` (an eventlet or gevent program: its
    hub is not greenscope's), the live control's commands are ignored."""

    def __init__(
        self,
        recorder: Recorder,
        sinks: list[Any],
        process: dict,
        interval: float = 0.05,
        heartbeat: float = 0.25,
        flush_timeout: float = 5.0,
        stall_ms: float = 20.0,
        paced: bool = True,
    ) -> None:
        self.recorder = recorder
        self.paced = paced  # the program's hub is greenscope's: the dashboard's live control paces it
        self.sinks = sinks
        self.process = process
        self.interval = interval
        self.heartbeat = heartbeat  # while nothing happens, the program's clock is sent this often
        self.flush_timeout = flush_timeout
        self.stall_ns = round(stall_ms * 1e6)  # 0: no stall monitor
        self.monitor: StallMonitor | None = None  # the stall monitor, while it watches
        self._program = _thread.get_ident()  # the thread whose hub it watches and paces: the program's
        self.pace: Pace | None = None  # the pace of the hub of the thread that starts the agent
        self.produced = 0  # events the recorder handed out (and counted as lost)
        self.traced = 0  # of those, the program's (not clocks, nor losses)
        self._last_sent = _monotonic()
        self._running = False
        self._done = _allocate_lock()  # held by the thread while it runs
        self._wake_r = self._wake_w = -1  # the thread's sleep, which stop() ends

    def start(self) -> Agent:
        process = self.process
        if self.paced:  # not an eventlet or gevent program's: its hub is not ours
            hub = get_hub()
            self.pace = Pace(hub)
            process = {**process, "poller": hub.poller.name}
        hello = {"schema": ev.describe(), "process": process}
        for sink in self.sinks:
            sink.hello(hello)
        self._running = True
        self._done.acquire()
        self._wake_r, self._wake_w = os.pipe()
        _start_thread(self._loop, ())
        self._watch_stalls(True)
        return self

    def _loop(self) -> None:
        try:
            due = _monotonic() + self.interval
            while self._running:
                self._sleep(due - _monotonic())
                obeyed = None  # the last pace command's number
                for sink in self.sinks:
                    for command in sink.poll_commands():
                        obeyed = self._obey(command) or obeyed
                if obeyed is not None and self.pace is not None:
                    self.pace.settled(obeyed, self.interval)  # what the hub did goes out at once
                if obeyed is not None or _monotonic() >= due:
                    self.ship()
                    due = _monotonic() + self.interval
        finally:
            self._done.release()

    def _sleep(self, timeout: float) -> None:
        """Until `timeout` seconds pass, a command arrives or stop() is called."""
        poll = _new_poll()
        poll.register(self._wake_r, _POLLIN)
        for sink in self.sinks:
            sock = sink.waitable()
            if sock is not None:
                poll.register(sock, _POLLIN)
        poll.poll(max(timeout, 0) * 1000)

    def ship(self) -> None:
        """Send what the recorder holds now; a sink that cannot take it counts it as lost, and
        says so (a ``dropped`` event) as soon as it can send again."""
        batch = self.recorder.take_batch(clock=True)  # ends with a `clock` event: how far the program got
        if len(batch.kinds) == 1 and _monotonic() - self._last_sent < self.heartbeat:
            return  # only the clock, and it was said not long ago
        self._last_sent = _monotonic()
        if ev.EXIT in batch.columns:  # an exception's message can be any size: a frame must not be
            errors = batch.columns[ev.EXIT][3]
            errors[:] = [e if e is None or len(e) <= _MAX_ERROR else e[:_MAX_ERROR] + "..." for e in errors]
        frames = encode_frames(batch)
        counts = _counts(batch, len(frames))
        self.produced += sum(counts)
        kinds = batch.kinds
        self.traced += len(kinds) - kinds.count(ev.CLOCK) - kinds.count(ev.DROPPED)
        first_ts = batch.column(batch.kinds[0], 0)[0]
        for sink in self.sinks:
            if sink.lost:
                marker = encode_frame(EVENTS, [(ev.DROPPED, first_ts, sink.lost)])
                if sink.send(marker, sink.lost):
                    sink.lost = 0
            for frame, count in zip(frames, counts, strict=True):
                if sink.lost or not sink.send(frame, count):
                    sink.lost += count

    def _obey(self, command: dict) -> int | None:
        """Do what the dashboard says: stop the program, or set its pace (then: the command's number,
        for `Pace.settled`). Anything else is ignored: the agent never executes what it is sent."""
        action = command.get("command")
        if action == "stop":
            os.kill(os.getpid(), signal.SIGTERM)
            return None
        try:
            order = command_of(action, command.get("speed"))
        except CommandError:
            return None
        if self.pace is None:
            return None
        self._watch_stalls(action == "resume")
        return self.pace.command(order)

    def _watch_stalls(self, on: bool) -> None:
        """Start or stop the stall monitor (if there is one)."""
        if not self.stall_ns or on == (self.monitor is not None):
            return
        if on:  # a monitor runs once: a fresh one each time
            self.monitor = StallMonitor(self.recorder, self.stall_ns, self._program).start()
        else:
            self.monitor.stop()  # type: ignore[union-attr]
            self.monitor = None

    def stop(self, explain: Callable[[int], str | None] | None = None) -> list[str]:
        """Stop the thread, ship the rest, write END, close the sinks; a line for each loss.
        END carries what `explain(the program's events)` says, if anything (why there were none)."""
        if not self._running:
            return []
        self._running = False
        os.write(self._wake_w, b"x")
        self._done.acquire()
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        self._watch_stalls(False)
        if self.pace is not None:
            self.pace.close()
        self.ship()
        said = None if explain is None else explain(self.traced)
        notes = []
        for sink in self.sinks:
            note = sink.close(self.flush_timeout, said)
            if note:
                notes.append(note)
        return notes


def _end(dropped: int, note: str | None) -> dict[str, Any]:
    """An END frame's payload: the events lost since the last report, and a note if there is one."""
    return {"dropped": dropped} if note is None else {"dropped": dropped, "note": note}


def _counts(batch: Batch, frames: int) -> list[int]:
    """The events each of `frames` frames of `batch` stands for (a ``dropped`` event stands for its count)."""
    n = len(batch.kinds)
    counts = [min(FRAME_EVENTS, n - i * FRAME_EVENTS) for i in range(frames)]
    if ev.DROPPED in batch.columns:
        dropped = batch.columns[ev.DROPPED][1]
        counts[-1] += sum(dropped) - len(dropped)  # the recorder's marker comes last
    return counts

"""The agent: ships the recorder's events out of the traced process, with an OS thread of its own.

Every `interval` seconds it takes what the recorder holds and sends it as EVENTS frames
(see `runtime.trace.codec`) to its sinks: a recording file, and/or the dashboard's agent
listener (``host:port`` or a unix-socket path, from ``$GREENSCOPE_CONNECT``), whose HELLO
carries the secret that dashboard gave out.

Who ships: while the program's hub keeps coming back from its poller, the program's own
thread does, in the hub, at the first wake-up (or timers firing) an interval after the last
shipping (`Recorder.call_at`): the time it takes is the hub's, and the recording shows it so.
The agent's thread waits without the GIL (`Recorder.wait_idle`) for a command, or for the
program to be a tenth of an interval late (it waits in its poller, never polls — greenthreads
only yielding to each other —, or one greenthread holds the hub): then it ships itself. Any
OS thread that takes the GIL from a busy program makes the program pay for the hand-over,
even a thread that only wakes to look: on the TCP echo benchmark an idle thread waking 5
times a second cost ~5 % of the program's time, the thread shipping every 50 ms ~8 %. Waking
costs even without the GIL (~2 % at 50 wakes a second): while the program keeps switching and
shipping, the thread is not woken at all (see `Recorder.wait_idle`). Where
the recorder's hooks are Python (or its clock not the default one), the thread ships every
interval. Shipping never blocks the program: the recorder's buffer is only appended to,
frames go to a file or a non-blocking socket, and a sink that would block (one reconnecting)
is left to the agent's thread.

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

import _thread
import os
import select
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import runtime
from runtime.hubs import get_hub
from runtime.hubs.control import CommandError, Pace, command_of
from runtime.trace import events as ev
from runtime.trace.codec import (
    EVENTS,
    FRAME_EVENTS,
    HELLO_FIELD,
    encode_frame,
    encode_frames,
)
from runtime.trace.events import Batch
from runtime.trace.recorder import Recorder
from runtime.trace.stalls import StallMonitor

__all__ = ["Agent", "process_info"]

_start_thread = _thread.start_new_thread
_allocate_lock = _thread.allocate_lock
_monotonic = time.monotonic
_new_poll = select.poll
_POLLIN = select.POLLIN
_read, _write = os.read, os.write  # the real ones: monkey-patching may make os's green (the thread has no hub)
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
        self._program_ships = False  # the program ships in its hub (`Recorder.call_at`)
        self._shipping = _allocate_lock()  # one shipping at a time
        self._interval_ns = round(interval * 1e9)
        self.slack_ns = max(self._interval_ns // 10, 1_000_000)  # how late the program may be before the thread ships
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
        os.set_blocking(self._wake_r, False)
        self._program_ships = self.recorder.wait_idle is not None
        if self._program_ships:
            self._ship_later()
        _start_thread(self._loop, ())
        self._watch_stalls(True)
        return self

    def _ship_later(self) -> None:
        """Have the program's thread ship an interval from now, in its hub (a wake-up or timers)."""
        rec = self.recorder
        rec.call_at(rec.clock() + self._interval_ns, self._ship_here)

    def _ship_here(self) -> None:
        """Ship from the program's thread (the recorder calls this inside a hook): never where a sink
        would block, nor while the agent's thread ships; then again an interval later."""
        if not self._running:
            return
        if self._shipping.acquire(False):
            try:
                if all(sink.ready() for sink in self.sinks):
                    self._ship()
            except Exception:  # nothing may reach the hook: the agent's thread ships, and shows what fails
                self._program_ships = False
                _write(self._wake_w, b"x")
                return
            finally:
                self._shipping.release()
        self._ship_later()

    def _loop(self) -> None:
        wait_idle = self.recorder.wait_idle
        try:
            due = _monotonic() + self.interval
            while self._running:
                recording = self.recorder.recording
                if self._program_ships and recording:  # without the GIL until a command, or the program is late
                    late = wait_idle(self._waitables(), 0, self.slack_ns) == 3  # type: ignore[misc]
                else:
                    self._sleep(due - _monotonic())
                    late = _monotonic() >= due
                try:
                    _read(self._wake_r, 64)
                except BlockingIOError:
                    pass
                obeyed = None  # the last pace command's number
                for sink in self.sinks:
                    for command in sink.poll_commands():
                        obeyed = self._obey(command) or obeyed
                if obeyed is not None and self.pace is not None:
                    self.pace.settled(obeyed, self.interval)  # what the hub did goes out at once
                if obeyed is not None or late:
                    self.ship()
                    due = _monotonic() + (self.interval if recording else self.heartbeat)  # (then: only the clock)
                    if late and self._program_ships:  # its turn again, from its hub's next wake-up
                        self._ship_later()
        finally:
            self._done.release()

    def _waitables(self) -> tuple:
        """What ends the thread's wait: stop(), and the sockets commands come through."""
        return (self._wake_r, *(sock for sink in self.sinks if (sock := sink.waitable()) is not None))

    def _sleep(self, timeout: float) -> None:
        """Until `timeout` seconds pass, a command arrives or stop() is called."""
        poll = _new_poll()
        for fd in self._waitables():
            poll.register(fd, _POLLIN)
        poll.poll(max(timeout, 0) * 1000)

    def ship(self) -> None:
        """Send what the recorder holds now; a sink that cannot take it counts it as lost, and
        says so (a ``dropped`` event) as soon as it can send again."""
        with self._shipping:
            self._ship()

    def _ship(self) -> None:
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
        self.recorder.call_at(None, None)
        _write(self._wake_w, b"x")
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


def _counts(batch: Batch, frames: int) -> list[int]:
    """The events each of `frames` frames of `batch` stands for (a ``dropped`` event stands for its count)."""
    n = len(batch.kinds)
    counts = [min(FRAME_EVENTS, n - i * FRAME_EVENTS) for i in range(frames)]
    if ev.DROPPED in batch.columns:
        dropped = batch.columns[ev.DROPPED][1]
        counts[-1] += sum(dropped) - len(dropped)  # the recorder's marker comes last
    return counts

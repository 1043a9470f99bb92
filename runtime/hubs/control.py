"""Live control of a hub's pace: pause, step, slow motion (what the dashboard sends through the agent).

    pace = Pace(get_hub())                 # in the hub's thread: costs nothing until a command comes
    seq = pace.command(command_of("step"))  # from any OS thread (the agent's)
    pace.settled(seq, 0.05)                # wait until the hub has obeyed

The hub obeys at switch boundaries only — between two greenthreads' turns, or before it waits on
its poller — so the program's semantics do not change, only its pace:

- ``pause``: the hub holds at its next boundary: no greenthread runs, no timer fires, no fd is
  polled (sockets keep buffering in the OS) until it is told otherwise;
- ``step``: one switch into a greenthread, then it holds again at its next boundary (steps sent
  faster than the hub takes them add up: one switch each);
- ``step_thread``: switches until the greenthread that runs next parks or ends;
- ``speed`` (slow motion, `MIN_SPEED` to 1 of real time): after each greenthread's turn the hub
  holds (1/speed - 1) times as long as the turn took, before reporting the turn's end, and its
  timers and poller waits take 1/speed as long;
- ``resume``: full speed; the hub no longer consults the pace.

Time: timers and timeouts run on the program's own time. From the first command on, the hub's
clock is a `ProgramClock` that stops while the hub is paused and runs at the slow-motion speed in
slow motion: a ``sleep(1)`` takes 10 s at 0.1x, a turn stretched to ten times its length still
lasts its own length on it, and no timeout expires because the program was paused — the program
sees the time it would have seen running alone. It never goes back to the wall clock (the
deadlines the program holds are on it); after ``resume`` it runs at the wall clock's rate, behind
it. A hub on a `TestClock` keeps it: virtual time is already the program's own, and slow motion
has nothing to stretch there.

Every command obeyed is reported through the ``controlled`` hook (the recorder's ``control``
event): ``paused``, ``stepped`` / ``stepped_thread`` (as the step's switch is made), ``speed``,
``resumed``. A stop (SIGTERM, the dashboard's stop) or an interrupt that reaches the main
greenthread while the hub holds ends the pause: the program unwinds at full speed.

This module works on the hub's internals (it is part of the kernel): the wake-up pipe, the calls
other threads hand the hub (`Hub._run_threadsafe`), the main greenthread's waiter.
"""

from __future__ import annotations

import math
import os
import select
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from runtime.hubs.hub import Hub
from runtime.hubs.poller import Poller
from runtime.hubs.waiter import DONE, PARKED, Waiter
from runtime.instrument import hooks

__all__ = ["ACTIONS", "COMMANDS", "MIN_SPEED", "CommandError", "Pace", "ProgramClock", "command_of"]

#: the commands a pace takes, and what the ``control`` event says once the hub has obeyed each
COMMANDS = ("pause", "step", "step_thread", "speed", "resume")
ACTIONS = {"pause": "paused", "step": "stepped", "step_thread": "stepped_thread", "speed": "speed", "resume": "resumed"}
MIN_SPEED = 0.01  # the slowest slow motion: 1/100 of real time

_perf = time.perf_counter
_new_poll = select.poll  # the stdlib's, even once monkey-patched (only select.select turns green)
_POLLIN = select.POLLIN


class CommandError(ValueError):
    """A command that is not one (`field` names what is wrong: ``action`` or ``speed``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def command_of(action: Any, speed: Any = None) -> dict[str, Any]:
    """The COMMAND payload for `action` (one of `COMMANDS`), with `speed` for ``speed`` only (a number
    from `MIN_SPEED` to 1); `CommandError` naming the field otherwise."""
    if action not in COMMANDS:
        raise CommandError("action", f"action must be one of {', '.join(COMMANDS)}")
    if action != "speed":
        if speed is not None:
            raise CommandError("speed", f"speed goes with the action speed only, not {action}")
        return {"command": action}
    if type(speed) not in (int, float) or not MIN_SPEED <= speed <= 1:
        raise CommandError("speed", f"speed must be a number from {MIN_SPEED} to 1 (of real time)")
    return {"command": "speed", "speed": float(speed)}


class ProgramClock:
    """The program's own time: `real` time (seconds) running at `rate`: 1, the slow-motion speed, or
    0 while the hub is paused."""

    __slots__ = ("_p0", "_r0", "rate", "real")

    def __init__(self, real: Callable[[], float]) -> None:
        self.real = real
        self._p0 = self._r0 = real()
        self.rate = 1.0

    def __call__(self) -> float:
        return self._p0 + (self.real() - self._r0) * self.rate

    def set_rate(self, rate: float) -> None:
        now = self.real()
        self._p0 += (now - self._r0) * self.rate
        self._r0 = now
        self.rate = rate


class _PacedPoller:
    """The hub's poller while it is paced: its waits go through the pace (held, or stretched)."""

    def __init__(self, inner: Poller, pace: Pace) -> None:
        self.inner = inner
        self.pace = pace
        self.name = inner.name

    def register(self, fd: int, mask: int) -> None:
        self.inner.register(fd, mask)

    def modify(self, fd: int, mask: int) -> None:
        self.inner.modify(fd, mask)

    def unregister(self, fd: int) -> None:
        self.inner.unregister(fd)

    def wait(self, timeout: float | None) -> list[tuple[int, int]]:
        return self.pace.poll(self.inner, timeout)

    def close(self) -> None:
        self.inner.close()


class Pace:
    """The pace of one hub: made in the hub's thread, commanded from any (see the module)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.virtual = hub._virtual_clock is not None
        self.clock: ProgramClock | None = None  # the hub's clock once it is paced (a real one)
        self.attached = False  # the hub consults this pace (hub.pace is this)
        self.closed = False
        self.speed = 1.0
        self.paused = False
        self.budget = 0  # switches a step still lets through
        self.follow = False  # the step's greenthread is followed until it parks (step_thread)
        self.followed: Any = None  # the greenthread followed
        self._turn: Any = None  # the greenthread whose turn the hub began last, and when (perf_counter)
        self._turn_start = 0.0
        self._inner: Poller | None = None
        self._commands: deque[tuple[int, dict]] = deque()
        self._seq = 0  # commands received (any thread)
        self._applied = 0  # ...taken by the hub
        self._obeyed = 0  # ...obeyed: it holds, or runs at its new pace
        hub._open_wakeup()  # other threads reach the hub through it; the hold listens to it
        self._waker = _new_poll()
        self._waker.register(hub._wakeup_r, _POLLIN)
        self._settle_r, self._settle_w = os.pipe()
        os.set_blocking(self._settle_r, False)
        os.set_blocking(self._settle_w, False)
        self._settler = _new_poll()
        self._settler.register(self._settle_r, _POLLIN)

    # ------------------------------------------------------------------ any OS thread

    def command(self, command: dict[str, Any]) -> int:
        """Hand the hub `command` (from `command_of`); its number, for `settled`."""
        self._seq += 1  # one commanding thread (the agent's)
        seq = self._seq
        if not self.closed and not self.hub.closed:
            self._commands.append((seq, command))
            self.hub.call_threadsafe(self._apply)
        return seq

    def settled(self, seq: int, timeout: float) -> bool:
        """Wait at most `timeout` seconds until the hub has obeyed command `seq`: it holds (paused, or
        after the step), or runs at its new pace. False if it has not yet."""
        deadline = _perf() + timeout
        while self._obeyed < seq:
            left = deadline - _perf()
            if left <= 0 or self.closed or self.hub.closed:
                return False
            if self._settler.poll(math.ceil(left * 1000)):
                try:
                    os.read(self._settle_r, 4096)
                except BlockingIOError:
                    pass
        return True

    def close(self) -> None:
        """Stop pacing for good (in the hub's thread, or once it has stopped), and release the pipe."""
        self.closed = True
        self._commands.clear()
        if self.attached:
            self._detach()
        for fd in (self._settle_r, self._settle_w):
            os.close(fd)

    # ------------------------------------------------------------------ the hub's thread: its doors

    def gate(self, back: Any, w: Waiter) -> Any:
        """The hub is about to switch into `w`'s greenthread (step 3 of its loop); `back` gave it control
        back. Stretch that turn, hold if paused; return the hub's `back` afterwards."""
        if not self.attached:  # resumed earlier in this pass
            return back
        if self._commands:
            self._apply()
        hub = self.hub
        if back is not hub.greenlet:
            self.ended(back)
        if self._holds():
            hub._report_back(back)  # the turn that ended is reported now: nothing runs while it holds
            back = hub.greenlet
            self._hold()
            if not self.attached:
                return back
        glet = w.glet
        if self.budget and self.followed is None:  # the switches of a step_thread's course are its own
            self.budget -= 1
            if self.follow:
                self.follow, self.followed = False, glet
            self._emit(ACTIONS["step_thread"] if self.followed is glet else ACTIONS["step"], None)
        self._turn, self._turn_start = glet, _perf()
        return back

    def ended(self, glet: Any) -> None:
        """`glet` gave the hub control back, its turn not reported yet: a step_thread that follows it
        ends if it parked or ended; in slow motion, the turn is stretched."""
        if glet is not self._turn:
            return
        self._turn = None
        if self.followed is glet and (glet.dead or glet._gs_waiter.state == PARKED):
            self.followed = None
        if not self.paused and self.speed < 1 and not self.virtual:
            self._hold(_perf() + (_perf() - self._turn_start) * (1 / self.speed - 1))

    def poll(self, inner: Poller, timeout: float | None) -> list[tuple[int, int]]:
        """The hub waits on its poller (`inner`) for `timeout` seconds of its clock: held while paused
        (nothing polled: it then looks at its timers again), stretched in slow motion."""
        if self._commands:
            self._apply()
        if self._holds():
            self._hold()
            return []
        rate = self._running_rate()  # the clock's: a step runs at full speed
        if rate == 1 or not timeout or self.virtual:
            return inner.wait(timeout)
        return inner.wait(timeout / rate)

    # ------------------------------------------------------------------ the hub's thread: the pace itself

    def _apply(self) -> None:
        """Take the commands handed in (a call from another thread, or at a boundary)."""
        while self._commands and not self.closed:
            seq, command = self._commands.popleft()
            self._applied = seq
            action = command["command"]
            if not self.attached:
                self._attach()
            if action in ("step", "step_thread"):  # steps add up: one switch each
                self.paused, self.budget = True, self.budget + 1
                self.follow = self.follow or action == "step_thread"
                self._rate(1.0)  # on its way to the step's switch: full speed
                continue
            self.budget, self.follow, self.followed = 0, False, None
            if action == "pause":
                self.paused = True
                self._rate(0.0)
                self._emit(ACTIONS[action], None)  # it holds at its next boundary
            else:  # speed, resume: it runs at once
                self.paused, self.speed = False, command.get("speed", 1.0)
                self._rate(self.speed)
                self._emit(ACTIONS[action], self.speed)
                if action == "resume":
                    self._detach()
                self._settle()

    def _holds(self) -> bool:
        """Whether the hub must hold at this boundary."""
        followed = self.followed
        if followed is not None:
            if not followed.dead:
                return False
            self.followed = None
        return self.paused and not self.budget

    def _hold(self, until: float | None = None) -> None:
        """Hold the hub: while paused (its clock stopped), or until `until` (perf_counter: a stretch, the
        clock at the slow-motion speed). It takes commands and the calls other threads hand it meanwhile,
        and lets go for good if the main greenthread is handed a stop (SIGTERM) or an interrupt."""
        hub = self.hub
        try:
            while True:
                if self._commands:
                    self._apply()
                if self.attached and self._exiting():
                    self._apply_now("resume")
                if not self.attached:
                    break
                if self._holds():
                    self._rate(0.0)
                    self._settle()
                    wait = -1  # until something comes
                elif until is not None and not self.paused and (left := until - _perf()) > 0:
                    wait = math.ceil(left * 1000)
                else:
                    break
                if self._waker.poll(wait):
                    hub._run_threadsafe()  # commands, a stop, work from other threads: it makes greenthreads ready
        except BaseException:  # an interrupt raised here (Ctrl-C): the program unwinds at full speed
            if self.attached:
                self._apply_now("resume")
            raise
        finally:
            self._rate(self._running_rate())

    def _running_rate(self) -> float:
        """The clock's rate while the hub runs: full speed for a step, else the pace's."""
        return 1.0 if self.paused or not self.attached else self.speed

    def _apply_now(self, action: str) -> None:
        self._commands.appendleft((self._applied, command_of(action)))
        self._apply()

    def _exiting(self) -> bool:
        """Whether the main greenthread is about to be handed a stop (SystemExit) or an interrupt."""
        w = getattr(self.hub._root, "_gs_waiter", None)
        if w is None or w.state == DONE:
            return False
        exc = w.exc if w.exc is not None else w.pending
        return exc is not None and not isinstance(exc, Exception)

    def _settle(self) -> None:
        """The hub has obeyed what it was told so far: tell `settled`."""
        if self._obeyed != self._applied:
            self._obeyed = self._applied
            try:
                os.write(self._settle_w, b"x")
            except BlockingIOError:  # full: whoever waits is woken anyway
                pass

    def _attach(self) -> None:
        hub = self.hub
        self.attached = True
        hub.pace = self
        self._inner = hub.poller
        hub.poller = _PacedPoller(hub.poller, self)  # type: ignore[assignment]
        if self.clock is None and not self.virtual:
            self.clock = ProgramClock(hub.clock)
            hub.clock = self.clock

    def _detach(self) -> None:
        hub = self.hub
        self.attached = False
        hub.pace = None
        if self._inner is not None:
            hub.poller = self._inner
            self._inner = None

    def _rate(self, rate: float) -> None:
        if self.clock is not None:
            self.clock.set_rate(rate)

    @staticmethod
    def _emit(action: str, speed: float | None) -> None:
        h = hooks.controlled
        if h is not None:
            h(action, speed)

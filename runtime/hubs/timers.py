"""A hub's timers: `Timer`, a callback due at a deadline on the hub's clock, and the hub's timer doors
(`TimerDoors`: set one, eventlet's names for it, fire the due ones). The hub keeps them in a heap."""

from __future__ import annotations

import functools
import heapq
import itertools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import greenlet

from runtime.instrument import hooks

if TYPE_CHECKING:
    from runtime.hubs.hub import Hub
    from runtime.hubs.timeouts import Slots

__all__ = ["Timer", "TimerDoors"]


class Timer:
    """A callback due at `deadline` on the hub's clock; `cancel()` withdraws it."""

    __slots__ = ("active", "args", "callback", "deadline", "hub")
    counts = True  # a timer fired of itself, for the ``timers_fired`` hook (`runtime.hubs.timeouts.OldestWait` is not)

    def __init__(self, hub: Hub, deadline: float, callback: Callable[..., Any], args: tuple) -> None:
        self.hub = hub
        self.deadline = deadline
        self.callback = callback
        self.args = args
        self.active = True

    @property
    def pending(self) -> bool:
        return self.active

    def cancel(self) -> None:
        if self.active:
            self.active = False
            self.hub._timer_cancelled()

    def __repr__(self) -> str:
        return f"<Timer at {self.deadline:.6f} {getattr(self.callback, '__qualname__', self.callback)}>"


def _call_if_alive(glet: Any, call: Callable[[], Any]) -> None:
    if not glet.dead:
        call()


class TimerDoors:
    """The `Hub`'s timer doors (a part of the hub: `Hub` sets the state they use)."""

    clock: Callable[[], float]
    _timers: list[tuple[float, int, Timer]]
    _cancelled: int
    _late: int
    _fired: int  # while the hub fires its due timers: how many fired, the latest's lateness
    _latest: int
    _timeouts: Slots
    _seq: itertools.count
    report_error: Any

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """Call ``callback(*args)`` from the hub in `delay` seconds (or at once if <= 0)."""
        return self.call_at(self.clock() + delay, callback, *args)

    def call_at(self, deadline: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """Call ``callback(*args)`` from the hub when the clock reaches `deadline`.

        Timers with equal deadlines fire in the order they were set.
        """
        return self.add_timer(Timer(self, deadline, callback, args))

    def add_timer(self, t: Timer) -> Timer:
        """Set `t` (made for this hub, not set yet); return it."""
        heapq.heappush(self._timers, (t.deadline, next(self._seq), t))
        return t

    def schedule_call_global(self, seconds: float, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> Timer:
        """eventlet's name for `call_later` (keyword arguments too). The callback runs in
        the hub: it must not block, nor switch into a greenthread (make it ready instead)."""
        return self.call_later(seconds, functools.partial(callback, *args, **kwargs))

    def schedule_call_local(self, seconds: float, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> Timer:
        """Like `schedule_call_global`, but the call is skipped if the greenthread that
        scheduled it has ended by then."""
        return self.call_later(
            seconds, _call_if_alive, greenlet.getcurrent(), functools.partial(callback, *args, **kwargs)
        )

    def pending_timers(self) -> int:
        """How many timers are set and not yet fired or cancelled (a timed wait's timeout is one)."""
        timeouts = self._timeouts
        return len(self._timers) - self._cancelled - timeouts.armed() + timeouts.waiting()

    def _timer_cancelled(self) -> None:
        self._cancelled += 1
        # Cancelled timers stay in the heap (O(1) cancel) until they would fire; when
        # they are most of it, rebuild it so a loop of cancelled timeouts cannot grow it.
        if self._cancelled > 256 and self._cancelled * 2 > len(self._timers):
            self._timers = [e for e in self._timers if e[2].active]
            heapq.heapify(self._timers)
            self._cancelled = 0

    def count_fired(self, late: int) -> None:
        """A timer fired `late` ns after its deadline (while the hub fires its due timers)."""
        self._fired += 1
        if late > self._latest:
            self._latest = late

    def _fire_timers(self) -> None:
        timers = self._timers
        now = self.clock()
        self._fired = self._latest = 0
        while timers and timers[0][0] <= now:
            deadline, _, t = heapq.heappop(timers)
            if not t.active:
                self._cancelled -= 1
                continue
            t.active = False
            self._late = late = round((now - deadline) * 1e9)  # what a sleep it ends reports (_expire)
            if t.counts:
                self.count_fired(late)
            try:
                t.callback(*t.args)
            except Exception:
                self.report_error(f"timer callback {t.callback!r}", sys.exc_info()[1])
            timers = self._timers  # a callback may have compacted the heap
        self._late = 0
        if self._fired:
            h = hooks.timers_fired
            if h is not None:
                h(self._fired, self._latest)

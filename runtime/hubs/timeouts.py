"""Timed waits that share one timeout: a FIFO each, and one hub timer for the oldest.

A wait with a timeout rarely times out: a socket's 60 s timeout in the WSGI server guards every
read of every request. Waits with the same timeout end by their deadlines in the order they began
(the deadlines only grow), so they need no heap: `Timeouts` keeps them in a FIFO, and the hub's
heap holds one timer for its oldest wait. A wait is an append and a count; when it ends, a count
(the entry leaves lazily: from the front as new waits come, or all at once when ended ones
outnumber the waiting). A heap timer set and cancelled per wait cost the WSGI benchmark ~12,700
instructions a request (callgrind: 151k with, 138k without).

The hub keeps a few of these (`Slots`), one per timeout value in use; a value beyond them, or a
sleep (whose equal deadlines must fire in the order they were set, as the heap's do), gets a
timer of its own.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from runtime.hubs.timers import Timer

if TYPE_CHECKING:
    from runtime.hubs.hub import Hub
    from runtime.hubs.waiter import Waiter

__all__ = ["OldestWait", "Slots", "Timeouts"]

SLOTS = 16
"""Timeout values with a FIFO of their own, at most (per hub)."""


class OldestWait(Timer):
    """The hub's timer for the oldest wait of a `Timeouts`. Not a timer fired of itself: the waits
    it times out are (`Timeouts.expire` counts them)."""

    __slots__ = ()
    counts = False


class Timeouts:
    """The waits of one hub that time out after `seconds`, in the order they began."""

    __slots__ = ("hub", "seconds", "timer", "waiting", "waits")

    def __init__(self, hub: Hub, seconds: float) -> None:
        self.hub = hub
        self.seconds = seconds
        self.waits: deque[tuple[float, Waiter]] = deque()  # (deadline, waiter): ended ones too, until they go
        self.waiting = 0  # those not ended: their waiter's `timer` is this FIFO
        self.timer: OldestWait | None = None  # set while any waits

    def add(self, w: Waiter) -> None:
        """`w` (parking now) times out `seconds` from now unless its wait ends first."""
        waits = self.waits
        while waits and waits[0][1].timer is not self:  # ended at the front: gone (waits end mostly in order)
            waits.popleft()
        if len(waits) > 2 * self.waiting + 32:  # one long wait at the front holds ended ones behind it
            self.waits = waits = deque(e for e in waits if e[1].timer is self)
        hub = self.hub
        waits.append((hub.clock() + self.seconds, w))
        w.timer = self
        self.waiting += 1
        if self.timer is None:
            self.timer = hub.add_timer(OldestWait(hub, waits[0][0], self.expire, ()))

    def cancel(self) -> None:
        """One of its waits ended (the hub took this FIFO off its waiter first)."""
        self.waiting -= 1
        if not self.waiting:
            self.waits.clear()
            timer = self.timer
            self.timer = None
            if timer is not None:
                timer.cancel()

    def expire(self) -> None:
        """The timer for the oldest wait fired: time out every wait past its deadline (each counted
        as a timer fired, with its own lateness), then set the timer for the next."""
        self.timer = None
        hub = self.hub
        waits = self.waits
        now = hub.clock()
        while waits and waits[0][0] <= now:
            deadline, w = waits.popleft()
            if w.timer is self:
                self.waiting -= 1
                hub.time_out(w, round((now - deadline) * 1e9))
        while waits and waits[0][1].timer is not self:
            waits.popleft()
        if waits:
            self.timer = hub.add_timer(OldestWait(hub, waits[0][0], self.expire, ()))


class Slots:
    """A hub's `Timeouts`, one per timeout value, at most `SLOTS`."""

    __slots__ = ("by_seconds", "hub")

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.by_seconds: dict[float, Timeouts] = {}

    def get(self, seconds: Any) -> Timeouts | None:
        """The FIFO for `seconds` (made if a slot is free, or one whose waits all ended); None if none is."""
        found = self.by_seconds.get(seconds)
        if found is not None:
            return found
        by_seconds = self.by_seconds
        if len(by_seconds) >= SLOTS:  # a value no FIFO has: take the slot of one nobody waits on, if any
            idle = next((key for key, t in by_seconds.items() if not t.waiting), None)
            if idle is None:
                return None
            del by_seconds[idle]
        found = by_seconds[seconds] = Timeouts(self.hub, seconds)
        return found

    def waiting(self) -> int:
        """Waits that have not ended, in all its FIFOs."""
        return sum(t.waiting for t in self.by_seconds.values())

    def armed(self) -> int:
        """FIFOs with a timer in the hub's heap (each stands for its waits there)."""
        return sum(1 for t in self.by_seconds.values() if t.timer is not None)

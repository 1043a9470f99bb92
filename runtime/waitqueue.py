"""WaitQueue: the one wait primitive under Event, Semaphore, join, pools and queues.

Greenthreads park on it in FIFO order and are unparked one at a time or all at once,
each wake with its cause. Everything that waits goes through `Hub.park`, so every wait
is seen by the instrument hooks with its reason, its object and its waker.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from runtime.hubs import _local, get_hub
from runtime.hubs.waiter import TIMED_OUT, Waiter

__all__ = ["TIMED_OUT", "WaitQueue"]


class WaitQueue:
    """A FIFO of parked greenthreads; a `WaitContainer` for `Hub.park`.

    `waiting` is how many greenthreads wait (an attribute: the hot paths test it).
    A waiter that leaves early (timeout, kill) is only marked; it is skipped when it
    reaches the front, and the deque is rebuilt when such leftovers outnumber the
    live waiters, so polling with timeouts cannot grow it.
    """

    __slots__ = ("_waiters", "waiting")

    def __init__(self) -> None:
        self._waiters: deque[Waiter] = deque()
        self.waiting = 0

    def __repr__(self) -> str:
        return f"<WaitQueue waiting={self.waiting}>"

    def park(self, reason: str, obj: Any, timeout: float | None = None, data: Any = None) -> Any:
        """Park the current greenthread here; return what it was unparked with, or TIMED_OUT.

        `data` rides on the waiter, for whoever unparks it (`unpark_one` returns the waiter).
        """
        try:
            hub = _local.hub  # get_hub() without the call: every wait and its wake come through here
        except AttributeError:
            hub = get_hub()
        return hub.park(self, reason, obj, timeout, None, data)

    def unpark_one(self, value: Any = None, cause: str = "send") -> Waiter | None:
        """Wake the longest-waiting greenthread with `value`; return its waiter (None if none waits)."""
        waiters = self._waiters
        while waiters:
            w = waiters.popleft()
            if w.container is self:
                # popped already: leave the queue here, so the hub's wake has nothing to withdraw
                w.container = None
                self.waiting -= 1
                try:
                    hub = _local.hub  # (as in park)
                except AttributeError:
                    hub = get_hub()
                hub.wake(w, value, cause)
                return w
        return None

    def unpark_all(self, value: Any = None, cause: str = "send", exc: BaseException | None = None) -> int:
        """Wake every waiting greenthread with `value` (or to raise `exc`); return how many."""
        waiters = self._waiters
        self._waiters = deque()
        n = 0
        if waiters:
            hub = get_hub()
            for w in waiters:
                if w.container is self:
                    hub.wake(w, value, cause, exc)
                    n += 1
        return n

    # the WaitContainer side, called by the hub
    def add(self, waiter: Waiter) -> None:
        self._waiters.append(waiter)
        self.waiting += 1

    def discard(self, waiter: Waiter) -> None:
        self.waiting -= 1
        if len(self._waiters) > 2 * self.waiting + 32:
            self._waiters = deque(x for x in self._waiters if x.container is self)

"""Semaphore, BoundedSemaphore, CappedSemaphore: counters that greenthreads wait on, in FIFO order.

A release hands its permit straight to the longest waiter, so a newcomer cannot take it
first. A waiter killed after it was handed the permit holds it (the kill is raised at its
next blocking call), so ``with sem:`` gives it back.
"""

from __future__ import annotations

from typing import Any

from runtime.hubs.waiter import TIMED_OUT
from runtime.instrument import Cause, Reason, hooks
from runtime.site import creation_site
from runtime.waitqueue import WaitQueue

__all__ = ["BoundedSemaphore", "CappedSemaphore", "Semaphore"]


def whole_number(value: Any, what: str) -> int:
    """`value` as an int: an int, or a float with a whole value (``1e3``); else TypeError
    or ValueError that says why not."""
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {type(value).__name__} {value!r}")
    return value


def check_count(value: Any, what: str) -> int:
    """`value` as a count (a whole number >= 0), or TypeError / ValueError that says why not."""
    value = whole_number(value, what)
    if value < 0:
        raise ValueError(f"{what} must be >= 0, got {value}")
    return value


def _check_timeout(blocking: bool, timeout: float) -> float | None:
    if timeout == -1:
        return None
    if not blocking:
        raise ValueError("a timeout makes no sense with blocking=False")
    if timeout < 0:
        raise ValueError(f"timeout must be >= 0, -1 or None, got {timeout!r}")
    return timeout


class Semaphore:
    """`acquire` takes a permit (waiting while there is none), `release` gives one back."""

    resource_kind = "semaphore"

    def __init__(self, value: int = 1, name: str | None = None) -> None:
        self.counter = check_count(value, "Semaphore value")
        self.name = name or creation_site()
        self._waiters = WaitQueue()
        h = hooks.resource_created
        if h is not None:
            h(self)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.name!r} at {id(self):#x}"
            f" counter={self.counter} waiters={self._waiters.waiting}>"
        )

    @property
    def balance(self) -> int:
        """Permits available minus greenthreads waiting."""
        return self.counter - self._waiters.waiting

    def locked(self) -> bool:
        """True if an acquire would wait."""
        return self.counter <= 0

    def bounded(self) -> bool:
        """True if a release would wait: never (for eventlet's sake: see CappedSemaphore)."""
        return False

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take a permit; True once taken, False if not `blocking` or `timeout` expired.

        A `timeout` of -1 is None (no limit), as for `threading.Semaphore`.
        """
        if timeout is not None:
            timeout = _check_timeout(blocking, timeout)
        if self.counter > 0:
            self.counter -= 1
            return True
        if not blocking:
            return False
        # the releaser hands its permit over: the counter was never incremented for us
        return self._waiters.park(Reason.SEMAPHORE, self, timeout) is not TIMED_OUT

    def release(self, blocking: bool = True) -> bool:
        """Give a permit back: to the longest waiter if any, else to the counter."""
        if not self._waiters.unpark_one(None, Cause.RELEASE):
            self.counter += 1
        return True

    __enter__ = acquire

    def __exit__(self, *exc_info: Any) -> None:
        self.release()


class BoundedSemaphore(Semaphore):
    """A Semaphore that raises ValueError when released more often than acquired."""

    def __init__(self, value: int = 1, name: str | None = None) -> None:
        super().__init__(value, name)
        self.original_counter = self.counter

    def release(self, blocking: bool = True) -> bool:
        if self.counter >= self.original_counter:
            raise ValueError(f"{self!r} released too many times")
        return super().release(blocking)


class CappedSemaphore:
    """A semaphore whose counter stays within [0, `limit`]: `acquire` waits while it is 0,
    `release` while it is at `limit`.

    A waiting acquirer and a waiting releaser meet: a release hands its permit straight
    to the longest-waiting acquirer, an acquire takes it from the longest-waiting
    releaser, so even ``CappedSemaphore(0, 0)`` passes permits from hand to hand.
    """

    resource_kind = "semaphore"

    def __init__(self, count: int, limit: int, name: str | None = None) -> None:
        self.counter = check_count(count, "CappedSemaphore count")
        self.limit = check_count(limit, "CappedSemaphore limit")
        if self.counter > self.limit:
            raise ValueError(f"CappedSemaphore count ({count}) must be <= limit ({limit})")
        self.name = name or creation_site()
        self._acquirers = WaitQueue()
        self._releasers = WaitQueue()
        h = hooks.resource_created
        if h is not None:
            h(self)

    def __repr__(self) -> str:
        return (
            f"<CappedSemaphore {self.name!r} at {id(self):#x} counter={self.counter} limit={self.limit}"
            f" acquirers={self._acquirers.waiting} releasers={self._releasers.waiting}>"
        )

    @property
    def balance(self) -> int:
        """eventlet's figure: ``2 * (counter - waiting acquirers + waiting releasers) - limit``
        (the balance of its permits minus the balance of its room below the limit)."""
        return 2 * (self.counter - self._acquirers.waiting + self._releasers.waiting) - self.limit

    def locked(self) -> bool:
        """True if an acquire would wait."""
        return self.counter <= 0 and not self._releasers.waiting

    def bounded(self) -> bool:
        """True if a release would wait."""
        return self.counter >= self.limit and not self._acquirers.waiting

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take a permit (waiting while there is none); False if not `blocking` or timed out."""
        if timeout is not None:
            timeout = _check_timeout(blocking, timeout)
        if self._releasers.waiting:  # the counter is at the limit: take a releaser's permit
            self._releasers.unpark_one(None, Cause.GET)
        elif self.counter > 0:
            self.counter -= 1
        elif not blocking:
            return False
        else:
            return self._acquirers.park(Reason.SEMAPHORE, self, timeout) is not TIMED_OUT
        return True

    def release(self, blocking: bool = True) -> bool:
        """Give a permit back, waiting while the counter is at `limit`; False if not `blocking`."""
        if self._acquirers.waiting:  # the counter is 0: hand the permit over
            self._acquirers.unpark_one(None, Cause.RELEASE)
        elif self.counter < self.limit:
            self.counter += 1
        elif not blocking:
            return False
        else:
            self._releasers.park(Reason.SEMAPHORE, self)
        return True

    __enter__ = acquire

    def __exit__(self, *exc_info: Any) -> None:
        self.release()

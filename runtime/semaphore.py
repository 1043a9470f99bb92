"""Semaphore, BoundedSemaphore, CappedSemaphore: counters that greenthreads wait on, in FIFO order.

A release hands its permit straight to the longest waiter, so a newcomer cannot take it
first. A waiter killed after it was handed the permit holds it (the kill is raised at its
next blocking call), so ``with sem:`` gives it back.
"""

from __future__ import annotations

from typing import Any

from runtime.hubs.hub import TIMED_OUT
from runtime.instrument import Cause, Reason, hooks
from runtime.site import creation_site
from runtime.waitqueue import WaitQueue

__all__ = ["BoundedSemaphore", "CappedSemaphore", "Semaphore"]


def check_count(value: Any, what: str) -> int:
    """`value` as a count (an int >= 0), or TypeError / ValueError that says why not."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"{what} must be >= 0, got {value}")
    return value


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
        return False

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take a permit; True once taken, False if not `blocking` or `timeout` expired."""
        if not blocking and timeout is not None:
            raise ValueError("a timeout makes no sense with blocking=False")
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
        self.original_counter = value

    def bounded(self) -> bool:
        return True

    def release(self, blocking: bool = True) -> bool:
        if self.counter >= self.original_counter:
            raise ValueError(f"{self!r} released too many times")
        return super().release(blocking)


class CappedSemaphore:
    """A semaphore whose counter stays within [0, limit]: `release` waits while it is at `limit`."""

    resource_kind = "semaphore"

    def __init__(self, count: int, limit: int, name: str | None = None) -> None:
        check_count(count, "CappedSemaphore count")
        check_count(limit, "CappedSemaphore limit")
        if count > limit:
            raise ValueError(f"CappedSemaphore count ({count}) must be <= limit ({limit})")
        self.name = name or creation_site()
        self.limit = limit
        # `_lower` holds the permits; `_upper` the room left below the limit
        self._lower = Semaphore(count, f"{self.name} (permits)")
        self._upper = Semaphore(limit - count, f"{self.name} (room)")
        h = hooks.resource_created
        if h is not None:
            h(self)

    def __repr__(self) -> str:
        return f"<CappedSemaphore {self.name!r} at {id(self):#x} counter={self.counter} limit={self.limit}>"

    @property
    def counter(self) -> int:
        return self._lower.counter

    @property
    def balance(self) -> int:
        """The counter, minus waiting acquirers, plus waiting releasers."""
        return self._lower.balance + self._upper._waiters.waiting

    def locked(self) -> bool:
        return self._lower.locked()

    def bounded(self) -> bool:
        return True

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take a permit (waiting while there is none); False if not `blocking` or timed out."""
        if not self._lower.acquire(blocking, timeout):
            return False
        self._upper.release()
        return True

    def release(self, blocking: bool = True) -> bool:
        """Give a permit back, waiting while the counter is at `limit`; False if not `blocking`."""
        if not self._upper.acquire(blocking):
            return False
        self._lower.release()
        return True

    __enter__ = acquire

    def __exit__(self, *exc_info: Any) -> None:
        self.release()

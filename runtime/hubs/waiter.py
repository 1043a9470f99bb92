"""What a parked greenthread is to the hub: its `Waiter`, the `WaitContainer` protocol it sits
in, and what a park can end with (`TIMED_OUT`, `Deadlock`, `IOClosed`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from runtime.hubs.timeouts import Timeouts
    from runtime.hubs.timers import Timer

__all__ = [
    "DONE",
    "PARKED",
    "SCHEDULED",
    "TIMED_OUT",
    "Deadlock",
    "IOClosed",
    "WaitContainer",
    "Waiter",
    "cancel_pending",
]

# Waiter states. A waiter is PARKED (in a queue, on an fd or a timer), SCHEDULED (in the
# ready queue) or DONE (resumed, or abandoned).
PARKED, SCHEDULED, DONE = 0, 1, 2


class _TimedOut:
    __slots__ = ()

    def __repr__(self) -> str:
        return "TIMED_OUT"


#: What `Hub.park` returns when its timeout expired first.
TIMED_OUT: Any = _TimedOut()


class Deadlock(RuntimeError):
    """The main greenthread waits for something that nothing can ever deliver."""


class IOClosed(OSError):
    """The fd a greenthread was waiting on was closed under it."""


class Waiter:
    """One park of one greenthread: where it waits, and what it resumes with."""

    __slots__ = ("container", "data", "exc", "glet", "obj", "pending", "reason", "state", "timer", "value")

    def __init__(self, glet: Any, state: int, value: Any = None) -> None:
        self.glet = glet
        self.state = state
        self.value = value
        self.exc: BaseException | None = None
        self.container: WaitContainer | None = None  # where it waits, while PARKED
        self.timer: Timer | Timeouts | None = None  # what times its wait out (either has cancel())
        self.reason: str | None = None
        self.obj: Any = None
        self.data: Any = None  # what the parked greenthread brings (a putter's item)
        self.pending: BaseException | None = None  # an interrupt that came after the wake

    def __repr__(self) -> str:
        state = ("parked", "scheduled", "done")[self.state]
        return f"<Waiter {state} {self.reason} on {self.obj!r} for {self.glet!r}>"


class WaitContainer(Protocol):
    """Where a parked greenthread's `Waiter` is kept: what `Hub.park` is given.

    The hub calls `add` when the greenthread parks and `discard` when it leaves, however
    it leaves (woken by the container's owner, timed out, killed, its fd closed). While
    it is parked, ``waiter.container`` is the container; after `discard`, None. An owner
    that takes the waiter out itself before waking it sets ``waiter.container`` to None
    first: then the hub has nothing to withdraw, and does not call `discard`.
    """

    def add(self, waiter: Waiter) -> None:
        """`waiter` parks here."""

    def discard(self, waiter: Waiter) -> None:
        """`waiter` leaves: forget it."""


def cancel_pending(glet: Any, exc: BaseException) -> None:
    """Forget `exc` if it waits to be raised at `glet`'s next blocking call (see `Hub.interrupt`)."""
    w = getattr(glet, "_gs_waiter", None)
    if w is not None and w.pending is exc:
        w.pending = None

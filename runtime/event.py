"""Event: one value (or exception), sent once, waited for by any number of greenthreads."""

from __future__ import annotations

from typing import Any

from runtime.exceptions import exception_from
from runtime.hubs.waiter import TIMED_OUT
from runtime.instrument import Cause, Reason, hooks
from runtime.waitqueue import WaitQueue

__all__ = ["Event"]

_NOT_SENT: Any = object()


class Event:
    """Wait for a value that some greenthread will `send` (or an exception, `send_exception`).

    ``wait()`` returns the value or raises the exception; ``wait(timeout)`` returns None
    if nothing was sent in time. `reset` makes the event fresh again.
    """

    resource_kind = "event"

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self._value: Any = _NOT_SENT
        self._exc: BaseException | None = None
        self._waiters = WaitQueue()
        h = hooks.resource_created
        if h is not None:
            h(self)

    def __repr__(self) -> str:
        state = "fresh" if self._value is _NOT_SENT else ("exception" if self._exc else "sent")
        name = f" {self.name!r}" if self.name else ""
        return f"<Event{name} at {id(self):#x} {state} waiters={self._waiters.waiting}>"

    def ready(self) -> bool:
        """True once a value or an exception was sent."""
        return self._value is not _NOT_SENT

    def has_result(self) -> bool:
        return self._value is not _NOT_SENT and self._exc is None

    def has_exception(self) -> bool:
        return self._exc is not None

    def poll(self, notready: Any = None) -> Any:
        """The value (or raise the exception) if sent, else `notready`; never waits."""
        if self._value is _NOT_SENT:
            return notready
        return self.wait()

    def wait(self, timeout: float | None = None) -> Any:
        """Wait until sent; return the value or raise the exception. None on timeout."""
        if self._value is _NOT_SENT:
            value = self._waiters.park(Reason.EVENT, self, timeout)
            return None if value is TIMED_OUT else value
        if self._exc is not None:
            raise self._exc
        return self._value

    def send(self, result: Any = None, exc: Any = None) -> int:
        """Send `result` (or the exception `exc`) to every waiter; return how many were woken."""
        if self._value is not _NOT_SENT:
            raise AssertionError(f"{self!r} was already sent; reset() it before sending again")
        if exc is not None:
            exc = exception_from(exc if isinstance(exc, tuple) else (exc,))
        self._value = result
        self._exc = exc
        return self._waiters.unpark_all(result, Cause.SEND, exc)

    def send_exception(self, *args: Any) -> int:
        """Make every waiter raise an exception (a class, an instance, or (class, value, tb))."""
        return self.send(None, exception_from(args))

    def reset(self) -> None:
        """Make a sent event fresh again. Waiters already woken keep what they got."""
        if self._value is _NOT_SENT:
            raise AssertionError(f"{self!r} is fresh: there is nothing to reset")
        self._value = _NOT_SENT
        self._exc = None

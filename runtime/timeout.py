"""Timeout: raise an exception in the current greenthread if a block of code takes too long.

    with Timeout(2):            # raises Timeout after 2 s
        ...
    with Timeout(2, False):     # leaves the block quietly after 2 s
        ...
    with Timeout(2, MyError):   # raises MyError after 2 s
        ...

The timer is a hub timer; when it fires, the greenthread raises wherever it is waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import greenlet

from runtime.hubs import get_hub
from runtime.hubs.waiter import cancel_pending
from runtime.instrument import Cause

__all__ = ["Timeout", "is_timeout", "with_timeout"]


class Timeout(BaseException):
    """Starts at creation; `cancel()` (or leaving the ``with`` block) stops it.

    `exception`: None raises this Timeout; False, used as a context manager, raises it
    and swallows it at the end of the block; a class or instance raises that instead.
    """

    is_timeout = True

    def __init__(self, seconds: float | None = None, exception: Any = None) -> None:
        super().__init__(seconds)
        self.seconds = seconds
        self.exception = exception
        self.timer: Any = None
        self.start()

    def start(self) -> None:
        """Start the timer (done by the constructor); a pending Timeout cannot be started again."""
        if self.pending:
            raise RuntimeError(f"{self!r} is already started; cancel() it before starting it again")
        if self.seconds is None:  # never expires
            self.timer = None
            return
        if self.exception is None or isinstance(self.exception, bool):
            exc: BaseException = self
        elif isinstance(self.exception, BaseException):
            exc = self.exception
        else:
            exc = self.exception()
        hub = get_hub()
        self.timer = hub.call_later(self.seconds, hub.interrupt, greenlet.getcurrent(), exc, Cause.TIMEOUT)

    @property
    def pending(self) -> bool:
        """True while the timer is set and has not fired."""
        return self.timer is not None and self.timer.active

    def cancel(self) -> None:
        """Stop the timer; if it fired but has not been raised yet, it never will be."""
        if self.timer is not None:
            self.timer.cancel()
            glet, exc, _cause = self.timer.args
            cancel_pending(glet, exc)
            self.timer = None

    def __enter__(self) -> Timeout:
        if not self.pending:
            self.start()
        return self

    def __exit__(self, typ: Any, value: Any, tb: Any) -> bool:
        self.cancel()
        return value is self and self.exception is False

    def __repr__(self) -> str:
        exc = "" if self.exception is None else f" exception={self.exception!r}"
        return f"<Timeout {self.seconds}s{exc} {'pending' if self.pending else 'idle'}>"

    def __str__(self) -> str:
        if self.seconds is None:
            return ""
        suffix = "" if self.exception is None or self.exception is False else f" ({self.exception})"
        return f"{self.seconds} second{'s' if self.seconds != 1 else ''}{suffix}"


_NONE: Any = object()


def with_timeout(seconds: float, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``function(*args, **kwargs)``; raise Timeout if it takes more than `seconds`.

    With the keyword ``timeout_value=v``, return `v` instead of raising.
    """
    timeout_value = kwargs.pop("timeout_value", _NONE)
    timeout = Timeout(seconds)
    try:
        return function(*args, **kwargs)
    except Timeout as e:
        if e is timeout and timeout_value is not _NONE:
            return timeout_value
        raise
    finally:
        timeout.cancel()


def is_timeout(obj: Any) -> bool:
    """True for a Timeout, a TimeoutError (socket.timeout) or anything flagged ``is_timeout``."""
    return isinstance(obj, TimeoutError) or getattr(obj, "is_timeout", False) is True

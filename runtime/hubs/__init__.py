"""One hub per OS thread, created lazily; and the fd wait (`trampoline`).

``get_hub()`` returns this thread's hub, creating it on first use with the poller named
by ``$GREENSCOPE_HUB`` (epoll on Linux, else selectors) and the monotonic clock.
``use_hub(poller=..., clock=...)`` replaces it, e.g. with a `TestClock` in tests;
``use_hub('poll')`` takes eventlet's hub names too (see `runtime.hubs.poller`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from runtime.hubs.clock import TestClock
from runtime.hubs.hub import Hub
from runtime.hubs.poller import make_poller, poller_names
from runtime.hubs.timers import Timer
from runtime.hubs.waiter import TIMED_OUT, Deadlock, IOClosed, WaitContainer, Waiter

__all__ = [
    "TIMED_OUT",
    "Deadlock",
    "Hub",
    "IOClosed",
    "TestClock",
    "Timer",
    "WaitContainer",
    "Waiter",
    "drop_hub",
    "existing_hub",
    "get_hub",
    "poller_names",
    "trampoline",
    "use_hub",
]

_local = threading.local()


def get_hub() -> Hub:
    """This OS thread's hub (created on first call)."""
    try:
        return _local.hub
    except AttributeError:
        hub = _local.hub = Hub()
        return hub


def existing_hub() -> Hub | None:
    """This OS thread's hub if it has one (never creates one)."""
    return getattr(_local, "hub", None)


def use_hub(poller: str | None = None, clock: Callable[[], float] | None = None) -> Hub:
    """Give this thread a new hub with `poller` and `clock`; return it.

    `poller` is a name from `poller_names()` or one of eventlet's (``epolls``, ``poll``,
    ``selects``, ``kqueue``); None: ``$GREENSCOPE_HUB``, else the platform's best.

    The previous hub must be idle (nothing ready, no timers, no fd waiters): greenthreads
    parked on it would never run again. It is closed.
    """
    old = getattr(_local, "hub", None)
    if old is not None:
        if not old.is_idle():
            raise RuntimeError(f"cannot replace {old!r}: it still has work; let it finish first")
        old.close()
    hub = _local.hub = Hub(make_poller(poller), clock)
    return hub


def drop_hub() -> None:
    """Close and forget this thread's hub; greenthreads still parked on it are abandoned."""
    hub = getattr(_local, "hub", None)
    if hub is not None:
        del _local.hub
        hub.close()


def trampoline(
    fd: Any,
    read: bool = False,
    write: bool = False,
    timeout: float | None = None,
    timeout_exc: Callable[[], BaseException] | BaseException | None = None,
) -> None:
    """Park until `fd` (an int or an object with ``fileno()``) is readable or writable.

    Exactly one of `read` / `write`. When `timeout` expires first, raise `timeout_exc`
    (an exception class or instance; default `TimeoutError`).
    """
    if read == write:
        raise ValueError("trampoline() needs exactly one of read=True or write=True")
    fileno = fd if isinstance(fd, int) else fd.fileno()
    if not get_hub().wait_fd(fileno, write, timeout):
        exc = timeout_exc if timeout_exc is not None else TimeoutError
        if isinstance(exc, BaseException):
            raise exc
        raise exc(f"timed out after {timeout}s waiting for fd {fileno} to be {'writable' if write else 'readable'}")

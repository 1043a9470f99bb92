"""Run blocking calls in OS threads while the greenthread that asked parks.

    addrs = runtime.tpool.execute(socket.getaddrinfo, "example.org", 80)

The calling greenthread parks (reason ``thread``); the hub keeps scheduling the others.
Each call gets a fresh OS thread, and at most `MAX_THREADS` run at once (the others wait,
in FIFO order, on a green Semaphore). The thread hands its outcome back through the
hub's thread-safe call queue. Killing the waiting greenthread abandons the call: its
thread finishes, and the result is dropped.

Threads are started with the `_thread` functions captured when this module was first
imported, so monkey-patching `threading` later never turns them green.
"""

from __future__ import annotations

import _thread
import weakref
from collections.abc import Callable
from typing import Any

from runtime.hubs import get_hub
from runtime.hubs.hub import Hub, Waiter
from runtime.instrument import Cause, Reason
from runtime.semaphore import Semaphore

__all__ = ["MAX_THREADS", "execute"]

MAX_THREADS = 16
_start_thread = _thread.start_new_thread  # the real one, even after monkey_patch
_slots: weakref.WeakKeyDictionary[Hub, Semaphore] = weakref.WeakKeyDictionary()


class _Call:
    """The `WaitContainer` the waiting greenthread parks in (it holds at most its waiter)."""

    __slots__ = ("waiter",)

    def __init__(self) -> None:
        self.waiter: Waiter | None = None

    def add(self, waiter: Waiter) -> None:
        self.waiter = waiter

    def discard(self, waiter: Waiter) -> None:
        self.waiter = None


def execute(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``func(*args, **kwargs)`` in an OS thread; return its result or raise its exception."""
    hub = get_hub()
    slots = _slots.get(hub)
    if slots is None:
        slots = _slots[hub] = Semaphore(MAX_THREADS, name="runtime.tpool threads")
    with slots:
        call = _Call()
        hub.expect_threadsafe()

        def work() -> None:
            try:
                outcome: tuple[bool, Any] = (True, func(*args, **kwargs))
            except BaseException as e:  # handed to the caller, whatever it is
                outcome = (False, e)
            hub.call_threadsafe(_arrived, hub, call, outcome)

        _start_thread(work, ())
        ok, value = hub.park(call, Reason.THREAD, func)
    if ok:
        return value
    raise value


def _arrived(hub: Hub, call: _Call, outcome: tuple[bool, Any]) -> None:
    hub.threadsafe_done()
    if call.waiter is not None:
        hub.wake(call.waiter, outcome, Cause.THREAD)

"""Run blocking calls in OS threads while the greenthread that asked parks.

    addrs = runtime.tpool.execute(socket.getaddrinfo, "example.org", 80)
    db = runtime.tpool.Proxy(sqlite3.connect("app.db"))   # every method call in a thread

The calling greenthread parks (reason ``thread``); the hub keeps scheduling the others.
Each call gets a fresh OS thread, and at most `MAX_THREADS` (`set_num_threads`) run at
once per hub (the others wait, in FIFO order, on a green semaphore). The thread hands its
outcome back through the hub's thread-safe call queue. Killing the waiting greenthread
abandons the call: its thread finishes, and the result is dropped.

Threads are started with the `_thread` functions captured when this module was first
imported, so monkey-patching `threading` later never turns them green.
"""

from __future__ import annotations

import _thread
import weakref
from collections.abc import Callable
from typing import Any

from runtime.hubs import get_hub
from runtime.hubs.hub import Hub
from runtime.hubs.waiter import Waiter
from runtime.instrument import Cause, Reason
from runtime.semaphore import BoundedSemaphore, check_count

__all__ = ["MAX_THREADS", "Proxy", "execute", "killall", "set_num_threads"]

MAX_THREADS = 16
_start_thread = _thread.start_new_thread  # the real one, even after monkey_patch
_slots: weakref.WeakKeyDictionary[Hub, BoundedSemaphore] = weakref.WeakKeyDictionary()


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
    """Call ``func(*args, **kwargs)`` in an OS thread; return its result or raise its exception.

    With `set_num_threads(0)`, call it here, in the calling greenthread (the hub waits).
    """
    if MAX_THREADS == 0:
        return func(*args, **kwargs)
    hub = get_hub()
    slots = _slots.get(hub)
    if slots is None:
        slots = _slots[hub] = BoundedSemaphore(MAX_THREADS, name="runtime.tpool threads")
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


def set_num_threads(nthreads: int) -> None:
    """At most `nthreads` calls at once per hub, from the next call on (calls already
    waiting keep the limit they found); 0 runs every call in the calling greenthread."""
    global MAX_THREADS
    MAX_THREADS = check_count(nthreads, "the number of threads")
    _slots.clear()


def killall() -> None:
    """Wait until every call this hub's greenthreads made (running or waiting for a
    thread) has returned; the next call starts afresh under `set_num_threads`."""
    slots = _slots.pop(get_hub(), None)
    if slots is not None:
        for _ in range(slots.original_counter):
            slots.acquire()


class Proxy:
    """Forwards every method call on `obj` to an OS thread (through `execute`).

    Plain attributes are read directly. Results (and attributes) that are instances of
    `autowrap` (a type or a tuple of types), or come from a name in `autowrap_names`,
    are wrapped in a Proxy too (a connection's cursors, say). A call given the keyword
    ``nonblocking=True`` runs in the calling greenthread instead. Equality, hashing,
    ``len``, truth, ``repr`` and ``str`` are computed directly; ``[]``, ``()``, ``with``
    and iteration go through threads. `obj`'s methods must not use greenthreads.
    """

    def __init__(self, obj: Any, autowrap: type | tuple[type, ...] = (), autowrap_names: tuple[str, ...] = ()) -> None:
        self._obj = obj
        self._autowrap = autowrap
        self._autowrap_names = autowrap_names

    def _wrap(self, value: Any, name: str) -> Any:
        if isinstance(value, Proxy) or not (isinstance(value, self._autowrap) or name in self._autowrap_names):
            return value
        return Proxy(value, self._autowrap, self._autowrap_names)

    def _call(self, name: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if kwargs.pop("nonblocking", False):
            return self._wrap(func(*args, **kwargs), name)
        return self._wrap(execute(func, *args, **kwargs), name)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._obj, name)
        if not callable(attr):
            return self._wrap(attr, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._call(name, attr, *args, **kwargs)

        return call

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("__call__", self._obj, *args, **kwargs)

    def __getitem__(self, key: Any) -> Any:
        return self._call("__getitem__", self._obj.__getitem__, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._call("__setitem__", self._obj.__setitem__, key, value)

    def __enter__(self) -> Any:
        return self._call("__enter__", self._obj.__enter__)

    def __exit__(self, *exc_info: Any) -> Any:
        return self._call("__exit__", self._obj.__exit__, *exc_info)

    def __iter__(self) -> Proxy:
        it = iter(self._obj)
        return self if it is self._obj else Proxy(it, self._autowrap, self._autowrap_names)

    def __next__(self) -> Any:
        return self._call("__next__", next, self._obj)

    def __eq__(self, other: object) -> bool:
        return self._obj == other

    def __hash__(self) -> int:
        return hash(self._obj)

    def __len__(self) -> int:
        return len(self._obj)

    def __bool__(self) -> bool:
        return bool(self._obj)

    def __repr__(self) -> str:
        return repr(self._obj)

    def __str__(self) -> str:
        return str(self._obj)

"""GreenPool: at most `size` greenthreads at once; GreenPile: their results in spawn order.

A spawn into a full pool waits for a slot. Slots go to waiting spawners in FIFO order:
an exiting member reserves its slot for the longest-waiting spawner and wakes it, so a
newcomer cannot take it first. A member that spawns into its own full pool runs the
function inline instead of waiting for itself (as eventlet does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import greenlet

from runtime.greenthread import GreenThread, _Green, check_callable, launch, run_inline
from runtime.instrument import Cause, Reason, hooks
from runtime.queue import LightQueue
from runtime.semaphore import check_count
from runtime.site import creation_site
from runtime.waitqueue import WaitQueue

__all__ = ["AHEAD", "GreenPile", "GreenPool"]

AHEAD = 1000  # results an imap holds at most, spawned and not yet taken

getcurrent = greenlet.getcurrent


class GreenPool:
    """A bounded set of greenthreads."""

    resource_kind = "pool"

    def __init__(self, size: int = 1000, name: str | None = None) -> None:
        self.size = check_count(size, "GreenPool size")
        self.name = name or creation_site()
        self.coroutines_running: set[_Green] = set()
        self._reserved = 0  # slots promised to woken spawners that have not run yet
        self._slot_waiters = WaitQueue()
        self._idle_waiters = WaitQueue()
        h = hooks.resource_created
        if h is not None:
            h(self)

    def __repr__(self) -> str:
        return (
            f"<GreenPool {self.name!r} at {id(self):#x} size={self.size} running={self.running()}"
            f" waiting={self.waiting()}>"
        )

    def running(self) -> int:
        """How many greenthreads of the pool are alive."""
        return len(self.coroutines_running)

    def free(self) -> int:
        """How many more could be spawned without waiting."""
        return self.size - len(self.coroutines_running) - self._reserved

    def waiting(self) -> int:
        """How many spawners wait for a slot."""
        return self._slot_waiters.waiting

    def spawn(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> GreenThread:
        """Run ``func(*args, **kwargs)`` in the pool, waiting for a slot if it is full."""
        check_callable(func, "spawn")
        return self._spawn(GreenThread, func, args, kwargs)

    def spawn_n(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> greenlet.greenlet:
        """Like `spawn`, without a result to wait for."""
        check_callable(func, "spawn_n")
        return self._spawn(_Green, func, args, kwargs)

    def _spawn(self, cls: type, func: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        if self.size - len(self.coroutines_running) - self._reserved <= 0:
            if getcurrent() in self.coroutines_running:
                return run_inline(func, args, kwargs)
            self._slot_waiters.park(Reason.POOL_SLOT, self)
            self._reserved -= 1  # the member (or resize) that woke us reserved this slot
        g = launch(cls, func, args, kwargs, self)
        self.coroutines_running.add(g)
        h = hooks.resource_changed
        if h is not None:
            h(self)
        return g

    def _member_exited(self, g: _Green) -> None:
        self.coroutines_running.discard(g)
        if self._slot_waiters.waiting and self.free() > 0:
            self._reserved += 1
            self._slot_waiters.unpark_one(None, Cause.EXIT)
        elif not self.coroutines_running and not self._reserved:
            self._idle_waiters.unpark_all(None, Cause.EXIT)
        h = hooks.resource_changed
        if h is not None:
            h(self)

    def resize(self, new_size: int) -> None:
        """Change the size: growing lets waiting spawners in at once; shrinking kills nobody."""
        self.size = check_count(new_size, "GreenPool size")
        while self._slot_waiters.waiting and self.free() > 0:
            self._reserved += 1
            self._slot_waiters.unpark_one(None, Cause.RESIZE)
        h = hooks.resource_changed
        if h is not None:
            h(self)

    def waitall(self) -> None:
        """Wait until every greenthread of the pool (and every spawner let in) has ended."""
        if getcurrent() in self.coroutines_running:
            raise RuntimeError(f"waitall() called from a greenthread of {self!r} would wait for itself")
        while self.coroutines_running or self._reserved:
            self._idle_waiters.park(Reason.JOIN, self)

    def imap(self, function: Callable[..., Any] | None, *iterables: Iterable[Any]) -> Iterator[Any]:
        """``function(*args)`` for args zipped from `iterables`, run concurrently up to the pool's
        size; results in input order. Input is read as slots free (the pool stays full whatever
        the pace of the consumer, as in eventlet), up to `AHEAD` results ahead of it. A call that
        raised raises at its position, and iterating on goes on with the next."""
        return self._map(function, zip(*iterables, strict=False))  # shortest wins, as in map()

    def starmap(self, function: Callable[..., Any] | None, iterable: Iterable[tuple]) -> Iterator[Any]:
        """Like `imap`, with each item of `iterable` the tuple of arguments."""
        return self._map(function, iterable)

    def _map(self, function: Callable[..., Any] | None, arg_tuples: Iterable[tuple]) -> Iterator[Any]:
        func = _as_tuple if function is None else function
        check_callable(func, "imap")
        return _Results(self, func, iter(arg_tuples))


class _Results:
    """The iterator `GreenPool.imap` returns. As in eventlet, a greenthread of its own (`imap_spawner`) spawns
    the calls into the pool as slots free, whatever the pace of the one iterating: the pool stays full while
    there is input. An error raised by one call does not end it."""

    def __init__(self, pool: GreenPool, func: Callable[..., Any], arg_tuples: Iterator[tuple]) -> None:
        # the calls' greenthreads in input order, then _END or _Failed; at most AHEAD not yet taken (eventlet keeps
        # no bound: over endless input with quick calls, its results pile up in memory until the program dies)
        self.spawned = LightQueue(AHEAD, name=f"imap into {pool.name}")
        self.ended = False
        spawner = launch(_Green, imap_spawner, (pool, func, arg_tuples, self.spawned), {}, None)
        spawner._gs_site = creation_site()  # its spawns were made by the line that called imap

    def __iter__(self) -> _Results:
        return self

    def __next__(self) -> Any:
        if self.ended:
            raise StopIteration
        gt = self.spawned.get()
        if gt is _END or type(gt) is _Failed:
            self.ended = True
            if gt is _END:
                raise StopIteration
            raise gt.error
        return gt.wait()


class _Failed:
    """The input of an imap raised `error` (it raises where the next result would be)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def imap_spawner(pool: GreenPool, func: Callable[..., Any], arg_tuples: Iterator[tuple], into: LightQueue) -> None:
    """Spawn ``func(*args)`` into `pool` for each args of `arg_tuples`, in order, each into `into`, then _END."""
    try:
        for args in arg_tuples:
            into.put(pool.spawn(func, *args))
    except Exception as e:  # the input's own error: the iterating greenthread gets it, in its place
        into.put(_Failed(e))
    else:
        into.put(_END)


_END: Any = object()


def _as_tuple(*args: Any) -> tuple:
    return args


class GreenPile:
    """Spawn into a pool; iterate to get the results in spawn order.

    Iteration ends when every result spawned so far was taken (at once if nothing was
    spawned), so iterate in the greenthread that spawns; a call that raised raises at
    its position, and iterating on goes on with the next.
    """

    def __init__(self, size_or_pool: int | GreenPool = 1000, name: str | None = None) -> None:
        """Spawn into `size_or_pool`, or a pool of that size (named `name`, else where the pile was made)."""
        pool = size_or_pool if isinstance(size_or_pool, GreenPool) else GreenPool(size_or_pool, name=name)
        self.pool = pool
        self.waiters: LightQueue = LightQueue()
        self.counter = 0  # spawned and not yet taken

    def spawn(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``func(*args, **kwargs)`` in the pool (waiting for a slot if it is full)."""
        self.counter += 1
        try:
            gt = self.pool.spawn(func, *args, **kwargs)
        except BaseException:
            self.counter -= 1
            raise
        self.waiters.put(gt)

    def __iter__(self) -> GreenPile:
        return self

    def next(self) -> Any:
        """The next result in spawn order (waiting for it); StopIteration when all were taken."""
        if self.counter == 0:
            raise StopIteration
        gt = self.waiters.get()
        self.counter -= 1
        return gt.wait()

    __next__ = next

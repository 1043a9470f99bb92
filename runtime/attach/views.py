"""Pools and queues of eventlet and gevent as the recorder reads the runtime's own.

The recorder reads a pool's ``size``, ``running()`` and ``waiting()`` and a queue's ``queue``,
``maxsize``, ``putting()`` and ``getting()`` (with ``resource_kind`` and ``name``). A view
reads sizes from the library's object and counts waiters from the adapter's own record of
who is parked on it (`waits`), so the counts are the same whatever the library keeps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runtime.instrument import Reason, hooks

__all__ = ["PoolView", "QueueView", "view_of"]


class PoolView:
    """A pool: its size and members from the library, its waiting spawners from `waits`."""

    resource_kind = "pool"
    __slots__ = ("_running", "_waits", "name", "pool")

    def __init__(self, pool: Any, running: Callable[[Any], int], waits: dict[Any, list]) -> None:
        self.pool = pool
        self.name: str | None = None  # the recorder names it after where it was created
        self._running = running
        self._waits = waits

    @property
    def size(self) -> int | None:
        return self.pool.size

    def running(self) -> int:
        return self._running(self.pool)

    def waiting(self) -> int:
        return sum(p.reason == Reason.POOL_SLOT for p in self._waits.get(self, ()))


class QueueView:
    """A queue: its items and bound from the library, its putters and getters from `waits`."""

    resource_kind = "queue"
    __slots__ = ("_waits", "name", "q")

    def __init__(self, q: Any, waits: dict[Any, list]) -> None:
        self.q = q
        self.name: str | None = None
        self._waits = waits

    @property
    def queue(self) -> Any:
        return self.q.queue

    @property
    def maxsize(self) -> int | None:
        return self.q.maxsize

    def putting(self) -> int:
        return sum(p.reason == Reason.QUEUE_PUT for p in self._waits.get(self, ()))

    def getting(self) -> int:
        return sum(p.reason == Reason.QUEUE_GET for p in self._waits.get(self, ()))


def view_of(obj: Any, make: Callable[[Any], Any]) -> Any:
    """`obj`'s view, made with `make` and announced to the recorder the first time it is asked
    for (an object that takes no attribute is its own view: the recorder then names no object)."""
    try:
        return obj._gs_view
    except AttributeError:
        pass
    view = make(obj)
    try:
        obj._gs_view = view
    except AttributeError:
        return obj
    h = hooks.resource_created
    if h is not None:
        h(view)
    return view

"""Pools of reusable items (connections, clients), with eventlet's `eventlet.pools` API.

    conns = Pool(max_size=4, create=lambda: connect(addr))
    with conns.item() as conn:
        conn.send(...)

`get` gives a free item, or creates one while fewer than `max_size` exist, or waits
(FIFO) for one to be `put` back. The free items are a `runtime.queue` queue, so a put
hands its item straight to the longest-waiting getter, and the dashboard shows the pool
as that queue (its free items, its waiting getters).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from runtime.queue import LifoQueue, LightQueue
from runtime.semaphore import check_count
from runtime.site import creation_site

__all__ = ["Pool", "Token", "TokenPool"]

_CREATE: Any = object()  # handed to a waiting getter by `resize`: make an item yourself


class Pool:
    """At most `max_size` items, created on demand by `create` (an argument, or a method
    of a subclass); `min_size` of them made at once.

    Free items are given out round-robin, or most recently used first with
    `order_as_stack`.
    """

    def __init__(
        self,
        min_size: int = 0,
        max_size: int = 4,
        order_as_stack: bool = False,
        create: Callable[[], Any] | None = None,
        name: str | None = None,
    ) -> None:
        self.min_size = check_count(min_size, "Pool min_size")
        self.max_size = check_count(max_size, "Pool max_size")
        self.order_as_stack = order_as_stack
        if create is not None:
            self.create = create  # type: ignore[method-assign]
        self._free: LightQueue = (LifoQueue if order_as_stack else LightQueue)(name=name or creation_site())
        self.current_size = 0  # items that exist: free or given out
        for _ in range(self.min_size):
            self.current_size += 1
            self._free.put(self.create())

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self._free.name!r} at {id(self):#x} size={self.current_size}"
            f" max_size={self.max_size} free={self._free.qsize()} waiting={self.waiting()}>"
        )

    def get(self) -> Any:
        """A free item, else a new one if fewer than `max_size` exist, else wait for a `put`."""
        if self._free.qsize() or self.current_size >= self.max_size:
            item = self._free.get()
            if item is not _CREATE:
                return item
        else:
            self.current_size += 1
        try:
            return self.create()
        except BaseException:
            self.current_size -= 1
            raise

    def put(self, item: Any) -> None:
        """Give `item` back: to the longest-waiting getter, else among the free items (or it
        is dropped if the pool was shrunk below the items it has)."""
        if self.current_size > self.max_size:
            self.current_size -= 1
        else:
            self._free.put(item)

    @contextmanager
    def item(self) -> Iterator[Any]:
        """``with pool.item() as it:`` gets an item and puts it back at the end of the block."""
        it = self.get()
        try:
            yield it
        finally:
            self.put(it)

    def resize(self, new_size: int) -> None:
        """Change `max_size`. Growing lets waiting getters create items at once; shrinking
        drops items as they are put back until the pool fits."""
        self.max_size = check_count(new_size, "Pool max_size")
        while self._free.getting() and self.current_size < self.max_size:
            self.current_size += 1
            self._free.put(_CREATE)

    def free(self) -> int:
        """How many gets would not wait: free items plus the items that may still be created."""
        return self._free.qsize() + self.max_size - self.current_size

    def waiting(self) -> int:
        """How many greenthreads wait for an item."""
        return self._free.getting()

    def create(self) -> Any:
        """Make a new item: give `create=` or override this in a subclass."""
        raise NotImplementedError(f"{type(self).__name__} needs create=... or a create() method")


class Token:
    """An opaque item of a `TokenPool`."""


class TokenPool(Pool):
    """A pool of `Token`s: holding one is the right to use some limited resource."""

    def create(self) -> Token:
        return Token()

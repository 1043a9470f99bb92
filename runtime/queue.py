"""Queues between greenthreads: LightQueue, Queue (with task_done / join), LifoQueue, PriorityQueue.

`maxsize` None (or negative) is unbounded; 0 makes a channel: a put waits for a getter.
Waiters are served in FIFO order and nothing is lost:
- a put while getters wait hands the item straight to the longest-waiting getter;
- a parked putter keeps its item on its waiter until a getter takes it into the queue
  (or, for a channel, straight out of the putter's hands), so a put either completed or
  raised — a putter that times out or is killed while waiting never left its item;
- a greenthread killed after it was handed an item still returns it (the kill is raised
  at its next blocking call, see `runtime.hubs.hub`).

Where the optional C helper `runtime._queue` is built, LightQueue's state lives in its base type's
slots and its `put` and `get` are the base's: what needs no wait (a put with room or getters waiting,
a get with an item there) runs in C, exactly as the Python methods do it (`_put_in_python` and
`_get_in_python`), and every other case calls those. ``GREENSCOPE_PURE_PYTHON=1`` in the environment
(or no helper) keeps the Python methods. One difference shows: a greenthread spawned on a bound
`q.put` is named after the queue's class in C (``Queue.put``), after the method's in Python
(``LightQueue.put``).
"""

from __future__ import annotations

import heapq
import os
from collections import deque
from functools import partial
from queue import Empty, Full
from typing import Any

from runtime.hubs.waiter import TIMED_OUT
from runtime.instrument import Cause, Reason, hooks
from runtime.semaphore import whole_number
from runtime.site import creation_site
from runtime.waitqueue import WaitQueue

try:
    if os.environ.get("GREENSCOPE_PURE_PYTHON"):
        raise ImportError("the queue in Python was asked for")
    from runtime import _queue
except ImportError:  # not built here (no compiler, another interpreter): put and get in Python
    _queue = None  # type: ignore[assignment]
_Base: type = object if _queue is None else _queue.Base

__all__ = ["Empty", "Full", "LifoQueue", "LightQueue", "PriorityQueue", "Queue"]


def _maxsize(value: Any) -> int | None:
    if value is None:
        return None
    value = whole_number(value, "maxsize")
    return None if value < 0 else value


def _check_timeout(timeout: float | None) -> None:
    if timeout is not None and timeout < 0:
        raise ValueError(f"timeout must be >= 0 or None, got {timeout!r}")


class LightQueue(_Base):
    """A FIFO queue of items between greenthreads, without task tracking."""

    resource_kind = "queue"

    def __init__(self, maxsize: int | None = None, name: str | None = None) -> None:
        self.maxsize = _maxsize(maxsize)
        self.name = name or creation_site()
        self.unfinished_tasks = 0  # items accepted minus task_done() calls (used by Queue)
        self._getters = WaitQueue()
        self._putters = WaitQueue()
        self._init_storage()
        h = hooks.resource_created
        if h is not None:
            h(self)

    def _init_storage(self) -> None:
        # The storage's own methods, bound once: put and get call them with no Python frame.
        self.queue: Any = deque()
        self._put = self.queue.append
        self._get = self.queue.popleft

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.name!r} at {id(self):#x} size={len(self.queue)}"
            f" maxsize={self.maxsize} putters={self._putters.waiting} getters={self._getters.waiting}>"
        )

    def __len__(self) -> int:
        return len(self.queue)

    def qsize(self) -> int:
        """How many items are in the queue."""
        return len(self.queue)

    def empty(self) -> bool:
        return not self.queue

    def full(self) -> bool:
        """True if a put would wait (always for a channel)."""
        return self.maxsize is not None and len(self.queue) >= self.maxsize

    def putting(self) -> int:
        """How many greenthreads wait to put."""
        return self._putters.waiting

    def getting(self) -> int:
        """How many greenthreads wait to get."""
        return self._getters.waiting

    def resize(self, size: int | None) -> None:
        """Change `maxsize`; growing takes the waiting putters' items in at once."""
        self.maxsize = _maxsize(size)
        self._take_from_putters(Cause.RESIZE)
        h = hooks.resource_changed
        if h is not None:
            h(self)

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        """Put `item` in; wait (up to `timeout`) while the queue is full, unless not `block`.

        Raises `Full` if it could not.
        """
        # a getter waits only on an empty queue
        if self._getters.waiting:
            self.unfinished_tasks += 1
            self._getters.unpark_one(item, Cause.PUT)
        elif self.maxsize is None or len(self.queue) < self.maxsize:
            self.unfinished_tasks += 1
            self._put(item)
        elif not block:
            raise Full
        else:
            if timeout is not None:  # (no call for the common case)
                _check_timeout(timeout)
            if self._putters.park(Reason.QUEUE_PUT, self, timeout, item) is TIMED_OUT:
                raise Full
            return  # the getter that took the item reported the change
        h = hooks.resource_changed
        if h is not None:
            h(self)

    def put_nowait(self, item: Any) -> None:
        """Put `item` in if there is room (or a getter waits), else raise `Full`."""
        self.put(item, False)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """Take the next item; wait (up to `timeout`) while empty, unless not `block`.

        Raises `Empty` if there was none.
        """
        if self.queue:
            item = self._get()
            if self._putters.waiting:
                self._take_from_putters(Cause.GET)
        elif self._putters.waiting:  # a channel: take it from the putter's hands
            self.unfinished_tasks += 1
            item = self._putters.unpark_one(None, Cause.GET).data  # type: ignore[union-attr]
        elif not block:
            raise Empty
        else:
            if timeout is not None:  # (no call for the common case)
                _check_timeout(timeout)
            item = self._getters.park(Reason.QUEUE_GET, self, timeout)
            if item is TIMED_OUT:
                raise Empty
            return item  # the putter reported the change
        h = hooks.resource_changed
        if h is not None:
            h(self)
        return item

    _put_in_python, _get_in_python = put, get  # what the C base's put and get call for the rest
    if _queue is not None:
        del put, get  # the C base's

    def get_nowait(self) -> Any:
        """Take the next item if there is one, else raise `Empty`."""
        return self.get(False)

    def _take_from_putters(self, cause: str) -> None:
        # Move waiting putters' items in while there is room, oldest putter first.
        putters = self._putters
        while putters.waiting and (self.maxsize is None or len(self.queue) < self.maxsize):
            self.unfinished_tasks += 1
            self._put(putters.unpark_one(None, cause).data)  # type: ignore[union-attr]


if _queue is not None:
    _queue.bind(WaitQueue, hooks, Cause, LightQueue._put_in_python, LightQueue._get_in_python)


class Queue(LightQueue):
    """A LightQueue that counts unfinished tasks: consumers call `task_done`, `join` waits for all."""

    def __init__(self, maxsize: int | None = None, name: str | None = None) -> None:
        super().__init__(maxsize, name)
        self._joiners = WaitQueue()

    def task_done(self) -> None:
        """Mark one item taken with `get` as processed; ValueError if more than were put."""
        if self.unfinished_tasks <= 0:
            raise ValueError(f"task_done() called more times than items were put in {self!r}")
        self.unfinished_tasks -= 1
        if self.unfinished_tasks == 0:
            self._joiners.unpark_all(None, Cause.TASK_DONE)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every item put has been marked done; False if `timeout` expired first."""
        _check_timeout(timeout)
        if self.unfinished_tasks == 0:
            return True
        return self._joiners.park(Reason.JOIN, self, timeout) is not TIMED_OUT


class LifoQueue(Queue):
    """A Queue that gives the newest item first."""

    def _init_storage(self) -> None:
        self.queue = []
        self._put = self.queue.append
        self._get = self.queue.pop


class PriorityQueue(Queue):
    """A Queue that gives the smallest item first (``(priority, data)`` tuples work)."""

    def _init_storage(self) -> None:
        self.queue = []
        self._put = partial(heapq.heappush, self.queue)
        self._get = partial(heapq.heappop, self.queue)

"""greenscope's green-thread runtime, with eventlet's API: ``import runtime as eventlet``."""

from __future__ import annotations

from greenlet import GreenletExit

from runtime import debug, event, greenpool, greenthread, hubs, queue, semaphore, timeout
from runtime.event import Event
from runtime.greenpool import GreenPile, GreenPool
from runtime.greenthread import (
    GreenThread,
    getcurrent,
    kill,
    sleep,
    spawn,
    spawn_after,
    spawn_after_local,
    spawn_n,
)
from runtime.queue import LifoQueue, LightQueue, PriorityQueue, Queue
from runtime.semaphore import BoundedSemaphore, CappedSemaphore, Semaphore
from runtime.timeout import Timeout, is_timeout, with_timeout

__version__ = "0.1.0"

__all__ = [
    "BoundedSemaphore",
    "CappedSemaphore",
    "Event",
    "GreenPile",
    "GreenPool",
    "GreenThread",
    "GreenletExit",
    "LifoQueue",
    "LightQueue",
    "PriorityQueue",
    "Queue",
    "Semaphore",
    "Timeout",
    "debug",
    "event",
    "getcurrent",
    "greenpool",
    "greenthread",
    "hubs",
    "is_timeout",
    "kill",
    "queue",
    "semaphore",
    "sleep",
    "spawn",
    "spawn_after",
    "spawn_after_local",
    "spawn_n",
    "timeout",
    "with_timeout",
]

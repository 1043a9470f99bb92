"""greenscope's green-thread runtime, with eventlet's API: ``import runtime as eventlet``."""

from __future__ import annotations

from greenlet import GreenletExit

from runtime import convenience, debug, event, greenpool, greenthread, hubs, patcher, queue, semaphore, timeout, tpool
from runtime.convenience import StopServe, connect, listen, serve, wrap_ssl
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
from runtime.patcher import import_patched, monkey_patch
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
    "StopServe",
    "Timeout",
    "connect",
    "convenience",
    "debug",
    "event",
    "getcurrent",
    "greenpool",
    "greenthread",
    "hubs",
    "import_patched",
    "is_timeout",
    "kill",
    "listen",
    "monkey_patch",
    "patcher",
    "queue",
    "semaphore",
    "serve",
    "sleep",
    "spawn",
    "spawn_after",
    "spawn_after_local",
    "spawn_n",
    "timeout",
    "tpool",
    "with_timeout",
    "wrap_ssl",
]

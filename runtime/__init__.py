"""greenscope's green-thread runtime, with eventlet's API: ``import runtime as eventlet``."""

from __future__ import annotations

from greenlet import GreenletExit

from runtime import debug, event, greenthread, hubs, semaphore, timeout
from runtime.event import Event
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
from runtime.semaphore import BoundedSemaphore, CappedSemaphore, Semaphore
from runtime.timeout import Timeout, is_timeout, with_timeout

__version__ = "0.1.0"

__all__ = [
    "BoundedSemaphore",
    "CappedSemaphore",
    "Event",
    "GreenThread",
    "GreenletExit",
    "Semaphore",
    "Timeout",
    "debug",
    "event",
    "getcurrent",
    "greenthread",
    "hubs",
    "is_timeout",
    "kill",
    "semaphore",
    "sleep",
    "spawn",
    "spawn_after",
    "spawn_after_local",
    "spawn_n",
    "timeout",
    "with_timeout",
]

"""The instrument hooks: how the runtime reports what it schedules.

An instrument subclasses `Instrument` and overrides the hooks it wants; only those are
registered. Every call site reads one attribute of `hooks` and calls it only when it is
not None, so with no instrument installed a hook costs one attribute load and one test.

An instrument that raises is removed (and the error logged): it never takes the hub down.

What the hooks say, and when:

- ``spawned(glet, parent)``: a greenthread was created (it is ready to start).
- ``switched(prev, nxt)``: the hub switched from `prev` — the greenlet that gave it control
  back — to `nxt`. `prev` is the hub's own greenlet (gid 0) when the hub had control
  already (it fired timers or polled since), `nxt` is it when the hub keeps control (to
  fire timers or poll). When the hub goes straight from one greenthread to the next, one
  call reports both. A
  greenthread switched out without ``blocked`` or ``exited`` in between yielded: it is
  ready again.
- ``blocked(glet, reason, obj, detail)``: `glet` parks; `reason` is one of `Reason`, `obj`
  what it waits on, `detail` the fd or the timeout (seconds), or None.
- ``woken(glet, cause, waker)``: a parked `glet` was made ready; `cause` is one of `Cause`,
  `waker` the greenlet that woke it (the hub's greenlet for fds and timers).
- ``exited(glet, outcome, exc)``: `glet` ended; `outcome` is ``"ok"``, ``"error"`` or
  ``"killed"``, `exc` the exception that ended it, or None.
- ``before_io_wait(timeout)`` / ``after_io_wait(nready)``: the hub waits on its poller
  (timeout in seconds, None for no limit) and comes back with `nready` fds ready.
- ``timers_fired(n)``: the hub fired `n` (> 0) due timers in one pass.
- ``resource_created(obj)``: a pool, queue, semaphore or event came to exist; it has
  ``resource_kind`` and ``name`` attributes.
- ``resource_changed(obj)``: such an object's size or contents changed (a queue's items, a
  pool's running members or size). Its waiters change exactly at the ``blocked`` and
  ``woken`` calls whose `obj` it is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

__all__ = [
    "Cause",
    "Instrument",
    "Reason",
    "add_instrument",
    "hooks",
    "instruments",
    "remove_instrument",
]

log = logging.getLogger(__name__)


class Reason:
    """Why a greenthread blocks (the `reason` of ``blocked``)."""

    IO_READ = "io_read"
    IO_WRITE = "io_write"
    SLEEP = "sleep"
    QUEUE_GET = "queue_get"
    QUEUE_PUT = "queue_put"
    POOL_SLOT = "pool_slot"
    SEMAPHORE = "semaphore"
    EVENT = "event"
    JOIN = "join"
    LOCK = "lock"
    THREAD = "thread"  # an OS thread works for it (name resolution, tpool)


class Cause:
    """What made a parked greenthread ready (the `cause` of ``woken``)."""

    FD_READY = "fd_ready"
    TIMER = "timer"
    PUT = "put"
    GET = "get"
    RELEASE = "release"
    SEND = "send"
    EXIT = "exit"
    TIMEOUT = "timeout"
    KILL = "kill"
    CLOSED = "closed"
    DEADLOCK = "deadlock"
    RESIZE = "resize"
    THREAD = "thread"
    TASK_DONE = "task_done"


class Instrument:
    """Base class: every hook is a no-op. Override the ones you need (methods, or plain
    functions set on the instance).

    An instrument is called through a guard that removes it if a hook raises. One that
    sets `guarded` to False is called directly, with no guard: do that only for hooks
    that cannot raise (the trace recorder's appends), where the guard would be most of
    the cost.
    """

    guarded = True

    def spawned(self, glet: Any, parent: Any) -> None:
        pass

    def switched(self, prev: Any, nxt: Any) -> None:
        pass

    def blocked(self, glet: Any, reason: str, obj: Any, detail: Any) -> None:
        pass

    def woken(self, glet: Any, cause: str, waker: Any) -> None:
        pass

    def exited(self, glet: Any, outcome: str, exc: BaseException | None) -> None:
        pass

    def before_io_wait(self, timeout: float | None) -> None:
        pass

    def after_io_wait(self, nready: int) -> None:
        pass

    def timers_fired(self, n: int) -> None:
        pass

    def resource_created(self, obj: Any) -> None:
        pass

    def resource_changed(self, obj: Any) -> None:
        pass


HOOK_NAMES: tuple[str, ...] = tuple(
    name for name, value in vars(Instrument).items() if not name.startswith("_") and callable(value)
)


class _Hooks:
    """One attribute per hook: None, or the callable that runs every instrument's hook."""

    __slots__ = HOOK_NAMES

    def __init__(self) -> None:
        for name in HOOK_NAMES:
            setattr(self, name, None)


hooks = _Hooks()
_installed: list[Instrument] = []


def instruments() -> tuple[Instrument, ...]:
    """The installed instruments, in installation order."""
    return tuple(_installed)


def add_instrument(instrument: Instrument) -> None:
    """Install `instrument` (process-wide, every hub). Installing it twice is a no-op."""
    if not isinstance(instrument, Instrument):
        raise TypeError(f"add_instrument() needs an Instrument, got {instrument!r}")
    if instrument not in _installed:
        _installed.append(instrument)
        _rebuild()


def remove_instrument(instrument: Instrument) -> None:
    """Uninstall `instrument`; ValueError if it is not installed."""
    try:
        _installed.remove(instrument)
    except ValueError:
        raise ValueError(f"{instrument!r} is not installed") from None
    _rebuild()


def _rebuild() -> None:
    for name in HOOK_NAMES:
        base = getattr(Instrument, name)
        bound = [
            (inst, hook) for inst in _installed if getattr(hook := getattr(inst, name), "__func__", hook) is not base
        ]
        if not bound:
            setattr(hooks, name, None)
        elif len(bound) == 1 and not bound[0][0].guarded:
            setattr(hooks, name, bound[0][1])
        else:
            setattr(hooks, name, _fan_out(name, bound))


def _fan_out(name: str, bound: list[tuple[Instrument, Callable[..., None]]]) -> Callable[..., None]:
    def call(*args: Any) -> None:
        for inst, hook in bound:
            try:
                hook(*args)
            except Exception:
                log.exception("instrument %r raised in %s; removing it", inst, name)
                if inst in _installed:
                    remove_instrument(inst)

    call.__name__ = name
    return call

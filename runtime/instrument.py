"""The instrument hooks: how the runtime reports what it schedules.

An instrument subclasses `Instrument` and overrides the hooks it wants (each is
documented on its method); only those are registered. Every call site reads one
attribute of `hooks` and calls it only when it is not None, so with no instrument
installed a hook costs one attribute load and one test.

An instrument that raises is removed (and the error logged): it never takes the hub down.
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
        """A greenthread `glet` was created by `parent`; it is ready to start."""

    def switched(self, prev: Any, nxt: Any) -> None:
        """The hub switched from `prev` to `nxt`.

        `prev` is the greenlet that gave the hub control back, or the hub's own greenlet
        (gid 0) when the hub had control already (it fired timers or polled since); `nxt`
        is the hub's greenlet when the hub keeps control (to fire timers or poll). When
        the hub goes straight from one greenthread to the next, one call reports both.
        A greenthread switched out with no ``blocked`` or ``exited`` in between yielded:
        it is ready again.
        """

    def blocked(self, glet: Any, reason: str, obj: Any, detail: Any) -> None:
        """`glet` parks: `reason` is one of `Reason`, `obj` what it waits on (or None),
        `detail` the fd or the timeout in seconds (or None)."""

    def woken(self, glet: Any, cause: str, waker: Any, obj: Any, late: int) -> None:
        """`glet` was made ready: `cause` is one of `Cause`, `waker` the greenlet that woke
        it (the hub's for fds and timers), `obj` what it waited on (as ``blocked`` said;
        None for one that had not started), `late` how many ns after its deadline the timer
        that woke it fired (a sleep's or a timeout's; 0 for every other wake)."""

    def exited(self, glet: Any, outcome: str, exc: BaseException | None) -> None:
        """`glet` ended: `outcome` is ``"ok"``, ``"error"`` or ``"killed"``; `exc` the
        exception that ended it, or None."""

    def before_io_wait(self, timeout: float | None) -> None:
        """The hub waits on its poller for at most `timeout` seconds (None: no limit)."""

    def after_io_wait(self, nready: int) -> None:
        """The hub's poller wait returned with `nready` fds ready."""

    def timers_fired(self, n: int, late: int) -> None:
        """The hub fired `n` (> 0) due timers in one pass, the latest of them `late` ns after
        its deadline (the hub was busy: a greenthread did not yield)."""

    def resource_created(self, obj: Any) -> None:
        """A pool, queue, semaphore or event came to exist; it has ``resource_kind`` and
        ``name`` attributes."""

    def controlled(self, action: str, speed: float | None) -> None:
        """The hub obeyed a command of the live control (`runtime.hubs.control`): `action` is
        ``paused``, ``stepped`` or ``stepped_thread`` (its switch comes next), ``speed`` or ``resumed``;
        `speed` the share of real time it runs at from now on (None while it is paused)."""

    def resource_changed(self, obj: Any) -> None:
        """Such an object's size or contents changed (a queue's items, a pool's running
        members or size). Its waiters change exactly at the ``blocked`` and ``woken``
        calls whose `obj` it is."""


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

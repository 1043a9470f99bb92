"""The recorder: an instrument that turns the runtime's hooks into events in a bounded buffer.

    rec = Recorder()
    rec.install()
    ...                       # the program runs; events accumulate
    events = rec.take()       # everything since the last take, oldest first

Its hot hooks are closures over the buffer's ``append`` and the clock (no attribute
lookups, no bound methods) and cannot raise, so they are installed without the
instrument guard. What is costly to compute — a function's qualified name, a spawn
site — is cached per code object (and line). When the buffer is full, events are
dropped and counted; the next `take` starts with a ``dropped`` event saying how many.
`take` may be called from another OS thread (the agent's) while the program runs.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

import greenlet

from runtime.greenthread import gid_of
from runtime.instrument import Instrument, add_instrument, remove_instrument
from runtime.trace.events import (
    BLOCK,
    DROPPED,
    EXIT,
    HUB_WAIT,
    HUB_WAKE,
    POOL,
    QUEUE,
    RESOURCE,
    SPAWN,
    SWITCH,
    TIMERS,
    WAKE,
)

__all__ = ["Recorder"]

_RUNTIME_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_now = time.perf_counter_ns  # CLOCK_MONOTONIC, in ns


_SIZE_ATTR = {"pool": "size", "queue": "maxsize", "semaphore": "counter"}


def _gid(glet: Any) -> int:
    try:
        return glet.gid
    except AttributeError:
        return gid_of(glet)


class Recorder(Instrument):
    """Records every hook as an event tuple (see `runtime.trace.events`)."""

    guarded = False

    def __init__(self, capacity: int = 1_000_000, clock: Callable[[], int] = _now) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.clock = clock
        self._drops: list[None] = []  # one entry per lost event (appends are atomic across threads)
        self._names: dict[Any, str] = {}  # code object -> qualified name
        self._sites: dict[tuple[Any, int], str] = {}  # (code, line) -> "file:line"
        self.events: list[tuple] = []
        self._bind(self.events)

    # ------------------------------------------------------------------ install, take

    def install(self) -> Recorder:
        """Start recording (process-wide); returns self."""
        gid_of(greenlet.getcurrent())  # the main greenthread gets its id before any hook needs it
        add_instrument(self)
        return self

    def uninstall(self) -> None:
        remove_instrument(self)

    def take(self) -> list[tuple]:
        """The events recorded since the last take (a ``dropped`` event first if some were lost)."""
        # Safe from another OS thread (the agent's): the hooks keep appending to the same
        # list, so copy what is there and delete exactly that, two steps each atomic.
        events = self.events[:]
        del self.events[: len(events)]
        dropped = len(self._drops)
        if dropped:
            del self._drops[:dropped]
            events.insert(0, (DROPPED, events[0][1] if events else self.clock(), dropped))
        return events

    @property
    def dropped(self) -> int:
        """Events lost since the last take."""
        return len(self._drops)

    # ------------------------------------------------------------------ the hooks

    def _bind(self, buf: list[tuple]) -> None:
        # The hooks are closures over the buffer, its append and the clock.
        append = buf.append
        now = self.clock
        cap = self.capacity
        drops = self._drops

        def drop() -> None:
            drops.append(None)

        func_name = self._func_name
        spawn_site = self._spawn_site
        resource_state = self._resource_state

        def spawned(glet: Any, parent: Any) -> None:
            if len(buf) < cap:
                func = getattr(glet, "func", None)
                pool = getattr(glet, "pool", None)
                append(
                    (
                        SPAWN,
                        now(),
                        _gid(glet),
                        _gid(parent),
                        func_name(func),
                        spawn_site(),
                        None if pool is None else id(pool),
                    )
                )
            else:
                drop()

        def before_switch(glet: Any, _len: Callable = len) -> None:
            if _len(buf) < cap:
                append((SWITCH, now(), 0, _gid(glet)))
            else:
                drop()

        def after_switch(glet: Any, _len: Callable = len) -> None:
            if _len(buf) < cap:
                append((SWITCH, now(), _gid(glet), 0))
            else:
                drop()

        def blocked(glet: Any, reason: str, obj: Any, detail: Any) -> None:
            if len(buf) < cap:
                resource = hasattr(obj, "resource_kind")
                append((BLOCK, now(), _gid(glet), reason, id(obj) if resource else None, detail))
                if resource:
                    resource_state(obj)
            else:
                drop()

        def woken(glet: Any, cause: str, waker: Any) -> None:
            if len(buf) < cap:
                append((WAKE, now(), _gid(glet), cause, _gid(waker)))
                w = getattr(glet, "_gs_waiter", None)
                if w is not None and hasattr(w.obj, "resource_kind"):
                    resource_state(w.obj)
            else:
                drop()

        def exited(glet: Any, outcome: str, exc: BaseException | None) -> None:
            if len(buf) < cap:
                error = None if exc is None else f"{type(exc).__name__}: {exc}"
                append((EXIT, now(), _gid(glet), outcome, error))
            else:
                drop()

        def before_io_wait(timeout: float | None) -> None:
            if len(buf) < cap:
                append((HUB_WAIT, now(), timeout))
            else:
                drop()

        def after_io_wait(nready: int) -> None:
            if len(buf) < cap:
                append((HUB_WAKE, now(), nready))
            else:
                drop()

        def timers_fired(n: int) -> None:
            if len(buf) < cap:
                append((TIMERS, now(), n))
            else:
                drop()

        def resource_created(obj: Any) -> None:
            if len(buf) < cap:
                kind = obj.resource_kind
                size = getattr(obj, _SIZE_ATTR[kind], None) if kind in _SIZE_ATTR else None
                append((RESOURCE, now(), id(obj), kind, obj.name or spawn_site(), size))
            else:
                drop()

        self.spawned = spawned
        self.before_switch = before_switch
        self.after_switch = after_switch
        self.blocked = blocked
        self.woken = woken
        self.exited = exited
        self.before_io_wait = before_io_wait
        self.after_io_wait = after_io_wait
        self.timers_fired = timers_fired
        self.resource_created = resource_created
        self.resource_changed = resource_state
        self._append = append

    def _resource_state(self, obj: Any) -> None:
        kind = obj.resource_kind
        if len(self.events) >= self.capacity:
            self._drops.append(None)
        elif kind == "pool":
            self._append((POOL, self.clock(), id(obj), obj.size, obj.running(), obj.waiting()))
        elif kind == "queue":
            self._append((QUEUE, self.clock(), id(obj), len(obj.queue), obj.maxsize, obj.putting(), obj.getting()))

    # ------------------------------------------------------------------ names and sites, cached

    def _func_name(self, func: Any) -> str:
        code = getattr(func, "__code__", func)
        try:
            return self._names[code]
        except (KeyError, TypeError):
            name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
            try:
                self._names[code] = name
            except TypeError:  # unhashable callable: not cached
                pass
            return name

    def _spawn_site(self) -> str:
        # The innermost frame outside the runtime, where spawn (or a constructor) was
        # called: a walk of a few frames, formatted once per (code, line).
        f = sys._getframe(2)
        while f.f_back is not None and f.f_code.co_filename.startswith(_RUNTIME_DIR):
            f = f.f_back
        key = (f.f_code, f.f_lineno)
        site = self._sites.get(key)
        if site is None:
            site = self._sites[key] = f"{f.f_code.co_filename}:{f.f_lineno}"
        return site

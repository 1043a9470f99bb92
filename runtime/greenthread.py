"""Greenthreads: spawn, sleep, kill, and GreenThread with eventlet's semantics.

A spawned greenthread is a greenlet whose parent is the hub. It first runs when the
spawner yields (it waits in the hub's ready queue), and when it ends, control returns
to the hub. An exception that escapes it is printed once (``Hub.report_exceptions``),
kept for `GreenThread.wait`, and never stops the hub.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import greenlet

from runtime.exceptions import exception_from
from runtime.hubs import get_hub
from runtime.hubs.hub import MAIN_THREAD
from runtime.hubs.waiter import DONE, SCHEDULED
from runtime.instrument import Cause, Reason, hooks
from runtime.waitqueue import WaitQueue

__all__ = [
    "GreenThread",
    "getcurrent",
    "kill",
    "sleep",
    "spawn",
    "spawn_after",
    "spawn_after_local",
    "spawn_n",
]

getcurrent = greenlet.getcurrent
GreenletExit = greenlet.GreenletExit
_gids = itertools.count(2)  # 0 is the hub, 1 the main greenthread
_G = TypeVar("_G", bound="_Green")


def gid_of(glet: Any) -> int:
    """The greenthread id of `glet`: 0 and below for hubs, 1 for the main thread's first greenlet,
    else a counter (the first greenlets of other threads too)."""
    try:
        return glet.gid  # the fast path: the tracer asks on every event
    except AttributeError:
        main = glet.parent is None and threading.get_ident() == MAIN_THREAD
        gid = glet.gid = 1 if main else next(_gids)
        return gid


def check_callable(func: Any, what: str) -> None:
    """TypeError, naming `what`, unless `func` is callable."""
    if not callable(func):
        raise TypeError(f"{what}() needs a callable, got {type(func).__name__} {func!r}")


class _Green(greenlet.greenlet):
    """What spawn and spawn_n share: an id, the run wrapper, the exit report."""

    # slots, not the greenlet's __dict__: one allocation less per greenthread
    __slots__ = ("_gs_site", "_gs_waiter", "_kill_exc", "func", "gid", "pool")

    def __init__(self, parent: greenlet.greenlet) -> None:
        greenlet.greenlet.__init__(self, None, parent)
        self.gid = next(_gids)
        self._kill_exc: BaseException | None = None
        self.func: Callable[..., Any] | None = None
        self.pool: Any = None  # the GreenPool it runs in, told when it exits

    def run(self, packed: tuple) -> None:  # type: ignore[override]
        func, args, kwargs = packed
        try:
            result = func(*args, **kwargs)
        except GreenletExit as e:
            self._exit("killed", e, None)
        except Exception as e:
            if e is self._kill_exc:
                self._exit("killed", e, None)
            else:
                get_hub().report_error(repr(self), e)
                self._exit("error", e, None)
        except BaseException as e:  # SystemExit, KeyboardInterrupt...: the hub hands them to main
            self._exit("error", e, None)
            raise
        else:
            self._exit("ok", None, result)

    def _exit(self, outcome: str, exc: BaseException | None, result: Any) -> None:
        h = hooks.exited
        if h is not None:
            h(self, outcome, exc)
        if self.pool is not None:
            self.pool._member_exited(self)

    def __repr__(self) -> str:
        name = getattr(self.func, "__qualname__", None) or repr(self.func)
        return f"<{type(self).__name__} {self.gid} {name}>"


class GreenThread(_Green):
    """A greenthread with a result: `wait`, `link`, `kill`.

    Create it with `spawn`, not directly.
    """

    __slots__ = ("_done", "_due", "_exc", "_joiners", "_links", "_result", "_start_timer")

    def __init__(self, parent: greenlet.greenlet) -> None:
        _Green.__init__(self, parent)
        self._done = False
        self._result: Any = None
        self._exc: BaseException | None = None
        self._joiners: WaitQueue | None = None
        self._links: list[tuple[Callable[..., Any], tuple, dict]] | None = None
        self._start_timer: Any = None  # spawn_after's, until its delay is up
        self._due = False  # spawn_after's delay is up

    def _exit(self, outcome: str, exc: BaseException | None, result: Any) -> None:
        self._done = True
        self._result = result
        self._exc = exc
        _Green._exit(self, outcome, exc, result)
        if self._joiners is not None:
            self._joiners.unpark_all(None, Cause.EXIT)
        links, self._links = self._links, None
        for func, args, kwargs in links or ():
            self._call_link(func, args, kwargs)

    def _call_link(self, func: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        try:
            func(self, *args, **kwargs)
        except Exception as e:
            get_hub().report_error(f"link {func!r} of {self!r}", e)

    def wait(self) -> Any:
        """Wait for the end; return the result, or raise what ended the greenthread."""
        if not self._done:
            if self is getcurrent():
                raise RuntimeError(f"{self!r} cannot wait for itself")
            if self._joiners is None:
                self._joiners = WaitQueue()
            while not self._done:
                self._joiners.park(Reason.JOIN, self)
        if self._exc is not None:
            raise self._exc
        return self._result

    def link(self, func: Callable[..., Any], *curried_args: Any, **curried_kwargs: Any) -> None:
        """Call ``func(gt, *curried_args, **curried_kwargs)`` when this greenthread ends.

        Called at once if it has already ended. Links run in the ending greenthread,
        in the order they were added; one that raises is reported and skipped.
        """
        check_callable(func, "link")
        if self._done:
            self._call_link(func, curried_args, curried_kwargs)
            return
        if self._links is None:
            self._links = []
        self._links.append((func, curried_args, curried_kwargs))

    def unlink(self, func: Callable[..., Any], *curried_args: Any, **curried_kwargs: Any) -> bool:
        """Remove a link added with the same arguments; True if one was removed."""
        entry = (func, curried_args, curried_kwargs)
        if self._links and entry in self._links:
            self._links.remove(entry)
            return True
        return False

    def kill(self, *throw_args: Any) -> None:
        """Kill this greenthread (see `kill`)."""
        kill(self, *throw_args)

    def cancel(self, *throw_args: Any) -> None:
        """Kill this greenthread only if it has not started yet; else do nothing.

        A `spawn_after` greenthread has started once its delay is up, though it may not
        have run yet (eventlet switches into it at that moment; here it is then ready).
        """
        if not self and not self._due:
            kill(self, *throw_args)

    # eventlet's name for the end of a greenthread's life
    @property
    def finished(self) -> bool:
        return self._done


def _create(hub: Any, cls: type[_G], func: Callable[..., Any], pool: Any = None) -> _G:
    g = cls(hub.greenlet)
    g.func = func
    g.pool = pool
    h = hooks.spawned
    if h is not None:
        h(g, getcurrent())
    return g


def launch(cls: type[_G], func: Callable[..., Any], args: tuple, kwargs: dict, pool: Any = None) -> _G:
    """Create a greenthread of class `cls` (in `pool`) and make it ready to run ``func``."""
    hub = get_hub()
    g = _create(hub, cls, func, pool)
    hub.start(g, func, args, kwargs)
    return g


def run_inline(func: Callable[..., Any], args: tuple, kwargs: dict) -> GreenThread:
    """Run ``func`` now, in the current greenthread; return a finished GreenThread holding its outcome."""
    g = _create(get_hub(), GreenThread, func)
    g.run((func, args, kwargs))  # its run wrapper, called here: it never switches
    return g


def spawn(func: Callable[..., Any], *args: Any, **kwargs: Any) -> GreenThread:
    """Start ``func(*args, **kwargs)`` in a new greenthread; it runs when the caller yields."""
    check_callable(func, "spawn")
    return launch(GreenThread, func, args, kwargs)


def spawn_n(func: Callable[..., Any], *args: Any, **kwargs: Any) -> greenlet.greenlet:
    """Like `spawn`, without a result to wait for (cheaper); returns the greenlet."""
    check_callable(func, "spawn_n")
    return launch(_Green, func, args, kwargs)


def _spawn_later(seconds: float, local: bool, func: Callable[..., Any], args: tuple, kwargs: dict) -> GreenThread:
    check_callable(func, "spawn_after")
    hub = get_hub()
    g = _create(hub, GreenThread, func)
    owner = getcurrent() if local else None
    g._start_timer = hub.call_later(seconds, _start_later, hub, g, owner, args, kwargs)
    h = hooks.blocked
    if h is not None:  # until its delay is up it waits, as a sleep does (not ready to run)
        h(g, Reason.SLEEP, None, seconds)
    return g


def _start_later(hub: Any, g: GreenThread, owner: Any, args: tuple, kwargs: dict) -> None:
    g._start_timer = None
    g._due = True
    if owner is not None and owner.dead:  # spawn_after_local: its spawner is gone
        hub.interrupt(g, GreenletExit(), Cause.KILL)
    else:
        hub.start(g, g.func, args, kwargs, Cause.TIMER)  # type: ignore[arg-type]


def spawn_after(seconds: float, func: Callable[..., Any], *args: Any, **kwargs: Any) -> GreenThread:
    """`spawn` `func` in `seconds` seconds; `cancel()` before then stops it from running."""
    return _spawn_later(seconds, False, func, args, kwargs)


def spawn_after_local(seconds: float, func: Callable[..., Any], *args: Any, **kwargs: Any) -> GreenThread:
    """Like `spawn_after`, but the greenthread is cancelled if its spawner has ended by then."""
    return _spawn_later(seconds, True, func, args, kwargs)


def sleep(seconds: float = 0) -> None:
    """Yield to the hub: with 0, let every other ready greenthread run once; else park."""
    if seconds <= 0:
        # sleep(0) is the hottest path: `Hub.yield_now`'s common case inlined (a call is ~4% of a
        # sleep(0)), the hub found through the greenthread's parent (its hub's greenlet: ~3% less
        # than the thread-local); the greenthread's done waiter goes back into the ready queue.
        cur = getcurrent()
        try:
            w = cur._gs_waiter
            hub = cur.parent.hub
        except AttributeError:  # the main greenthread, a greenlet the runtime did not make
            w = None
        if w is not None and w.state == DONE and w.pending is None:
            w.state = SCHEDULED
            w.value = w.exc = w.reason = None
            hub._ready.append(w)
            hub.greenlet.switch()
        else:
            get_hub().yield_now()
    else:
        get_hub().park(None, Reason.SLEEP, None, seconds)


def kill(g: greenlet.greenlet, *throw_args: Any) -> None:
    """Raise GreenletExit (or ``throw_args``) in `g` now; the caller resumes after `g` has handled it.

    Killing a greenthread that never started ends it without running its function
    (its `wait` raises the exception). Killing a dead one does nothing.
    """
    if g.dead or getattr(g, "_done", False):  # _done: a GreenThread run inline by a pool
        return
    exc = exception_from(throw_args, GreenletExit)
    cur = getcurrent()
    if g is cur:
        raise exc
    hub = get_hub()
    timer = getattr(g, "_start_timer", None)
    if timer is not None:  # spawn_after that has not started: it starts only to exit
        timer.cancel()
        g._start_timer = None
    if isinstance(g, _Green):
        g._kill_exc = exc
    hub.interrupt(g, exc, Cause.KILL)
    if cur is not hub.greenlet:
        hub.yield_now()  # at the back of the ready queue: `g` runs before we resume

"""Every switch of eventlet's or gevent's greenlets, turned into the recorder's hooks.

Two doors. Both libraries park a greenthread by calling their hub's ``switch`` from it: the
eventlet adapter wraps it (`SwitchTrace.parking_switch`); gevent's calls the greenlet's
``switch_out`` first, which the gevent adapter gives its greenlets (`SwitchTrace.leave`). Either
runs in the parking greenthread, before it parks. And ``greenlet.settrace`` calls the trace on
every switch of the thread, whatever library made it, with the greenlet that gave control and
the one that took it. From those:

- **block**: at the hub's ``switch``, the caller's frames say whether the greenthread parks or
  yields (``sleep(0)``), and why (`Parking`); ``blocked`` is called there, from the
  greenthread itself (the recorder reads its frames for the user's line).
- **switch**: a greenthread giving the hub control is remembered (`back`); when the hub
  switches into the next one, one ``switched(back, next)`` reports both, as the runtime's hub
  does; when the hub keeps control (it polls) the switch back is reported then.
- **wake**: when the hub switches a parked greenthread back in, it was woken: by whoever last
  signalled what it waited on (`signal`: a put, a release, a send, an exit), else by the hub
  itself (an fd, a timer, how late; a throw is a timeout). The wake is reported as it happens,
  with the switch: no ready time is shown for these. The timers that woke greenthreads are
  reported as one ``timers`` event (how many, the latest's lateness) when the hub next polls.
- **exit**: a greenthread that switched away dead ended; the adapter says how (`outcome`).

Only the thread that called `start` is traced (the program's main thread). The hot paths are C
(`runtime.attach._switches`: the trace, the park-or-yield test, the park) where it is built and
GREENSCOPE_PURE_PYTHON is not set; else the closures of `SwitchTrace._bind_python`, the same code.
"""

from __future__ import annotations

import os
import sys
import time
from _thread import get_ident
from collections.abc import Callable
from typing import Any

import greenlet

from runtime.attach.parking import DEPTH, REFINE, UNKNOWN, Parking
from runtime.instrument import Cause, Reason, hooks

__all__ = ["NATIVE", "Parked", "SwitchTrace", "socket_rule"]

try:
    if os.environ.get("GREENSCOPE_PURE_PYTHON"):
        raise ImportError("the trace in Python was asked for")
    from runtime.attach import _switches
except ImportError:  # not built here (no compiler, another interpreter): the closures below
    _switches = None  # type: ignore[assignment]

NATIVE = _switches is not None
"""The switch trace's hot paths run in C (`runtime.attach._switches`) unless told otherwise."""

_now = time.perf_counter_ns  # the recorder's clock
_frame = sys._getframe


def socket_rule(library: str, peers: dict[int, Any], peer: Callable[[Any, Any, Any], Any]) -> Any:
    """The rule, in C, of a greenthread of `library` ("gevent": a socket's method; "eventlet": trampoline)
    waiting on a socket: what the adapter's closure of the same name does (the most frequent park of a server)."""
    return getattr(_switches.SocketRule, library)(peers, peer, Reason.IO_READ, Reason.IO_WRITE)


#: what wakes a greenthread parked for each reason, when nobody signalled it
_CAUSE = {
    Reason.IO_READ: Cause.FD_READY,
    Reason.IO_WRITE: Cause.FD_READY,
    Reason.SLEEP: Cause.TIMER,
    Reason.THREAD: Cause.THREAD,
    Reason.JOIN: Cause.EXIT,
    Reason.QUEUE_GET: Cause.PUT,
    Reason.QUEUE_PUT: Cause.GET,
    Reason.POOL_SLOT: Cause.RELEASE,
    Reason.SEMAPHORE: Cause.RELEASE,
    Reason.LOCK: Cause.RELEASE,
}
_IO = frozenset((Reason.IO_READ, Reason.IO_WRITE))


class Parked:
    """A parked greenthread: why, since when its timer runs out (ns, or 0), who signalled it."""

    __slots__ = ("cause", "deadline", "glet", "obj", "reason", "waker")

    def __init__(self, glet: Any, reason: str, obj: Any, deadline: int) -> None:
        self.glet = glet
        self.reason = reason
        self.obj = obj
        self.deadline = deadline
        self.cause: str | None = None
        self.waker: Any = None


class SwitchTrace:
    """The switch trace of one adapter: install with `start`, remove with `stop`.

    `find_hub()` gives the hub greenlet of the current thread (or None); `on_hub(hub)` is
    called once per hub adopted; `outcome(glet, threw)` says how a dead greenlet ended:
    ``(outcome, exception)``. A greenthread on its way to the hub calls `parking_switch`'s
    wrapper of the hub's switch, or `leave` (gevent's ``switch_out``): with `announces`, one
    that called neither is tested by the trace, from its suspended frame (its block is then
    reported from the hub). `native`: the hot paths in C (default `NATIVE`), else in Python.
    """

    def __init__(
        self,
        parking: Parking,
        find_hub: Callable[[], Any],
        outcome: Callable[[Any, bool], tuple[str, BaseException | None]],
        on_hub: Callable[[Any], None] = lambda hub: None,
        announces: bool = False,
        native: bool | None = None,
    ) -> None:
        if native and not NATIVE:
            raise ImportError("runtime.attach._switches is not there (not built, or GREENSCOPE_PURE_PYTHON=1)")
        self.native = NATIVE if native is None else native
        self.parking = parking
        self.find_hub = find_hub
        self.outcome = outcome
        self.on_hub = on_hub
        self.announces = announces
        self.parked: dict[Any, Any] = {}  # greenlet -> why it waits (a Parked)
        self.waits: dict[Any, list[Any]] = {}  # object -> who waits on it (Parked), in order
        self._thread = 0
        self._core: Any = None  # the trace in C, where it runs
        self._previous: Any = None
        self._bind()

    @property
    def thread(self) -> int:
        """The thread traced (its ``get_ident()``), set by `start`."""
        return self._thread

    @thread.setter
    def thread(self, ident: int) -> None:
        self._thread = ident
        if self._core is not None:
            self._core.thread = ident

    # ------------------------------------------------------------------ install

    def start(self) -> None:
        """Trace the switches of this thread (after any trace function already set, which goes on)."""
        self.thread = get_ident()
        previous = greenlet.gettrace()
        trace = self._trace
        if previous is not None:

            def both(event: str, args: tuple[Any, Any]) -> None:
                trace(event, args)
                previous(event, args)

            trace = both
        self._previous = previous
        greenlet.settrace(trace)

    def stop(self) -> None:
        """Remove the trace; what it handed out (`leave`, `parking_switch`'s wrappers) reports nothing
        more: a class of greenlets a module kept from this trace may still call its `leave`."""
        greenlet.settrace(self._previous)
        self._previous = None
        self.thread = 0

    # ------------------------------------------------------------------ what adapters call

    def signal(self, obj: Any, cause: str, waker: Any = None, every: bool = False, reason: str | None = None) -> None:
        """`waker` (default: the current greenlet) did something to `obj` that wakes the first
        greenthread waiting on it (or `every` one; those parked for `reason`, if given) not yet
        signalled: their wakes will say so."""
        waiting = self.waits.get(obj)
        if not waiting or get_ident() != self._thread:
            return
        if waker is None:
            waker = greenlet.getcurrent()
        for p in waiting:
            if p.waker is None and (reason is None or p.reason == reason):
                p.cause, p.waker = cause, waker
                if not every:
                    return

    # ------------------------------------------------------------------ the trace

    def _bind(self) -> None:
        # What both traces call back (an end, a greenlet the adapter did not see spawned), and the park in Python.
        parked, waits, why, outcome = self.parked, self.waits, self.parking.why, self.outcome
        signal = self.signal
        _hooks = hooks  # a closure cell: faster than the global

        def park(glet: Any, frame: Any) -> None:
            """`glet` calls its hub's switch from `frame` (None: from compiled code), not to yield: why."""
            try:
                found = why(frame)
            except Exception as e:  # a rule that misread a library's frame must not stop the program
                found = (UNKNOWN, None, f"{type(e).__name__}: {e}")
            if found is None:  # it yields: ready again at once
                return
            reason, obj, detail = found
            deadline = 0
            if type(detail) is float or type(detail) is int:
                if reason not in _IO:
                    deadline = _now() + int(detail * 1e9)
            elif detail is not None and type(detail) is not str:
                detail = None  # a library variable that held a timeout holds something else by now
            p = parked[glet] = Parked(glet, reason, obj, deadline)
            if obj is not None:
                waits.setdefault(obj, []).append(p)
            h = _hooks.blocked
            if h is not None:
                h(glet, reason, obj, detail)

        def exited(glet: Any, threw: bool) -> None:
            """`glet` ended (its wake, if it was parked, is reported already): how, and who waited for it."""
            h = _hooks.exited
            if h is not None:
                h(glet, *outcome(glet, threw))
            signal(glet, Cause.EXIT, glet, every=True)

        def announce(glet: Any, parent: Any) -> None:
            # A greenlet the adapter did not see spawned (a raw one): it starts now.
            h = _hooks.spawned
            if h is not None and glet.parent is not None:
                h(glet, parent)

        if self.native:
            core = self._core = _switches.Core(
                parked=parked,
                waits=waits,
                yields=self.parking.yields,
                hooks=hooks,
                causes=_CAUSE,
                timer=Cause.TIMER,
                timeout=Cause.TIMEOUT,
                kill=Cause.KILL,
                send=Cause.SEND,
                find_hub=self.find_hub,
                on_hub=self.on_hub,
                rules=self.parking.rules,
                unknown=(UNKNOWN, None, None),
                io=_IO,
                depth=DEPTH,
                refine=REFINE,
                exited=exited,
                announce=announce,
                clock=_now,
                announces=self.announces,
            )
            core.thread = self._thread
            self.parking.on_change.append(core.forget)
            self._trace = core
            self.parking_switch = core.parking
            self.hub_waits = core.hub_waits
            self.hub_woke = core.hub_woke
            self.hub_woke_pending = core.hub_woke_pending
            self.leave = core.leave
        else:
            self._bind_python(park, exited, announce)

    def _bind_python(
        self,
        park: Callable[[Any, Any], None],
        exited: Callable[[Any, bool], None],
        announce: Callable[[Any, Any], None],
    ) -> None:
        # The hot paths in Python: closures over locals (the trace runs on every switch, `parking` on every
        # way to the hub). `runtime.attach._switches.Core` does the same in C.
        parked, waits, yields = self.parked, self.waits, self.parking.yields
        current = greenlet.getcurrent
        _hooks = hooks  # a closure cell: faster than the global
        back: Any = None  # the greenthread that gave the hub control, its switch not reported yet
        hub: Any = None  # this thread's hub greenlet
        fired = late_most = 0  # timers that woke greenthreads since the hub last polled; the latest's lateness
        leaving: Any = None  # the greenlet that called `leave` last (its switch to the hub not traced yet)
        announces = self.announces

        def hub_waits(timeout: float | None) -> None:
            """The hub waits on its poller for at most `timeout` seconds (it has had control since
            the last greenthread gave it back: that switch is reported now, and the timers it fired)."""
            nonlocal back, fired, late_most
            if back is not None:
                h = _hooks.switched
                if h is not None:
                    h(back, hub)
                back = None
            if fired:
                h = _hooks.timers_fired
                if h is not None:
                    h(fired, late_most)
                fired = late_most = 0
            h = _hooks.before_io_wait
            if h is not None:
                h(timeout)

        def hub_woke(nready: int) -> None:
            h = _hooks.after_io_wait
            if h is not None:
                h(nready)

        def hub_woke_pending(loop: Any) -> None:
            hub_woke(loop.pendingcnt)

        def parks(glet: Any, frame: Any) -> None:
            """`glet` calls its hub's switch from `frame` (None: no Python frame), or did and is suspended
            there: it parks, unless it yields."""
            try:  # the fast way out first, with no call: a yield (sleep(0))
                at = yields.get(id(frame.f_code))
                yielded = at is not None and (frame.f_lasti in at if type(at) is frozenset else frame.f_locals[at] <= 0)
            except Exception:  # not the frame expected: the rules will say
                yielded = False
            if not yielded:
                park(glet, frame)

        def parking(switch: Callable[[Any], Any]) -> Callable[[Any], Any]:
            """The hub's `switch`, seeing first whether the greenthread calling it parks, and why."""

            def traced_switch(self: Any) -> Any:
                if get_ident() == self_._thread:
                    try:
                        frame = _frame(1)  # what called the hub's switch (a compiled caller leaves none)
                    except ValueError:  # no Python frame under it at all
                        frame = None
                    try:  # (parks(), inline)
                        at = yields.get(id(frame.f_code))
                        yielded = at is not None and (
                            frame.f_lasti in at if type(at) is frozenset else frame.f_locals[at] <= 0
                        )
                    except Exception:
                        yielded = False
                    if not yielded:
                        park(current(), frame)
                return switch(self)

            return traced_switch

        def leave() -> None:
            """The current greenthread gives its hub control (gevent's ``switch_out``, called from the hub's switch)."""
            nonlocal leaving
            if get_ident() == self_._thread:
                try:
                    frame = _frame(1)
                except ValueError:
                    frame = None
                glet = leaving = current()  # it said why: its next switch, to the hub, is not tested again
                parks(glet, frame)

        def wake(glet: Any, p: Parked, threw: bool, by: Any) -> None:
            nonlocal fired, late_most
            obj = p.obj
            if obj is not None:
                waiting = waits[obj]
                waiting.remove(p)
                if not waiting:
                    del waits[obj]
            if p.waker is not None:
                cause, waker = p.cause, p.waker
            elif threw:
                cause, waker = (Cause.TIMEOUT if by is hub else Cause.KILL), by
            else:
                cause, waker = _CAUSE.get(p.reason, Cause.SEND), by
            late = 0
            if p.deadline and (cause == Cause.TIMER or cause == Cause.TIMEOUT):
                late = max(0, _now() - p.deadline)  # the timer fired that late
                fired += 1  # reported from the hub when it next polls (here, the woken one is current)
                if late > late_most:
                    late_most = late
            h = _hooks.woken
            if h is not None:
                h(glet, cause, waker, obj, late)

        def ended(glet: Any, threw: bool) -> None:
            p = parked.pop(glet, None)
            if p is not None:
                wake(glet, p, threw, glet)
            exited(glet, threw)

        def trace(event: str, args: tuple[Any, Any]) -> None:
            nonlocal back, hub, leaving
            origin, target = args
            if target is hub:  # a greenthread gives the hub control: it parked (`parking` said so), yielded or ended
                announced = origin is leaving  # (one that said why is alive: it parks)
                leaving = None
                if not announced:
                    frame = origin.gr_frame
                    if frame is None:  # it ended (cheaper than gevent's `dead` property)
                        ended(origin, event == "throw")
                    elif announces:  # it did not say why: its frame will
                        parks(origin, frame)
                back = origin
            elif origin is hub:  # the hub runs a greenthread
                if parked:
                    p = parked.pop(target, None)
                    if p is not None:
                        wake(target, p, event == "throw", hub)
                try:
                    target.gid  # noqa: B018 -- announced (the recorder gave it an id) or not
                except AttributeError:
                    announce(target, hub)
                h = _hooks.switched
                if h is not None:
                    h(hub if back is None else back, target)
                back = None
            else:
                found = self_.find_hub()
                if found is not None and found is not hub and (found is origin or found is target):
                    found.gid = 0  # what the recorder calls the main thread's hub
                    hub = found
                    self_.on_hub(found)
                    trace(event, args)
                    return
                # straight from one greenthread to another (eventlet's kill throws into its target)
                if origin.dead:
                    ended(origin, event == "throw")
                p = parked.pop(target, None)
                if p is not None:
                    wake(target, p, event == "throw", origin)
                h = _hooks.switched
                if h is not None:
                    h(origin, target)

        self_ = self
        self._trace = trace
        self.parking_switch = parking
        self.hub_waits = hub_waits
        self.hub_woke = hub_woke
        self.hub_woke_pending = hub_woke_pending
        self.leave = leave

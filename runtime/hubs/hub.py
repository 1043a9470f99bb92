"""The hub: the scheduler of every greenthread in one OS thread.

Design rules (the kernel stays small):
- The hub knows greenlets, timers and file descriptors; nothing about sockets, queues
  or pools. Those are built outside, on `park` / `wake` and `wait_fd`.
- Every switch into a greenthread is made by the loop below, from the ready queue.
  Timers and fds never switch into a greenthread themselves: they make it ready.
- Every block and wake goes through `park` and `_resume`: the one place where the
  ``blocked`` and ``woken`` hooks are called, so every wait has a reason and a waker.
- A parked greenthread's `Waiter` sits in a `WaitContainer` (a wait queue, an fd's
  watch, a call in an OS thread): the one protocol between the kernel and what waits.
- A greenthread has at most one `Waiter` in flight (stored on it as ``_gs_waiter``), so it
  can never be resumed twice for one park.
- A wake is never taken back. A kill or a timeout that arrives after a greenthread was
  woken (it got its item, its permit, its event) is raised at its next blocking call,
  so an operation either completed or raised, never both: nothing is lost.

The loop, in plain words (the hub enters it at 1: whoever switched to it first was
running, as if in step 3 of a pass):
    1. fire the due timers;
    2. wait on the poller until the next deadline (not at all if something is ready);
    3. run every greenthread that was ready when this step began (FIFO). A paced hub (the
       dashboard's live control, `runtime.hubs.control`) may hold before each switch.

Here: the loop, park and wake. The timer doors are `runtime.hubs.timers.TimerDoors` (a timed wait's
timeout: a FIFO per timeout value, `runtime.hubs.timeouts`, not a timer each), the fd doors
`runtime.hubs.fds.FdDoors`, the doors for other OS threads `runtime.hubs.threads.ThreadDoors`:
parts of `Hub`, in modules of their own.
"""

from __future__ import annotations

import _thread
import heapq
import itertools
import os
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

import greenlet

from runtime.hubs.clock import TestClock
from runtime.hubs.fds import FdDoors, FdWatch
from runtime.hubs.poller import Poller, make_poller
from runtime.hubs.threads import ThreadDoors
from runtime.hubs.timeouts import Slots
from runtime.hubs.timers import Timer, TimerDoors
from runtime.hubs.waiter import DONE, PARKED, SCHEDULED, TIMED_OUT, Deadlock, WaitContainer, Waiter
from runtime.instrument import Cause, Reason, hooks

#: the main thread: its hub is gid 0 and its first greenlet gid 1 (the main greenthread)
MAIN_THREAD = threading.main_thread().ident
_other_hubs = itertools.count(-1, -1)  # the hubs of other OS threads: -1, -2, ...


def hub_gid() -> int:
    """The greenthread id of a new hub in this thread: 0 in the main thread, below 0 elsewhere."""
    return 0 if threading.get_ident() == MAIN_THREAD else next(_other_hubs)


class HubGreenlet(greenlet.greenlet):
    """The greenlet a hub runs in: its `gid` (a hook reads it on every wake) and its `hub` in slots.

    Every greenthread's parent: ``sleep(0)`` finds its hub there, quicker than in the thread-local.
    """

    __slots__ = ("gid", "hub")


__all__ = ["Hub", "hub_gid"]

getcurrent = greenlet.getcurrent
_SLEEP = Reason.SLEEP
_real_lock = _thread.allocate_lock  # taken before monkey-patching can make it green: OS threads share it


def _raise(exc: BaseException) -> None:
    raise exc


def _raise_pending(w: Waiter) -> None:
    exc = w.pending
    w.pending = None
    raise exc  # type: ignore[misc]


def _root_of(glet: Any) -> Any:
    while glet.parent is not None:
        glet = glet.parent
    return glet


class Hub(TimerDoors, FdDoors, ThreadDoors):
    """The scheduler of one OS thread. Use `runtime.hubs.get_hub()` to get it.

    The kernel's doors, the only ways into the scheduler (no guard rails: the caller
    keeps the rules above):

    - `start`: make a new greenlet ready to run a function;
    - `yield_now`: go to the back of the ready queue;
    - `park` / `wake`: block the current greenthread in a `WaitContainer`; make a parked
      one ready with a value or an exception;
    - `interrupt`: make a greenthread raise as soon as possible, whatever it waits for;
    - `call_at`: a timer; `wait_fd` / `wait_fds` / `notify_close`: fd readiness;
    - `expect_threadsafe` / `call_threadsafe` / `threadsafe_done`: work handed in from
      other OS threads.

    Conveniences, built on those: `call_later`, `schedule_call_global` /
    `schedule_call_local` (eventlet's names), `raise_in_main`; and the hub's own state:
    `pending_timers`, `is_idle`, `report_error`, `close`.
    """

    def __init__(self, poller: Poller | None = None, clock: Callable[[], float] | None = None) -> None:
        self.clock: Callable[[], float] = clock if clock is not None else time.monotonic
        self._virtual_clock: TestClock | None = clock if isinstance(clock, TestClock) else None
        self.poller: Poller = poller if poller is not None else make_poller()
        #: Print the traceback of an exception that escapes a greenthread (once).
        self.report_exceptions = True
        self._ready: deque[Waiter] = deque()
        self._timers: list[tuple[float, int, Timer]] = []
        self._cancelled = 0  # cancelled timers still in the heap
        self._late = 0  # while a timer's callback runs: ns between its deadline and its firing
        self._fired = self._latest = 0
        self._timeouts = Slots(self)  # timed waits that share a timeout: a FIFO each, not a timer each
        self._fifos = self._timeouts.by_seconds
        self._seq = itertools.count()
        self._watches: dict[int, FdWatch] = {}
        self._fd_waiters = 0
        # calls from other OS threads, and the pipe that wakes the poller for them
        self._threadsafe: deque[tuple[Callable[..., Any], tuple]] = deque()
        self._external = 0  # calls announced by expect_threadsafe and not yet arrived
        self._wakeup_r = self._wakeup_w = -1
        self._root = _root_of(getcurrent())
        self.greenlet = HubGreenlet(self._run, self._root)
        self.greenlet.gid = hub_gid()
        self.greenlet.hub = self
        self.closed = False
        # other threads' wake-ups and close() take turns: a write never lands on a closed (or reused) fd
        self._wakeup_lock = _real_lock()
        #: The live control of this hub's pace (`runtime.hubs.control.Pace`) while it is paced, else None.
        self.pace: Any = None

    def __repr__(self) -> str:
        return (
            f"<Hub {self.poller.name} ready={len(self._ready)} timers={self.pending_timers()}"
            f" fd_waiters={self._fd_waiters} threads={self._external}>"
        )

    # ------------------------------------------------------------------ scheduling

    def start(self, glet: Any, func: Callable[..., Any], args: tuple, kwargs: dict, cause: str | None = None) -> None:
        """Make a new greenlet (child of the hub) ready to run ``func(*args, **kwargs)``; with `cause`,
        one whose start waited (a ``spawn_after`` delay, reported as a block) is reported woken by it.

        A greenlet started by the hub receives ``(func, args, kwargs)`` as its one
        argument: its ``run(packed)`` unpacks it.
        """
        w = Waiter(glet, SCHEDULED, (func, args, kwargs))
        glet._gs_waiter = w
        self._ready.append(w)
        if cause is not None:
            h = hooks.woken
            if h is not None:
                h(glet, cause, getcurrent(), None, self._late)

    def yield_now(self) -> None:
        """Let every other ready greenthread run once, then continue (``sleep(0)``)."""
        cur = getcurrent()
        # sleep(0) is the hottest path: reuse the greenthread's last waiter when it is
        # done (nothing acts on a done waiter) instead of allocating one per yield.
        try:
            w = cur._gs_waiter  # (an attribute read: cheaper than getattr with a default)
        except AttributeError:  # the hub (it never has a waiter), or a greenlet the runtime did not make
            if cur is self.greenlet:
                raise RuntimeError("sleep() cannot be called from the hub itself (a timer callback?)") from None
            w = None
        if w is not None and w.state == DONE:
            if w.pending is not None:
                _raise_pending(w)
            w.state = SCHEDULED
            w.value = w.exc = w.reason = None
        else:
            w = cur._gs_waiter = Waiter(cur, SCHEDULED)
        self._ready.append(w)
        self.greenlet.switch()

    def park(
        self,
        container: WaitContainer | None,
        reason: str,
        obj: Any,
        timeout: float | None = None,
        detail: Any = None,
        data: Any = None,
    ) -> Any:
        """Block the current greenthread until it is woken; return what it was woken with.

        Its `Waiter` goes into `container` (None: only a timeout or an interrupt can end
        the wait). `reason` (a `Reason`) and `obj` (what it waits on) are what the
        ``blocked`` and ``woken`` hooks report; `detail` too (default: the timeout).
        `data` rides on the waiter for whoever wakes it. Returns `TIMED_OUT` when
        `timeout` seconds passed first.
        """
        cur = getcurrent()
        try:
            last = cur._gs_waiter  # (as in yield_now: cheaper than getattr with a default)
        except AttributeError:  # the hub (it never has a waiter), or a greenlet the runtime did not make
            if cur is self.greenlet:
                raise RuntimeError(f"cannot block inside the hub (waiting for {reason} on {obj!r})") from None
        else:
            if last.pending is not None:
                _raise_pending(last)
        w = cur._gs_waiter = Waiter(cur, PARKED)
        w.reason = reason
        w.obj = obj
        w.data = data
        if container is not None:
            w.container = container
            container.add(w)
        if timeout is not None:
            fifo = None
            if reason != _SLEEP and timeout > 0:  # (sleeps: equal deadlines fire in the order set)
                fifo = self._fifos.get(timeout) or self._timeouts.get(timeout)
            if fifo is not None:
                fifo.add(w)
            else:
                w.timer = self.call_later(timeout, self._expire, w)
        h = hooks.blocked
        if h is not None:
            h(cur, reason, obj, timeout if detail is None else detail)
        try:
            return self.greenlet.switch()
        finally:
            if w.state != DONE:  # left by a foreign switch or throw: withdraw what is left
                self._withdraw(w)
                if w.timer is not None:
                    w.timer.cancel()
                    w.timer = None
                w.state = DONE

    def wake(self, w: Waiter, value: Any = None, cause: str = Cause.SEND, exc: BaseException | None = None) -> bool:
        """Make the parked `w` ready with `value` (or to raise `exc`). False if it was not parked."""
        if w.state != PARKED:
            return False
        if w.container is not None:  # (a queue's hand-off took its waiter out already: no call)
            self._withdraw(w)
        self._resume(w, value, exc, cause)
        return True

    def _resume(
        self, w: Waiter, value: Any, exc: BaseException | None, cause: str, front: bool = False, late: int = 0
    ) -> None:
        # `w` is out of its container already; the one place a parked greenthread becomes ready.
        t = w.timer
        if t is not None:
            w.timer = None
            t.cancel()
        w.state = SCHEDULED
        w.value = value
        w.exc = exc
        if front:
            self._ready.appendleft(w)
        else:
            self._ready.append(w)
        h = hooks.woken
        if h is not None:
            h(w.glet, cause, getcurrent(), w.obj, late)

    def _withdraw(self, w: Waiter) -> None:
        c = w.container
        if c is not None:
            w.container = None
            c.discard(w)

    def time_out(self, w: Waiter, late: int) -> None:
        """`w`'s timeout passed `late` ns ago, its `Timeouts` says (counted as a timer fired)."""
        self.count_fired(late)
        self._late = late
        self._expire(w)

    def _expire(self, w: Waiter) -> None:
        if w.state == PARKED:
            w.timer = None  # it is firing: nothing to cancel
            self._withdraw(w)
            cause = Cause.TIMER if w.reason == Reason.SLEEP else Cause.TIMEOUT
            self._resume(w, TIMED_OUT, None, cause, late=self._late)

    def interrupt(self, glet: Any, exc: BaseException, cause: str = Cause.KILL) -> None:
        """Make `glet` raise `exc` as soon as possible.

        A parked greenthread leaves its container and goes to the front of the ready queue to
        raise `exc`; one that never started starts only to raise it; one that yielded
        raises it instead of resuming. One already woken keeps what it was woken with and
        raises `exc` at its next blocking call (a kill replaces a pending timeout there).
        Not for the current greenthread (raise instead); a no-op for a dead one.
        """
        if glet.dead:
            return
        if glet is getcurrent():
            raise RuntimeError("interrupt() cannot target the current greenthread; raise instead")
        w = getattr(glet, "_gs_waiter", None)
        if not glet:  # never started
            if w is not None:
                w.state = DONE
            w = glet._gs_waiter = Waiter(glet, SCHEDULED, (_raise, (exc,), {}))
            self._ready.appendleft(w)
            h = hooks.woken
            if h is not None:
                h(glet, cause, getcurrent(), None, 0)
        elif w is None or w.state == DONE:
            raise RuntimeError(f"{glet!r} is not scheduled by this hub")
        elif w.state == PARKED:
            self._withdraw(w)
            self._resume(w, None, exc, cause, front=True)
        elif w.reason is None:  # SCHEDULED by a yield: raise instead of resuming
            w.exc = exc
        elif w.pending is None or cause == Cause.KILL:  # SCHEDULED by a wake: never taken back
            w.pending = exc

    # ------------------------------------------------------------------ the loop

    def _run(self) -> None:
        back: Any = self._root  # the first switch into the hub came from the root greenlet
        while True:
            try:
                self._loop(back)
            except greenlet.GreenletExit:
                raise  # the hub itself is being killed (its thread is ending)
            except BaseException as e:
                # A signal arrived in the hub, or a greenthread let SystemExit (or another
                # BaseException) out: the main greenthread gets it, as it would without
                # green threads, and the hub stays alive for whatever runs next.
                self._to_root(e)
                back = self._root

    def _loop(self, back: Any) -> None:
        # `back`: the greenlet that gave control back to the hub and whose switch has not
        # been reported yet; when the hub goes straight on to the next greenthread, the
        # `switched` hook reports both ends in one call.
        ready = self._ready
        # bound once: the loop below is the hottest code here (`hooks` is one object for
        # good, its attributes change when an instrument comes or goes: read at each switch)
        popleft = ready.popleft
        hooks_ = hooks
        scheduled, done = SCHEDULED, DONE
        while True:
            # 1. fire due timers
            timers = self._timers
            if timers and timers[0][0] <= self.clock():
                self._report_back(back)
                back = self.greenlet
                self._fire_timers()
                timers = self._timers
            # 2. wait for fds until the next deadline; with something ready, poll without
            # waiting, and only if an fd (or another OS thread) could wake someone: else it
            # would be a wasted system call
            if ready:
                if self._fd_waiters or self._external or self._threadsafe:
                    back = self._poll(back, 0.0, None)
            elif len(timers) > self._cancelled:
                while not timers[0][2].active:  # drop cancelled timers at the front
                    heapq.heappop(timers)
                    self._cancelled -= 1
                deadline = timers[0][0]
                back = self._poll(back, max(0.0, deadline - self.clock()), deadline)
            elif self._fd_waiters or self._external or self._threadsafe:
                back = self._poll(back, None, None)
            else:
                self._report_back(back)
                back = self._nothing_can_happen()
            # 3. run what was ready when this step began; later arrivals wait a pass
            n = len(ready)
            pace = self.pace  # paced only from step 2 on (a call from another thread), or by itself
            while n:
                n -= 1
                w = popleft()
                if w.state != scheduled:
                    continue
                if pace is not None:  # a switch boundary: the pace may stretch the last turn, or hold here
                    back = pace.gate(back, w)
                w.state = done
                glet = w.glet
                h = hooks_.switched
                if h is not None:
                    h(back, glet)  # `back` is the hub's greenlet when nothing came back since
                if w.exc is None:
                    value = w.value
                    if value is None and w.reason is None:  # a yield: it ignores what its switch returns
                        glet.switch()  # (no argument to pack; a park's switch would return () for None)
                    else:
                        glet.switch(value)
                else:
                    glet.throw(w.exc)
                back = glet

    def _report_back(self, back: Any) -> None:
        # The hub keeps control for a while (timers, the poller): report the switch back now.
        if back is not self.greenlet:
            if self.pace is not None:  # slow motion stretches the turn before it is reported
                self.pace.ended(back)
            h = hooks.switched
            if h is not None:
                h(back, self.greenlet)

    def _poll(self, back: Any, timeout: float | None, deadline: float | None) -> Any:
        # Report the switch back to the hub, wait on the poller, wake whoever an fd is
        # ready for; return the hub's greenlet (the new `back`).
        self._report_back(back)
        poller = self.poller
        h = hooks.before_io_wait
        if h is not None:
            h(timeout)
        virtual = self._virtual_clock
        if virtual is not None and virtual.autojump and timeout != 0:
            # virtual time: look at the fds, and if none is ready jump to the deadline
            events = poller.wait(0)
            if not events:
                if deadline is None:
                    events = poller.wait(None)
                else:
                    virtual.advance_to(deadline)
        else:
            events = poller.wait(timeout)
        h = hooks.after_io_wait
        if h is not None:
            h(len(events))
        if events:
            self._dispatch(events)
        return self.greenlet

    def _nothing_can_happen(self) -> Any:
        # Nothing is ready, no timer is set, no fd is watched: nothing will ever run
        # again unless the main greenthread does something. Returns who came back.
        w = getattr(self._root, "_gs_waiter", None)
        if w is not None and w.state == PARKED:
            err = Deadlock(
                f"the main greenthread waits for {w.reason} on {w.obj!r}, but nothing can wake it:"
                " no greenthread is ready, no timer is set and no fd is watched"
            )
            self.wake(w, None, Cause.DEADLOCK, err)
            return self.greenlet
        self._to_root()
        return self._root

    def _to_root(self, exc: BaseException | None = None) -> None:
        # Give control to the root greenlet outside the ready queue (to raise `exc`, if given).
        h = hooks.switched
        if h is not None:
            h(self.greenlet, self._root)
        if exc is None:
            self._root.switch()
        else:
            self._root.throw(exc)

    # ------------------------------------------------------------------ errors, shutdown

    def report_error(self, where: str, exc: BaseException) -> None:
        """Print an exception that nobody else will see (if `report_exceptions`)."""
        if self.report_exceptions:
            print(f"Exception in {where}:", file=sys.stderr)
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)

    def is_idle(self) -> bool:
        """True when nothing is ready, no timer is set and no greenthread waits on an fd."""
        return not self._ready and self.pending_timers() == 0 and self._fd_waiters == 0 and self._external == 0

    def close(self) -> None:
        """Release the poller (and the wake-up pipe). The hub must not be used afterwards."""
        with self._wakeup_lock:
            if self.closed:
                return
            self.closed = True
            self.poller.close()
            if self._wakeup_r >= 0:
                os.close(self._wakeup_r)
                os.close(self._wakeup_w)

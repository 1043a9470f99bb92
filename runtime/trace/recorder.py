"""The recorder: an instrument that turns the runtime's hooks into events in a bounded buffer.

    rec = Recorder()
    rec.install()
    ...                       # the program runs; events accumulate
    events = rec.take()       # everything since the last take, oldest first

Its hot hooks are closures over the buffer's ``append`` and the clock (no attribute
lookups, no bound methods) and cannot raise, so they are installed without the
instrument guard. The hottest (switched, blocked, woken, and the hub's before_io_wait,
after_io_wait, timers_fired) are `runtime.trace._hooks`, the same in C, where it was
built (unless ``GREENSCOPE_PURE_PYTHON=1``): they keep their events in a buffer of their own,
times and ids as raw int64s, and hand them out as ``array("q")`` columns (no int object
made per time, none freed at the take). When the hub goes straight from one
greenthread to the next, the switch out and the switch in are one ``switch`` event (the
hub reports them so).
What is costly to compute — a function's qualified name, a spawn site — is cached
per code object (and line). When the buffer is full, events are
dropped and counted; the next `take` ends with a ``dropped`` event saying how many.
`take` may be called from another OS thread (the agent's) while the program runs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import greenlet

from runtime import site
from runtime.greenthread import gid_of
from runtime.instrument import Instrument, add_instrument, remove_instrument
from runtime.trace.events import (
    BLOCK,
    CLOCK,
    CONTROL,
    DROPPED,
    EXIT,
    FIELDS,
    HUB_WAIT,
    HUB_WAKE,
    POOL,
    QUEUE,
    RESOURCE,
    SPAWN,
    STALL,
    SWITCH,
    TIMERS,
    WAKE,
    Batch,
)

__all__ = ["Recorder"]

try:
    if os.environ.get("GREENSCOPE_PURE_PYTHON"):
        raise ImportError("the hooks in Python were asked for")
    from runtime.trace._hooks import Hooks as _CHooks
except ImportError:  # not built here (no compiler, another interpreter): the closures below
    _CHooks = None

_now = time.perf_counter_ns  # CLOCK_MONOTONIC, in ns


_NEVER = 1 << 63  # a time no clock reaches

_SIZE_ATTR = {"pool": "size", "queue": "maxsize", "semaphore": "counter"}


class Recorder(Instrument):
    """Records every hook as an event (see `runtime.trace.events`) in a bounded buffer."""

    guarded = False

    def __init__(self, capacity: int = 1_000_000, clock: Callable[[], int] = _now) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.clock = clock
        self._drops: list[None] = []  # one entry per lost event (appends are atomic across threads)
        self._names: dict[Any, str] = {}  # code object -> qualified name
        # The buffer, a Batch being filled: a hook appends an event's values first, its kind
        # last, so that the kinds say which events are whole.
        self._kinds = bytearray()
        self._values: dict[int, list] = {kind: [] for kind in FIELDS}
        self._state: tuple[int, int | None] | None = None  # running() as of the last take (hooks in Python)
        self._fast: Any = None  # the hooks in C, where they run: they keep their kinds' events themselves
        self._due: list = [_NEVER, None]  # call_at's: when, and whom (the hooks in Python)
        self._call_at = self._call_at_in_python
        #: wait_idle(fds, still_ns, late_ns) -> int, where the hooks are C on the default clock (else None):
        #: without the GIL, until one of `fds` is readable (1), what runs has run `still_ns` with no switch
        #: (2), or the `call_at` call is `late_ns` overdue (3); a 0 for still_ns or late_ns leaves that
        #: unwatched. The agent's thread and the stall monitor wait in it; while the program keeps switching
        #: (and comes back to its hub for `call_at`), they do not even wake (a wake costs a busy program).
        self.wait_idle: Callable[[tuple, int, int], int] | None = None
        self.recording = False  # installed: its hooks see the program
        self._told: set[int] = set()  # pipes written to at each install and uninstall (`tell_changes`)
        self._bind()

    # ------------------------------------------------------------------ install, take

    def install(self) -> Recorder:
        """Start recording (process-wide); returns self."""
        gid_of(greenlet.getcurrent())  # the main greenthread gets its id before any hook needs it
        add_instrument(self)
        self.recording = True
        self._tell()
        return self

    def uninstall(self) -> None:
        remove_instrument(self)
        self.recording = False
        self._tell()

    def tell_changes(self, fd: int, tell: bool = True) -> None:
        """Write a byte to `fd` (a non-blocking pipe's end) each time the recorder is installed or uninstalled
        (`tell` False: no more): how a thread waits for recording to start or stop without looking (a look
        takes the GIL from the program, and a thread woken only to look costs a busy program even without)."""
        if tell:
            self._told.add(fd)
        else:
            self._told.discard(fd)

    def _tell(self) -> None:
        for fd in tuple(self._told):
            try:
                os.write(fd, b"!")
            except BlockingIOError:  # full: its reader has been told already
                pass

    def stall(self, ts: int, gid: int, ns: int, stack: list[str]) -> None:
        """Record that `gid` ran `ns` from `ts` without giving control back (the stall monitor
        calls this from its own OS thread: only it writes ``stall`` values)."""
        if len(self._kinds) < self.capacity:
            self._values[STALL].extend((ts, gid, ns, stack))
            self._kinds.append(STALL)
        else:
            self._drops.append(None)

    def call_at(self, due: int | None, callee: Callable[[], Any] | None) -> None:
        """Have the program's own thread call `callee()` once, at the first hub wake-up (its poller
        returned) or timers firing stamped at or after `due` (ns, on this recorder's clock); None: never.
        The call is made inside that hook, where the hub runs: the time it takes is the hub's, as the
        recording shows it (not a greenthread's run, nor a poll's wait). `callee` must not raise nor
        switch. (The agent ships from there: no other OS thread need take the GIL from a busy program.)"""
        self._call_at(due, callee)

    def _call_at_in_python(self, due: int | None, callee: Callable[[], Any] | None) -> None:
        self._due[:] = [_NEVER, None] if due is None or callee is None else [due, callee]

    def running(self) -> tuple[int, int | None] | None:
        """(since, gid) of what the hub runs, as far as its events tell: a greenthread (gid > 0), the
        hub itself (gid <= 0), or nothing (None: it waits in its poller); None before any such event.
        For the stall monitor's OS thread: each of these events is appended in one call, and a take
        leaves the state it saw last."""
        if self._fast is not None:
            return self._fast.running()
        latest = self._state
        for kind in (SWITCH, HUB_WAIT, HUB_WAKE):  # (ts, from, to), (ts, hub, timeout), (ts, hub, nready)
            last = self._values[kind][-3:]
            if len(last) == 3 and (latest is None or last[0] >= latest[0]):
                latest = (last[0], last[2] if kind == SWITCH else None if kind == HUB_WAIT else last[1])
        return latest

    def take_batch(self, clock: bool = False) -> Batch:
        """The events recorded since the last take, and a ``dropped`` event after them if the
        buffer was full (what it could not hold came after what it holds); with `clock`, a
        ``clock`` event last (the time of the take: every event before it is in the batch).

        Safe from another OS thread (the agent's) while the hooks keep appending: a hook
        puts an event's values first and its kind last, and each step here is one atomic
        call. It copies the kinds there are (whole events), takes as many events of each
        kind off the front of its values (the hooks only append, so they stay put
        meanwhile: the C hooks' buffer in one call, each list by slicing and deleting),
        then deletes those kinds.
        """
        fast = self._fast
        if fast is None:
            self._state = self.running()  # what the taken events said last, for running()
        kinds = bytes(self._kinds)
        columns = {} if fast is None else fast.take(kinds)
        for kind, flat in self._values.items():
            if flat and (count := kinds.count(kind)):
                width = 1 + len(FIELDS[kind])
                n = count * width
                columns[kind] = [flat[i:n:width] for i in range(width)]
                del flat[:n]
        del self._kinds[: len(kinds)]
        dropped = len(self._drops)
        if dropped:
            del self._drops[:dropped]
            kinds += bytes([DROPPED])
            columns[DROPPED] = [[self.clock()], [dropped]]
        if clock:
            kinds += bytes([CLOCK])
            columns[CLOCK] = [[self.clock()]]
        return Batch(kinds, columns)

    def take(self) -> list[tuple]:
        """`take_batch`, as a list of event tuples."""
        return self.take_batch().events()

    @property
    def dropped(self) -> int:
        """Events lost since the last take."""
        return len(self._drops)

    # ------------------------------------------------------------------ the hooks

    def _bind(self) -> None:
        # The hooks are closures over the buffer's extend methods and the clock.
        kinds = self._kinds
        mark = kinds.append
        put = {kind: vals.extend for kind, vals in self._values.items()}
        now = self.clock
        cap = self.capacity
        drops = self._drops
        due = self._due
        spawn_put, switch_put, block_put, wake_put = put[SPAWN], put[SWITCH], put[BLOCK], put[WAKE]
        exit_put, wait_put, wake_hub_put, timers_put = put[EXIT], put[HUB_WAIT], put[HUB_WAKE], put[TIMERS]
        resource_put, control_put = put[RESOURCE], put[CONTROL]

        def drop() -> None:
            drops.append(None)

        def call_due() -> None:
            callee, due[:] = due[1], [_NEVER, None]
            if callee is not None:
                callee()

        func_name = self._func_name
        spawn_site = site.creation_site
        where = site.code_location  # (read now: a test may choose the walk in Python)
        current = greenlet.getcurrent
        resource_state = self._resource_state

        def spawned(glet: Any, parent: Any) -> None:
            if len(kinds) < cap:
                pool = getattr(glet, "pool", None)
                spawned_at = spawn_site()
                func = func_name(getattr(glet, "func", None))
                spawn_put((now(), gid_of(glet), gid_of(parent), func, spawned_at, None if pool is None else id(pool)))
                mark(SPAWN)
            else:
                drop()

        # The hottest hooks read `gid` themselves (a greenlet the runtime did not make gets
        # one from `gid_of`). This one touches only locals (defaults are the fastest loads).
        def switched(
            prev: Any, nxt: Any, _len: Callable = len, _now: Callable = now, _cap: int = cap, _sw: int = SWITCH
        ) -> None:
            if _len(kinds) < _cap:
                try:
                    switch_put((_now(), prev.gid, nxt.gid))  # three ints on a flat list: the cheapest record
                except AttributeError:  # a greenlet the runtime did not make
                    switch_put((_now(), gid_of(prev), gid_of(nxt)))
                mark(_sw)
            else:
                drop()

        def blocked(glet: Any, reason: str, obj: Any, detail: Any) -> None:
            if len(kinds) < cap:
                resource = obj is not None and hasattr(obj, "resource_kind")
                at = where(1)  # from the greenthread that parks, past the `park` that called this
                try:
                    block_put((now(), glet.gid, reason, id(obj) if resource else None, detail, at))
                except AttributeError:
                    block_put((now(), gid_of(glet), reason, id(obj) if resource else None, detail, at))
                mark(BLOCK)
                if resource:
                    resource_state(obj)
            else:
                drop()

        def woken(glet: Any, cause: str, waker: Any, obj: Any, late: int) -> None:
            if len(kinds) < cap:
                try:
                    wake_put((now(), glet.gid, cause, waker.gid, late))
                except AttributeError:
                    wake_put((now(), gid_of(glet), cause, gid_of(waker), late))
                mark(WAKE)
                if obj is not None and hasattr(obj, "resource_kind"):
                    resource_state(obj)
            else:
                drop()

        def exited(glet: Any, outcome: str, exc: BaseException | None) -> None:
            if len(kinds) < cap:
                error = None if exc is None else f"{type(exc).__name__}: {exc}"
                exit_put((now(), gid_of(glet), outcome, error))
                mark(EXIT)
            else:
                drop()

        # the hub's own hooks run in the hub's greenlet: which hub is the current greenlet's gid
        def before_io_wait(timeout: float | None) -> None:
            if len(kinds) < cap:
                wait_put((now(), gid_of(current()), timeout))
                mark(HUB_WAIT)
            else:
                drop()

        def after_io_wait(nready: int) -> None:
            if len(kinds) < cap:
                ts = now()
                wake_hub_put((ts, gid_of(current()), nready))
                mark(HUB_WAKE)
                if ts >= due[0]:
                    call_due()
            else:
                drop()

        def timers_fired(n: int, late: int) -> None:
            if len(kinds) < cap:
                ts = now()
                timers_put((ts, gid_of(current()), n, late))
                mark(TIMERS)
                if ts >= due[0]:
                    call_due()
            else:
                drop()

        def resource_created(obj: Any) -> None:
            if len(kinds) < cap:
                kind = obj.resource_kind
                size = getattr(obj, _SIZE_ATTR[kind], None) if kind in _SIZE_ATTR else None
                resource_put((now(), id(obj), kind, obj.name or spawn_site(), size))
                mark(RESOURCE)
            else:
                drop()

        def controlled(action: str, speed: float | None) -> None:
            if len(kinds) < cap:
                control_put((now(), action, speed))
                mark(CONTROL)
            else:
                drop()

        if _CHooks is not None:  # the same six, in C, each kind's events in a buffer of its own
            order = (SWITCH, BLOCK, WAKE, HUB_WAIT, HUB_WAKE, TIMERS)
            fast = self._fast = _CHooks(kinds, order, cap, drops, now, gid_of, where, resource_state)
            for kind in order:
                del self._values[kind]
            switched, blocked, woken = fast.switched, fast.blocked, fast.woken
            before_io_wait, after_io_wait, timers_fired = fast.before_io_wait, fast.after_io_wait, fast.timers_fired
            self._call_at = fast.call_at
            if now is _now and hasattr(fast, "wait_idle"):  # (Linux, on the default clock)
                self.wait_idle = fast.wait_idle
        self.spawned = spawned
        self.switched = switched
        self.blocked = blocked
        self.woken = woken
        self.exited = exited
        self.before_io_wait = before_io_wait
        self.after_io_wait = after_io_wait
        self.timers_fired = timers_fired
        self.resource_created = resource_created
        self.controlled = controlled
        self.resource_changed = resource_state

    def _resource_state(self, obj: Any) -> None:
        kind = obj.resource_kind
        if len(self._kinds) >= self.capacity:
            self._drops.append(None)
        elif kind == "pool":
            self._values[POOL].extend((self.clock(), id(obj), obj.size, obj.running(), obj.waiting()))
            self._kinds.append(POOL)
        elif kind == "queue":
            state = (self.clock(), id(obj), len(obj.queue), obj.maxsize, obj.putting(), obj.getting())
            self._values[QUEUE].extend(state)
            self._kinds.append(QUEUE)

    # ------------------------------------------------------------------ function names, cached

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

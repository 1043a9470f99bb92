"""Tracing a gevent program, unmodified.

gevent's wheels compile its hub primitives, greenlets, events, semaphores and queues with
Cython: their waits leave no Python frame to read, and their types cannot be patched. So, as
each of those modules is imported, the adapter puts in its namespace a Python subclass of
each class, whose methods note who signals and call the original (``Queue.get`` → the
compiled ``Queue.get``): a greenlet parked in one is suspended in that method's frame, which
the park rules read. The pure-Python rest (``gevent.sleep``, sockets, ``Pool``, ``RLock``,
``ThreadPool.apply``) is read from its own frames; spawns come from gevent's own spawn
callbacks; the hub's waits from a prepare and a check watcher on its loop (libev calls them
just before and just after it polls).

What is coarser: objects gevent made before the program imported it, or that its compiled
code makes for itself, are the compiled classes (a wait on one is `UNKNOWN`); the hub's poll
timeout is not known (libev computes it: reported as none), and its ready count counts every
pending watcher (fds and timers).
"""

from __future__ import annotations

from collections.abc import Callable
from types import FrameType, ModuleType
from typing import Any

from greenlet import GreenletExit, getcurrent

from runtime.attach.adapter import Adapter
from runtime.attach.parking import Why, local, self_is
from runtime.attach.switches import socket_rule
from runtime.instrument import Cause, Reason

__all__ = ["GeventAdapter"]


class GeventAdapter(Adapter):
    name = root = "gevent"
    announces = True  # gevent's Hub.switch calls the current greenlet's switch_out: ours says why it parks

    def __init__(self, native: bool | None = None) -> None:
        super().__init__(native)
        self._watchers: list[Any] = []
        self._greenlet: type | None = None  # the traced Greenlet class
        self._runs_first_argument: set[Any] = set()  # gevent's wrappers of the program's functions

    def modules(self) -> dict[str, Callable[[ModuleType], None]]:
        return {
            "gevent.hub": self._hub,
            "gevent._semaphore": self._semaphore,
            "gevent.lock": self._lock,
            "gevent.event": self._event,
            "gevent.queue": self._queue,
            "gevent.greenlet": self._greenlets,
            "gevent.pool": self._pool,
            "gevent.baseserver": self._baseserver,
            "gevent._socketcommon": self._sockets,
            "gevent._socket3": self._sockets,
            "gevent.ssl": self._sockets,
            "gevent.threadpool": self._threadpool,
        }

    def attach(self, module: ModuleType) -> None:
        greenlets = module.greenlet  # gevent bound these from it before we got there
        for name in ("Greenlet", "joinall"):
            self.patches.set(module, name, getattr(greenlets, name))
        for name in ("spawn", "spawn_later"):
            self.patches.set(module, name, getattr(greenlets.Greenlet, name))
        greenlets.Greenlet.add_spawn_callback(self._started)
        self._switching_out(getcurrent())  # the main greenlet, normally

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.remove_spawn_callback(self._started)
        for watcher in self._watchers:
            watcher.stop()
        self._watchers.clear()
        super().stop()

    def find_hub(self) -> Any:
        from gevent._hub_local import get_hub_if_exists

        return get_hub_if_exists()

    def on_hub(self, hub: Any) -> None:
        """libev runs a prepare watcher just before it polls, a check watcher just after: at the
        lowest priority the first (after gevent's own, which runs callbacks), the highest the second.
        The poll's timeout is libev's to compute: not known here."""
        loop, trace = hub.loop, self.trace
        prepare, check = loop.prepare(), loop.check()
        prepare.priority, check.priority = loop.MINPRI, loop.MAXPRI
        prepare.start(trace.hub_waits, None)
        check.start(trace.hub_woke_pending, loop)
        prepare.ref = check.ref = False  # they never keep the loop alive
        self._watchers += (prepare, check)
        if hub.parent is not None:
            self._switching_out(hub.parent)

    def _switching_out(self, glet: Any) -> None:
        """`glet` (a greenlet not of the traced Greenlet class: the main one) says why it parks at each
        switch to the hub, as a traced Greenlet does (a greenlet that does not is tested from the trace)."""
        if getattr(glet, "switch_out", None) is None:
            self.patches.set(glet, "switch_out", self.trace.leave)

    def outcome(self, glet: Any, threw: bool) -> tuple[str, BaseException | None]:
        try:
            exc = glet.exception  # a gevent Greenlet's
        except AttributeError:
            return ("error" if threw else "ok"), None
        if exc is None:
            return "ok", None
        return ("killed" if isinstance(exc, GreenletExit) else "error"), exc

    def _started(self, glet: Any) -> None:
        func = getattr(glet, "_run", None)
        if func in self._runs_first_argument:  # a server's handler, say: named as the program's
            func = glet.args[0]
        self.spawned(glet, func, getcurrent())

    # ------------------------------------------------------------------ per module

    def _hub(self, hub: ModuleType) -> None:
        # Hub.switch (compiled, cpdef) calls the current greenlet's switch_out first: the traced Greenlet's says
        # why it parks (wrapping Hub.switch instead made every compiled wait dispatch to Python: +10 % a sleep(0))
        self.parking.add_yield(hub.sleep, calling="get")  # sleep(0) waits on a Waiter; sleep(s) on a timer
        self.parking.add(hub.sleep, lambda frame: (Reason.SLEEP, None, local(frame, "seconds")))
        self.parking.add(hub.idle, lambda frame: None)

    def _semaphore(self, module: ModuleType) -> None:
        signal = self.trace.signal

        class Semaphore:
            def acquire(self, blocking: bool = True, timeout: float | None = None) -> Any:
                return super().acquire(blocking, timeout)

            def wait(self, timeout: float | None = None) -> Any:
                return super().wait(timeout)

            def release(self) -> Any:
                signal(self, Cause.RELEASE)
                return super().release()

        for name in ("Semaphore", "BoundedSemaphore"):
            self._subclass(module, name, Semaphore)
        for method in (Semaphore.acquire, Semaphore.wait):
            self.parking.add(method, self_is(Reason.SEMAPHORE), final=False)

    def _lock(self, lock: ModuleType) -> None:
        from gevent import _semaphore

        for name in ("Semaphore", "BoundedSemaphore"):  # if gevent.lock came before gevent._semaphore's patch
            self.patches.set(lock, name, getattr(_semaphore, name))
        self.parking.add(lock.RLock.acquire, self_is(Reason.LOCK))

    def _event(self, event: ModuleType) -> None:
        signal = self.trace.signal

        class Event:
            def wait(self, timeout: float | None = None) -> Any:
                return super().wait(timeout)

            def set(self) -> None:
                signal(self, Cause.SEND, every=True)
                return super().set()

        class AsyncResult:
            def wait(self, timeout: float | None = None) -> Any:
                return super().wait(timeout)

            def get(self, block: bool = True, timeout: float | None = None) -> Any:
                return super().get(block, timeout)

            def set(self, value: Any = None) -> None:
                signal(self, Cause.SEND, every=True)
                return super().set(value)

            def set_exception(self, exception: BaseException, exc_info: Any = None) -> None:
                signal(self, Cause.SEND, every=True)
                return super().set_exception(exception, exc_info)

        self._subclass(event, "Event", Event)
        self._subclass(event, "AsyncResult", AsyncResult)
        for method in (Event.wait, AsyncResult.wait, AsyncResult.get):
            self.parking.add(method, self_is(Reason.EVENT), final=False)

    def _queue(self, queue: ModuleType) -> None:
        signal, view, changed = self.trace.signal, self.queue_view, self.changed

        class Queue:
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                view(self)

            def get(self, block: bool = True, timeout: float | None = None) -> Any:
                v = view(self)
                signal(v, Cause.GET)
                item = super().get(block, timeout)
                changed(v)
                return item

            def peek(self, block: bool = True, timeout: float | None = None) -> Any:
                return super().peek(block, timeout)

            def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
                v = view(self)
                signal(v, Cause.PUT)
                super().put(item, block, timeout)
                changed(v)

        for name in ("SimpleQueue", "Queue", "UnboundQueue", "PriorityQueue", "LifoQueue", "Channel"):
            if hasattr(queue, name):
                self._subclass(queue, name, Queue)
        if hasattr(queue, "JoinableQueue"):
            self.patches.set(queue, "JoinableQueue", queue.Queue)
        self.parking.add(Queue.get, self_is(Reason.QUEUE_GET, view))
        self.parking.add(Queue.peek, self_is(Reason.QUEUE_GET, view))
        self.parking.add(Queue.put, self_is(Reason.QUEUE_PUT, view))

    def _greenlets(self, greenlets: ModuleType) -> None:
        trace = self.trace

        class Greenlet:
            # gevent's Hub.switch calls it: the greenlet parks, or yields (C's is no descriptor: not bound)
            switch_out = trace.leave if trace.native else staticmethod(trace.leave)

            def join(self, timeout: float | None = None) -> None:
                return super().join(timeout)

            def get(self, block: bool = True, timeout: float | None = None) -> Any:
                return super().get(block, timeout)

            def kill(self, exception: Any = GreenletExit, block: bool = True, timeout: float | None = None) -> None:
                p = trace.parked.get(self)
                if p is not None and p.waker is None:  # the throw that wakes it is this kill
                    p.cause, p.waker = Cause.KILL, getcurrent()
                return super().kill(exception, block, timeout)

        # `gid` in a slot: the recorder reads it at every event, from the slot, not the instance dict
        self._greenlet = self._subclass(greenlets, "Greenlet", Greenlet, slots=("gid",))
        joinall = greenlets.joinall

        def traced_joinall(*args: Any, **kwargs: Any) -> Any:
            return joinall(*args, **kwargs)

        self.patches.set(greenlets, "joinall", traced_joinall)
        for method in (Greenlet.join, Greenlet.get, Greenlet.kill):
            self.parking.add(method, self_is(Reason.JOIN))
        self.parking.add(traced_joinall, _joinall)

    def _pool(self, pool: ModuleType) -> None:
        pool_class = pool.Pool
        signal, changed = self.trace.signal, self.changed
        init, add, discard = pool_class.__init__, pool_class.add, pool_class._discard
        if self._greenlet is not None:
            self.patches.set(pool.Group, "greenlet_class", self._greenlet)

        def view(p: Any) -> Any:
            return self.pool_view(p, len)

        def traced_init(self: Any, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **kwargs)
            view(self)

        def traced_add(self: Any, greenlet: Any, *args: Any, **kwargs: Any) -> None:
            v = view(self)
            add(self, greenlet, *args, **kwargs)
            if not hasattr(greenlet, "pool"):  # the recorder reads it at the spawn
                greenlet.pool = v
            changed(v)

        def traced_discard(self: Any, greenlet: Any) -> None:
            v = view(self)
            signal(v, Cause.RELEASE, greenlet, reason=Reason.POOL_SLOT)  # the member that leaves frees its slot
            discard(self, greenlet)
            if not self.greenlets:
                signal(v, Cause.EXIT, greenlet, every=True, reason=Reason.JOIN)
            changed(v)

        self.patches.set(pool_class, "__init__", traced_init)
        self.patches.set(pool_class, "add", traced_add)
        self.patches.set(pool_class, "_discard", traced_discard)
        self.parking.add(add, self_is(Reason.POOL_SLOT, view))
        self.parking.add(pool_class.wait_available, self_is(Reason.POOL_SLOT, view))
        self.parking.add(pool.Group.join, self_is(Reason.JOIN, view))

    def _baseserver(self, baseserver: ModuleType) -> None:
        self._runs_first_argument.add(baseserver._handle_and_close_when_done)
        if self._greenlet is not None:  # it bound the Greenlet it found when imported: maybe not the traced one
            self.patches.set(baseserver.BaseServer, "_spawn", self._greenlet.spawn)

    def _sockets(self, module: ModuleType) -> None:
        peer, peers = self.peer, self._peers

        def wait(frame: FrameType) -> Why:  # a socket's method waiting on its read or write watcher
            sock = local(frame, "self")
            watcher = sock._read_event  # the one it waits on is started
            reading = watcher.active
            if not reading:
                watcher = sock._write_event
            known = peers.get(id(sock))  # (peer()'s cache, read here: a call less at each wait)
            name = known[1] if known is not None and known[0]() is sock else peer(sock, watcher.fd, reading)
            return (Reason.IO_READ if reading else Reason.IO_WRITE), None, name

        rule = socket_rule("gevent", peers, peer) if self.trace.native else wait  # (the same, in C)
        for cls in vars(module).values():
            if isinstance(cls, type) and cls.__module__ == module.__name__ and "_wait" in dir(cls):
                for func in vars(cls).values():
                    if callable(func) and hasattr(func, "__code__"):
                        self.parking.add(func, rule)

    def _threadpool(self, threadpool: ModuleType) -> None:
        from gevent.pool import GroupMappingMixin

        self.parking.add(GroupMappingMixin.apply, lambda frame: (Reason.THREAD, None, None))

    # ------------------------------------------------------------------ traced subclasses

    def _subclass(self, module: ModuleType, name: str, methods: type, slots: tuple[str, ...] = ()) -> type:
        """Put in `module` a subclass of its compiled `name` with `methods` (a plain class, first in
        the MRO: its ``super()`` calls reach the compiled methods), named as the original, with `slots`."""
        base = getattr(module, name)
        namespace: dict[str, Any] = {"__module__": base.__module__, "__qualname__": base.__qualname__}
        if slots:
            namespace["__slots__"] = slots
        traced = type(name, (methods, base), namespace)
        self.patches.set(module, name, traced)
        return traced


# ---------------------------------------------------------------- park rules


def _joinall(frame: FrameType) -> Why:
    kwargs = local(frame, "kwargs", None) or {}
    return Reason.JOIN, None, kwargs.get("timeout")

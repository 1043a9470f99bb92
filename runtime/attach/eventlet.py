"""Tracing an eventlet program, unmodified.

eventlet is pure Python, so every park is visible in the parked greenlet's frames: they
explain each block (`Parking` rules on ``trampoline``, ``sleep``, ``Event.wait``...). Thin
wrappers on a few class and module attributes announce spawns (``spawn``, ``spawn_after``,
``spawn_n``), pools and queues and their changes, and who signals what (``Event.send``,
``Semaphore.release``, ``LightQueue.put``/``get``, a pool member's end); the poll hubs' ``wait``
and ``do_poll`` report the hub's waits. Every wrapper calls the original and only reads.
"""

from __future__ import annotations

from _thread import get_ident
from collections.abc import Callable
from types import FrameType, ModuleType
from typing import Any

from greenlet import GreenletExit, getcurrent

from runtime.attach.adapter import Adapter
from runtime.attach.parking import Why, local, self_is
from runtime.attach.switches import socket_rule
from runtime.instrument import Cause, Reason

__all__ = ["EventletAdapter"]


class EventletAdapter(Adapter):
    name = root = "eventlet"

    def modules(self) -> dict[str, Callable[[ModuleType], None]]:
        return {
            "eventlet.hubs": self._hubs,
            "eventlet.hubs.poll": self._poll_hub,
            "eventlet.hubs.epolls": self._poll_hub,
            "eventlet.greenthread": self._greenthread,
            "eventlet.event": self._event,
            "eventlet.semaphore": self._semaphore,
            "eventlet.queue": self._queue,
            "eventlet.greenpool": self._greenpool,
            "eventlet.tpool": self._tpool,
        }

    def attach(self, module: ModuleType) -> None:
        # `eventlet` bound these before we got to its greenthread, if it was imported before us
        greenthread = module.greenthread
        for name in ("spawn", "spawn_after"):
            self.patches.set(module, name, getattr(greenthread, name))

    def find_hub(self) -> Any:
        from eventlet import hubs

        hub = getattr(hubs._threadlocal, "hub", None)
        return None if hub is None else hub.greenlet

    def outcome(self, glet: Any, threw: bool) -> tuple[str, BaseException | None]:
        exc_info = getattr(getattr(glet, "_exit_event", None), "_exc", None)  # a GreenThread's
        if exc_info:
            exc = exc_info[1]
            return ("killed" if isinstance(exc, GreenletExit) else "error"), exc
        return ("error" if threw else "ok"), None

    # ------------------------------------------------------------------ per module

    def _hubs(self, hubs: ModuleType) -> None:
        from eventlet.hubs.hub import BaseHub

        self.patches.set(BaseHub, "switch", self.trace.parking_switch(BaseHub.switch))  # where they park
        peer, peers = self.peer, self._peers

        def trampoline(frame: FrameType) -> Why:
            reading = bool(local(frame, "read"))
            sock = local(frame, "fd")
            known = peers.get(id(sock))  # (peer()'s cache, read here: a call less at each wait)
            name = known[1] if known is not None and known[0]() is sock else peer(sock, local(frame, "fileno"), reading)
            return (Reason.IO_READ if reading else Reason.IO_WRITE), None, name

        rule = socket_rule("eventlet", peers, peer) if self.trace.native else trampoline  # (the same, in C)
        self.parking.add(hubs.trampoline, rule)

    def _poll_hub(self, module: ModuleType) -> None:
        """The poll hubs (epoll, poll) wait on their poller in ``do_poll``; with no fd to watch, in
        ``time.sleep`` (the module's own `time`, the unpatched one)."""
        trace = self.trace
        do_poll = module.Hub.do_poll

        def traced_do_poll(self: Any, seconds: float) -> Any:
            if get_ident() != trace.thread:
                return do_poll(self, seconds)
            trace.hub_waits(seconds)
            ready: Any = ()
            try:
                ready = do_poll(self, seconds)
                return ready
            finally:
                trace.hub_woke(len(ready))

        self.patches.set(module.Hub, "do_poll", traced_do_poll)
        if "time" not in vars(module):
            return
        sleep = module.time.sleep

        def traced_sleep(seconds: float) -> None:
            if get_ident() != trace.thread:
                return sleep(seconds)
            trace.hub_waits(seconds)
            try:
                sleep(seconds)
            finally:
                trace.hub_woke(0)

        self.patches.set(module, "time", _Time(module.time, traced_sleep))

    def _greenthread(self, greenthread: ModuleType) -> None:
        spawned = self.spawned

        def announce(g: Any, func: Any) -> None:
            cur = getcurrent()
            pool, pooled = getattr(cur, "_gs_pool", None) or (None, None)  # a pool spawns it: its member
            spawned(g, func if pooled is None else pooled, cur, pool)

        def announcing(spawn: Callable[..., Any], at: int) -> Callable[..., Any]:
            def traced(*args: Any, **kwargs: Any) -> Any:
                g = spawn(*args, **kwargs)
                announce(g, args[at])
                return g

            return traced

        sleep = greenthread.sleep
        for name, at in (("spawn", 0), ("spawn_after", 1), ("spawn_after_local", 1)):
            self.patches.set(greenthread, name, announcing(getattr(greenthread, name), at))
        spawn_n = greenthread._spawn_n  # spawn_n's: (seconds, func, args, kwargs) -> (timer, greenlet)

        def traced_spawn_n(seconds: float, func: Any, args: Any, kwargs: Any) -> Any:
            t, g = spawn_n(seconds, func, args, kwargs)
            announce(g, func)
            return t, g

        self.patches.set(greenthread, "_spawn_n", traced_spawn_n)
        self.parking.add_yield(sleep, unless="seconds")
        self.parking.add(sleep, lambda frame: (Reason.SLEEP, None, local(frame, "seconds")))
        self.parking.add(greenthread.GreenThread.wait, self_is(Reason.JOIN, timeout=None))

    def _event(self, event: ModuleType) -> None:
        signal = self.trace.signal
        send = event.Event.send

        def traced_send(self: Any, result: Any = None, exc: Any = None) -> Any:
            signal(self, Cause.SEND, every=True)
            return send(self, result, exc)

        self.patches.set(event.Event, "send", traced_send)
        self.parking.add(event.Event.wait, self_is(Reason.EVENT), final=False)

    def _semaphore(self, semaphore: ModuleType) -> None:
        signal = self.trace.signal
        release = semaphore.Semaphore.release

        def traced_release(self: Any, blocking: bool = True) -> Any:
            signal(self, Cause.RELEASE)
            return release(self, blocking)

        self.patches.set(semaphore.Semaphore, "release", traced_release)
        self.parking.add(semaphore.Semaphore.acquire, self_is(Reason.SEMAPHORE), final=False)

    def _queue(self, queue: ModuleType) -> None:
        light = queue.LightQueue
        signal, view, changed = self.trace.signal, self.queue_view, self.changed
        init, put, get, resize = light.__init__, light.put, light.get, light.resize

        def traced_init(self: Any, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **kwargs)
            view(self)

        def traced_put(self: Any, item: Any, block: bool = True, timeout: float | None = None) -> None:
            v = view(self)
            signal(v, Cause.PUT)
            put(self, item, block, timeout)
            changed(v)

        def traced_get(self: Any, block: bool = True, timeout: float | None = None) -> Any:
            v = view(self)
            signal(v, Cause.GET)
            item = get(self, block, timeout)
            changed(v)
            return item

        def traced_resize(self: Any, size: int | None) -> None:
            resize(self, size)
            changed(view(self))

        for name, func in (("__init__", traced_init), ("put", traced_put), ("get", traced_get)):
            self.patches.set(light, name, func)
        self.patches.set(light, "resize", traced_resize)
        self.parking.add(get, self_is(Reason.QUEUE_GET, view))
        self.parking.add(put, self_is(Reason.QUEUE_PUT, view))

    def _greenpool(self, greenpool: ModuleType) -> None:
        pool_class = greenpool.GreenPool
        signal, changed = self.trace.signal, self.changed
        init, done, resize = pool_class.__init__, pool_class._spawn_done, pool_class.resize

        def view(pool: Any) -> Any:
            return self.pool_view(pool, pool_class.running)

        def traced_init(self: Any, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **kwargs)
            view(self)

        def in_pool(spawn: Callable[..., Any]) -> Callable[..., Any]:
            # what the pool spawns is its member, running `function` (spawn_n wraps it): eventlet's
            # spawn functions (announcing) read the mark
            def traced(self: Any, function: Any, *args: Any, **kwargs: Any) -> Any:
                v = view(self)
                cur = getcurrent()
                outer = getattr(cur, "_gs_pool", None)
                cur._gs_pool = (v, function)
                try:
                    return spawn(self, function, *args, **kwargs)
                finally:
                    cur._gs_pool = outer
                    changed(v)

            return traced

        def traced_done(self: Any, coro: Any) -> None:
            v = view(self)
            member = coro or getcurrent()
            signal(v, Cause.RELEASE, member, reason=Reason.POOL_SLOT)  # the member that leaves frees its slot
            done(self, coro)
            if not self.coroutines_running:  # the last one: waitall() returns
                signal(v, Cause.EXIT, member, every=True, reason=Reason.JOIN)
            changed(v)

        def traced_resize(self: Any, new_size: int) -> None:
            resize(self, new_size)
            v = view(self)
            signal(v, Cause.RESIZE, every=True, reason=Reason.POOL_SLOT)
            changed(v)

        self.patches.set(pool_class, "__init__", traced_init)
        for name in ("spawn", "spawn_n"):
            spawn = getattr(pool_class, name)
            self.patches.set(pool_class, name, in_pool(spawn))
            self.parking.add(spawn, self_is(Reason.POOL_SLOT, view, timeout=None))
        self.patches.set(pool_class, "_spawn_done", traced_done)
        self.patches.set(pool_class, "resize", traced_resize)
        self.parking.add(pool_class.waitall, self_is(Reason.JOIN, view, timeout=None))

    def _tpool(self, tpool: ModuleType) -> None:
        self.parking.add(tpool.execute, lambda frame: (Reason.THREAD, None, None))


class _Time:
    """A hub module's `time` with a `sleep` of ours."""

    def __init__(self, time: ModuleType, sleep: Callable[[float], None]) -> None:
        self._time = time
        self.sleep = sleep

    def __getattr__(self, name: str) -> Any:
        return getattr(self._time, name)


# ---------------------------------------------------------------- park rules

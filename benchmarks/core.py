"""Scenario registry: what each benchmark measures, and one function per implementation.

An implementation function performs ``n`` operations of its scenario and returns when they are done; the worker
times it.  Peers are imported inside the functions, so importing this module pulls in none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

IMPLS = ("runtime", "runtime-off", "runtime-traced", "eventlet", "gevent", "greenlet")
"""Implementations, in report order; the part before any "-" is the module that must be importable.
``runtime-off``: the tracing agent runs but nothing is recorded; ``runtime-traced``: every event is
recorded and shipped (to /dev/null) by the agent, as ``greenscope record`` does."""


@dataclass(frozen=True)
class Target:
    """Goal: the peer's time divided by the runtime's time is at least ``min_ratio`` (a peer we
    must beat), or at most ``max_ratio`` (our own traced variants: a bounded overhead)."""

    peer: str
    text: str
    min_ratio: float | None = None
    max_ratio: float | None = None

    def met(self, ratio: float) -> bool:
        if self.min_ratio is not None and ratio < self.min_ratio:
            return False
        return self.max_ratio is None or ratio <= self.max_ratio

    @property
    def bound(self) -> str:
        return f">= {self.min_ratio:.2f}" if self.min_ratio is not None else f"<= {self.max_ratio:.2f}"


@dataclass
class Scenario:
    """One benchmark: ``n`` operations per timed run, reported as microseconds per operation (lower is better)."""

    name: str
    description: str
    n: int
    unit: str
    targets: tuple[Target, ...] = ()
    impls: dict[str, Callable[[int], None]] = field(default_factory=dict)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "sleep0",
            "sleep(0) ping-pong between two greenthreads, 200k sleeps each",
            n=400_000,
            unit="us/sleep",
            targets=(
                Target("gevent", "runtime no slower than gevent", min_ratio=1.0),
                Target("runtime-off", "tracing installed but off at most 2% slower", max_ratio=1.02),
                Target("runtime-traced", "tracing on at most 1.25x slower", max_ratio=1.25),
            ),
        ),
        Scenario(
            "spawn_wait",
            "spawn 100k greenthreads running a trivial function, then wait each",
            n=100_000,
            unit="us/thread",
            targets=(
                Target("eventlet", "runtime at least 1.2x faster than eventlet", min_ratio=1.2),
                Target("gevent", "runtime no slower than gevent", min_ratio=1.0),
            ),
        ),
        Scenario(
            "queue100",
            "one producer, one consumer, 200k items through Queue(100)",
            n=200_000,
            unit="us/item",
            targets=(
                Target("eventlet", "runtime at least 1.5x faster than eventlet", min_ratio=1.5),
                Target("gevent", "runtime no slower than gevent", min_ratio=1.0),
            ),
        ),
        Scenario(
            "queue1",
            "one producer, one consumer, 100k items through Queue(1)",
            n=100_000,
            unit="us/item",
            targets=(
                Target("eventlet", "runtime at least 1.2x faster than eventlet", min_ratio=1.2),
                Target("gevent", "runtime no slower than gevent", min_ratio=1.0),
            ),
        ),
        Scenario(
            "imap",
            "GreenPool(1000).imap of a trivial function over 100k items",
            n=100_000,
            unit="us/item",
            targets=(
                Target("eventlet", "runtime at least 1.2x faster than eventlet", min_ratio=1.2),
                Target("gevent", "runtime no slower than gevent", min_ratio=1.0),
            ),
        ),
    )
}


def implements(scenario: str, impl: str) -> Callable[[Callable[[int], None]], Callable[[int], None]]:
    """Register the decorated function as ``impl``'s version of ``scenario``."""

    def register(func: Callable[[int], None]) -> Callable[[int], None]:
        SCENARIOS[scenario].impls[impl] = func
        return func

    return register


def _noop() -> None:
    """The trivial body of a spawned greenthread."""


def _sleep_loop(sleep: Callable[[float], Any], count: int) -> None:
    for _ in range(count):
        sleep(0)


def _ping_pong(lib: Any, n: int) -> None:
    """``n`` sleep(0)s split between two greenthreads, with eventlet's API (``lib`` is eventlet or the runtime)."""
    threads = [lib.spawn(_sleep_loop, lib.sleep, n // 2) for _ in range(2)]
    for gt in threads:
        gt.wait()


def _spawn_wait(lib: Any, n: int) -> None:
    """Spawn ``n`` trivial greenthreads, then wait each, with eventlet's API."""
    threads = [lib.spawn(_noop) for _ in range(n)]
    for gt in threads:
        gt.wait()


@implements("sleep0", "runtime")
def sleep0_runtime(n: int) -> None:
    import runtime

    _ping_pong(runtime, n)


class tracing:
    """Context: the tracing agent runs, shipping to /dev/null; with `record`, every event is recorded."""

    def __init__(self, record: bool) -> None:
        self.record = record

    def __enter__(self) -> None:
        import os

        from runtime.agent import Agent, process_info
        from runtime.sinks import FileSink
        from runtime.trace.recorder import Recorder

        self.recorder = Recorder()
        if self.record:
            self.recorder.install()
        self.agent = Agent(self.recorder, [FileSink(os.devnull)], process_info("benchmark")).start()

    def __exit__(self, *exc: object) -> None:
        if self.record:
            self.recorder.uninstall()
        self.agent.stop()  # ships what is left: part of the cost


@implements("sleep0", "runtime-off")
def sleep0_runtime_off(n: int) -> None:
    import runtime

    with tracing(record=False):
        _ping_pong(runtime, n)


@implements("sleep0", "runtime-traced")
def sleep0_runtime_traced(n: int) -> None:
    import runtime

    with tracing(record=True):
        _ping_pong(runtime, n)


@implements("sleep0", "eventlet")
def sleep0_eventlet(n: int) -> None:
    import eventlet

    _ping_pong(eventlet, n)


@implements("sleep0", "gevent")
def sleep0_gevent(n: int) -> None:
    import gevent

    gevent.joinall([gevent.spawn(_sleep_loop, gevent.sleep, n // 2) for _ in range(2)])


@implements("sleep0", "greenlet")
def sleep0_greenlet(n: int) -> None:
    """The floor: two greenlets switching straight to each other, no scheduler in between."""
    from greenlet import greenlet

    half = n // 2

    def run_ping() -> None:
        for _ in range(half):
            pong.switch()

    def run_pong() -> None:
        for _ in range(half):
            ping.switch()

    ping, pong = greenlet(run_ping), greenlet(run_pong)
    ping.switch()
    pong.throw()  # ping has returned; end pong, left suspended in its last switch


@implements("spawn_wait", "runtime")
def spawn_wait_runtime(n: int) -> None:
    import runtime

    _spawn_wait(runtime, n)


@implements("spawn_wait", "eventlet")
def spawn_wait_eventlet(n: int) -> None:
    import eventlet

    _spawn_wait(eventlet, n)


@implements("spawn_wait", "gevent")
def spawn_wait_gevent(n: int) -> None:
    import gevent

    threads = [gevent.spawn(_noop) for _ in range(n)]
    for g in threads:
        g.join()


@implements("spawn_wait", "greenlet")
def spawn_wait_greenlet(n: int) -> None:
    """The floor: create each greenlet and switch into it; it runs to completion at once."""
    from greenlet import greenlet

    for _ in range(n):
        greenlet(_noop).switch()


def _produce(put: Callable[[Any], Any], n: int) -> None:
    for i in range(n):
        put(i)


def _consume(get: Callable[[], Any], n: int) -> None:
    for _ in range(n):
        get()


def _queue_pass(lib: Any, queue: Any, n: int) -> None:
    """``n`` items from one producer to one consumer through ``queue``, with eventlet's API."""
    threads = [lib.spawn(_produce, queue.put, n), lib.spawn(_consume, queue.get, n)]
    for gt in threads:
        gt.wait()


def _gevent_queue_pass(maxsize: int, n: int) -> None:
    import gevent
    import gevent.queue

    q = gevent.queue.Queue(maxsize)
    gevent.joinall([gevent.spawn(_produce, q.put, n), gevent.spawn(_consume, q.get, n)])


@implements("queue100", "runtime")
def queue100_runtime(n: int) -> None:
    import runtime

    _queue_pass(runtime, runtime.Queue(100), n)


@implements("queue100", "eventlet")
def queue100_eventlet(n: int) -> None:
    import eventlet

    _queue_pass(eventlet, eventlet.Queue(100), n)


@implements("queue100", "gevent")
def queue100_gevent(n: int) -> None:
    _gevent_queue_pass(100, n)


@implements("queue1", "runtime")
def queue1_runtime(n: int) -> None:
    import runtime

    _queue_pass(runtime, runtime.Queue(1), n)


@implements("queue1", "eventlet")
def queue1_eventlet(n: int) -> None:
    import eventlet

    _queue_pass(eventlet, eventlet.Queue(1), n)


@implements("queue1", "gevent")
def queue1_gevent(n: int) -> None:
    _gevent_queue_pass(1, n)


def _identity(x: Any) -> Any:
    return x


def _drain(results: Any) -> None:
    for _ in results:
        pass


@implements("imap", "runtime")
def imap_runtime(n: int) -> None:
    import runtime

    _drain(runtime.GreenPool(1000).imap(_identity, range(n)))


@implements("imap", "eventlet")
def imap_eventlet(n: int) -> None:
    import eventlet

    _drain(eventlet.GreenPool(1000).imap(_identity, range(n)))


@implements("imap", "gevent")
def imap_gevent(n: int) -> None:
    import gevent.pool

    _drain(gevent.pool.Pool(1000).imap(_identity, range(n)))

"""The recorder's hottest hooks in C (`runtime.trace._hooks`: a greenthread's switch, block and wake, the
hub's poll and timers) and in Python (the recorder's closures) record the same events: one program, run under
each on the virtual clock, gives the same stream (timestamps from a counter, greenthread and object ids
numbered in order of appearance); a full buffer counts its drops alike."""

from __future__ import annotations

import itertools
import os
from array import array
from collections.abc import Callable
from typing import Any

import pytest

import runtime
from runtime.hubs import TestClock
from runtime.trace import recorder
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
from runtime.trace.recorder import Recorder


def program(clock: TestClock) -> None:
    """A pool of consumers on a Queue(1), an Event, sleeps and a timeout: every hook, many times."""
    q: runtime.Queue = runtime.Queue(1)
    done = runtime.Event()
    pool = runtime.GreenPool(2)

    def consume(n: int) -> None:
        for _ in range(n):
            q.get()
            runtime.sleep(0.001)

    def produce() -> None:
        for i in range(12):
            q.put(i)

    producer = runtime.spawn(produce)
    for _ in range(3):
        pool.spawn(consume, 4)  # the third waits for a slot
    producer.wait()
    runtime.spawn_after(0.01, done.send, "ok")
    assert done.wait() == "ok"
    with pytest.raises(runtime.Timeout):
        with runtime.Timeout(0.005):
            runtime.sleep(1)
    pool.waitall()


def recorded(c_hooks: Any, clock: TestClock, capacity: int = 1_000_000) -> list[tuple]:
    """The events of `program` under a recorder with the C hooks (`c_hooks`) or the closures (None)."""
    ticks = iter(range(1, 1 << 40))
    saved = recorder._CHooks
    recorder._CHooks = c_hooks
    try:
        rec = Recorder(capacity=capacity, clock=lambda: next(ticks))
    finally:
        recorder._CHooks = saved
    assert (type(rec.switched).__name__ == "builtin_function_or_method") == (c_hooks is not None)
    rec.install()
    try:
        program(clock)
    finally:
        rec.uninstall()
    return numbered(rec.take())


def numbered(events: list[tuple]) -> list[tuple]:
    """`events` with greenthread ids and object ids replaced by their order of appearance, floats rounded."""
    gids: dict[int, int] = {}
    objs: dict[int, int] = {}
    gid = lambda g: gids.setdefault(g, len(gids))  # noqa: E731
    obj: Callable[[Any], Any] = lambda o: o if o is None else objs.setdefault(o, len(objs))  # noqa: E731
    out = []
    for e in events:
        kind, ts, *f = e
        if kind == SPAWN:  # gid, parent, func, site, pool
            f = [gid(f[0]), gid(f[1]), f[2], f[3], obj(f[4])]
        elif kind == SWITCH:  # from, to
            f = [gid(f[0]), gid(f[1])]
        elif kind == BLOCK:  # gid, reason, obj, detail, where
            f = [gid(f[0]), f[1], obj(f[2]), f[3], f[4]]
        elif kind == WAKE:  # gid, cause, waker, late
            f = [gid(f[0]), f[1], gid(f[2]), f[3]]
        elif kind == EXIT:
            f = [gid(f[0]), *f[1:]]
        elif kind in (RESOURCE, POOL, QUEUE):
            f = [obj(f[0]), *f[1:]]
        # (the virtual clock goes on from run to run: a float it gives may differ in its last bits)
        out.append((kind, ts, *(round(v, 9) if type(v) is float else v for v in f)))
    return out


needs_c = pytest.mark.skipif(recorder._CHooks is None, reason="runtime.trace._hooks is not built here")


def test_the_c_hooks_are_used_where_built():
    if recorder._CHooks is None:
        pytest.skip("runtime.trace._hooks is not built here")
    rec = Recorder()
    used = type(rec.switched).__name__ == "builtin_function_or_method"
    assert used != bool(os.environ.get("GREENSCOPE_PURE_PYTHON"))


@needs_c
def test_the_same_events_either_way(clock: TestClock):
    in_c = recorded(recorder._CHooks, clock)
    in_python = recorded(None, clock)
    kinds = {e[0] for e in in_c}
    assert {SPAWN, SWITCH, BLOCK, WAKE, EXIT, POOL, QUEUE, HUB_WAIT, HUB_WAKE, TIMERS} <= kinds
    assert in_c == in_python
    where = [e[6] for e in in_c if e[0] == BLOCK]
    assert where and all(w and w.startswith(__file__) for w in where)  # the user's lines, either way


@needs_c
def test_a_full_buffer_counts_its_drops_alike(clock: TestClock):
    in_c = recorded(recorder._CHooks, clock, capacity=40)
    in_python = recorded(None, clock, capacity=40)
    assert in_c == in_python
    assert in_c[-1][0] == DROPPED and in_c[-1][2] > 0 and len(in_c) == 41


@needs_c
def test_on_the_default_clock_the_c_hooks_read_the_same_clock_as_perf_counter_ns():
    """The C hooks read CLOCK_MONOTONIC themselves when the clock is time.perf_counter_ns: their
    timestamps fall between two readings of it, in order with the events the closures stamp."""
    import time

    rec = Recorder()
    assert type(rec.switched).__name__ == "builtin_function_or_method"
    rec.install()
    try:
        before = time.perf_counter_ns()
        runtime.sleep(0)
        g = runtime.spawn(runtime.sleep, 0.001)
        g.wait()
        after = time.perf_counter_ns()
    finally:
        rec.uninstall()
    events = rec.take()
    stamps = [e[1] for e in events]
    assert {SWITCH, BLOCK, WAKE, SPAWN} <= {e[0] for e in events}
    assert before <= stamps[0] and stamps[-1] <= after and stamps == sorted(stamps)


@needs_c
def test_the_c_hooks_read_a_gid_slot_until_its_type_changes():
    """A type whose `gid` is a slot (the runtime's greenthreads, a hub's greenlet) is read straight from the
    slot, among other types (more than the hooks keep in mind at once, and one without the slot: a plain
    greenlet's `gid` is in its dict); when the type changes (here the slot is replaced by a property) the
    hooks see the change."""
    import greenlet

    class Slotted(greenlet.greenlet):
        __slots__ = ("gid",)

    others = [type(f"Other{i}", (greenlet.greenlet,), {"__slots__": ("gid",)})(lambda: None) for i in range(5)]
    for i, other in enumerate(others):
        other.gid = 10 + i
    plain = greenlet.greenlet(lambda: None)
    plain.gid = 20
    a, b = Slotted(lambda: None), Slotted(lambda: None)
    a.gid, b.gid = 7, 8
    rec = Recorder(clock=itertools.count(1).__next__)
    rec.switched(a, b)
    rec.switched(b, runtime.hubs.get_hub().greenlet)
    for other in others:
        rec.switched(other, plain)
    Slotted.gid = property(lambda self: 99)  # type: ignore[assignment]
    rec.switched(a, b)
    assert [(e[2], e[3]) for e in rec.take()] == [
        (7, 8),
        (8, 0),
        *((10 + i, 20) for i in range(5)),
        (99, 99),
    ]


@needs_c
def test_the_c_hooks_read_a_gid_from_the_instance_dict_until_the_class_has_one():
    """A greenlet type without the slot (eventlet's greenthreads, gevent's hub, a main greenlet) keeps `gid` in
    its instances' dicts, which the hooks read straight; once its class has a `gid` of its own (a property here)
    that is what the attribute gives, and what the hooks report."""
    import greenlet

    class Plain(greenlet.greenlet):
        pass

    a, b = Plain(lambda: None), greenlet.greenlet(lambda: None)
    a.gid, b.gid = 7, 8
    rec = Recorder(clock=itertools.count(1).__next__)
    rec.switched(a, b)
    a.gid = 9  # (the runtime never changes one: read each time all the same)
    rec.switched(a, b)
    Plain.gid = property(lambda self: 99)  # type: ignore[attr-defined]
    rec.switched(a, b)
    assert [(e[2], e[3]) for e in rec.take()] == [(7, 8), (9, 8), (99, 8)]


@needs_c
def test_the_c_buffer_hands_out_what_the_kinds_name_and_counts_what_it_cannot_hold():
    """The C hooks keep their events in a buffer of their own (times and ids as int64s): a take hands out
    exactly the events the kinds it was given name, oldest first, and leaves the rest for the next; an event
    whose gid is no int64 (never one the runtime gives) is counted as lost, not raised into the hub; a take
    naming more events than there are is refused."""
    import greenlet

    class Odd(greenlet.greenlet):
        __slots__ = ("gid",)

    a, b, odd = Odd(lambda: None), Odd(lambda: None), Odd(lambda: None)
    a.gid, b.gid, odd.gid = 7, 1 << 40, "not an id"
    rec = Recorder(clock=itertools.count(1).__next__)
    fast = rec._fast
    rec.switched(a, b)
    rec.woken(b, "send", a, None, 5)
    rec.switched(b, a)
    rec.switched(odd, a)  # lost: counted
    first = fast.take(bytes([SWITCH]))  # the first switch only
    assert {kind: [list(c) for c in cols] for kind, cols in first.items()} == {SWITCH: [[1], [7], [1 << 40]]}
    assert all(isinstance(c, array) and c.typecode == "q" for c in first[SWITCH])
    with pytest.raises(ValueError, match="2 events of kind 4 named, 1 recorded"):
        fast.take(bytes([WAKE, WAKE]))
    del rec._kinds[:1]  # (what take_batch does after the buffer's take)
    assert rec.take() == [(WAKE, 2, 1 << 40, "send", 7, 5), (SWITCH, 3, 1 << 40, 7), (DROPPED, 5, 1)]
    assert rec.take() == []


@needs_c
def test_the_c_buffer_gives_memory_back_after_a_burst():
    """A buffer that grew for a burst (here 200,000 switches between two takes) shrinks again once taken."""
    import tracemalloc

    import greenlet

    class Slotted(greenlet.greenlet):
        __slots__ = ("gid",)

    a, b = Slotted(lambda: None), Slotted(lambda: None)
    a.gid, b.gid = 2, 3
    rec = Recorder(clock=itertools.count(1).__next__)
    tracemalloc.start()
    try:
        for _ in range(200_000):
            rec.switched(a, b)
        grown = tracemalloc.get_traced_memory()[0]
        assert len(rec.take_batch().kinds) == 200_000
        for _ in range(10):  # each take of a buffer an eighth full gives back half its room
            rec.switched(a, b)
            rec.take_batch()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert grown > 200_000 * 24 and after < grown / 10

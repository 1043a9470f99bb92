"""Timed waits that share a timeout (`runtime.hubs.timeouts`): on the virtual clock, they time out
at their own deadlines, in order, each counted as a timer fired with its own lateness; a wait that
ends leaves nothing set; ended waits cannot pile up; values beyond the FIFOs still time out."""

from __future__ import annotations

import socket

import pytest

import runtime
from runtime.hubs import get_hub
from runtime.hubs.timeouts import SLOTS
from runtime.instrument import Instrument, add_instrument, remove_instrument
from runtime.queue import Empty, Queue


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    with a, b:
        yield a, b
    get_hub().notify_close(a.fileno())


class Timers(Instrument):
    def __init__(self) -> None:
        self.fired: list[tuple[int, int]] = []
        self.wakes: list[tuple[str, int]] = []

    def timers_fired(self, n, late):
        self.fired.append((n, late))

    def woken(self, glet, cause, waker, obj, late):
        self.wakes.append((cause, late))


def test_waits_with_one_timeout_time_out_at_their_own_deadlines_in_order(clock):
    q = Queue()
    out = []

    def getter(name):
        try:
            q.get(timeout=10)
        except Empty:
            out.append((name, clock()))

    for name, start in (("a", 0), ("b", 1.5), ("c", 1.5), ("d", 4)):
        runtime.spawn_after(start, getter, name)
    runtime.sleep(20)
    assert out == [("a", 10.0), ("b", 11.5), ("c", 11.5), ("d", 14.0)]
    assert get_hub().pending_timers() == 0


def test_each_timed_out_wait_is_a_timer_fired_with_its_lateness(clock):
    q = Queue()
    seen = Timers()

    def getter():
        try:
            q.get(timeout=1)
        except Empty:
            pass

    def hog():
        clock.advance(1.75)  # holds the hub past both deadlines

    runtime.spawn(getter)
    runtime.spawn_after(0.1, getter)
    runtime.spawn_after(0.25, hog)
    add_instrument(seen)
    try:
        runtime.sleep(3)
    finally:
        remove_instrument(seen)
    # both due (at 1.0 and 1.1) when the hub is back at 2.0: one pass over the timers, two fired, 1 s late at most
    assert (2, 1_000_000_000) in seen.fired
    assert ("timeout", 1_000_000_000) in seen.wakes and ("timeout", 900_000_000) in seen.wakes


def test_a_wait_that_ends_leaves_no_timer(clock, pair):
    a, b = pair
    hub = get_hub()
    readers = [runtime.spawn(hub.wait_fd, a.fileno(), False, 30) for _ in range(1)]
    q = Queue()
    getters = [runtime.spawn(q.get, timeout=30) for _ in range(3)]
    runtime.sleep(0)
    assert hub.pending_timers() == 4  # one for each timed wait
    for i in range(3):
        q.put(i)
    b.send(b"x")
    assert [g.wait() for g in getters] == [0, 1, 2]
    assert [r.wait() for r in readers] == [True]
    assert hub.pending_timers() == 0 and hub.is_idle()
    assert clock() == 0  # nothing waited for a deadline


def test_ended_waits_do_not_pile_up_behind_a_long_one(clock):
    q, other = Queue(), Queue()
    long = runtime.spawn(q.get, timeout=5)  # at the front of the 5 s FIFO for the whole test
    runtime.sleep(0)
    fifo = get_hub()._fifos[5]
    for i in range(5_000):
        g = runtime.spawn(other.get, timeout=5)
        runtime.sleep(0)
        other.put(i)
        assert g.wait() == i
        assert len(fifo.waits) <= 2 * fifo.waiting + 33
    q.put("x")
    assert long.wait() == "x"
    assert get_hub().pending_timers() == 0


def test_timeouts_beyond_the_fifos_still_time_out(clock):
    q = Queue()
    out = []

    def getter(seconds):
        try:
            q.get(timeout=seconds)
        except Empty:
            out.append((seconds, clock()))

    values = [1 + i / 8 for i in range(SLOTS + 8)]  # more distinct timeouts than FIFOs, all waiting at once
    for seconds in reversed(values):
        runtime.spawn(getter, seconds)
    runtime.sleep(10)
    assert out == [(s, s) for s in values]
    assert len(get_hub()._fifos) == SLOTS


def test_a_main_greenthread_that_can_never_wake_is_told_at_once_after_timed_waits_ended():
    q = Queue()
    g = runtime.spawn(q.get, timeout=60)
    runtime.sleep(0)
    q.put(1)
    assert g.wait() == 1
    with pytest.raises(runtime.hubs.Deadlock):
        runtime.Event().wait()  # no timer of an ended wait keeps the hub waiting for nothing

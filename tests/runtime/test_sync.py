"""Event, Semaphore, BoundedSemaphore, CappedSemaphore, Timeout."""

from __future__ import annotations

import sys

import pytest

import runtime
from runtime import BoundedSemaphore, CappedSemaphore, Event, GreenletExit, Semaphore, Timeout

# ---------------------------------------------------------------- Event


def test_event_send_wakes_every_waiter_with_the_value():
    ev = Event()
    gts = [runtime.spawn(ev.wait) for _ in range(3)]
    runtime.sleep(0)
    assert ev.send("v") == 3
    assert [gt.wait() for gt in gts] == ["v"] * 3
    assert ev.ready() and ev.has_result() and not ev.has_exception()
    assert ev.wait() == "v" and ev.poll() == "v"


def test_event_wait_timeout_returns_none(clock):
    ev = Event()
    assert ev.wait(timeout=3) is None
    assert clock() == 3
    assert not ev.ready() and ev.poll("nope") == "nope"


def test_event_send_exception_raises_in_every_waiter():
    ev = Event()
    gts = [runtime.spawn(ev.wait) for _ in range(2)]
    runtime.sleep(0)
    ev.send_exception(KeyError, "k")
    for gt in gts:
        with pytest.raises(KeyError, match="k"):
            gt.wait()
    assert ev.has_exception() and not ev.has_result()
    with pytest.raises(KeyError):
        ev.wait()
    with pytest.raises(KeyError):
        ev.poll()


def test_event_send_twice_and_reset_fresh_are_errors():
    ev = Event()
    with pytest.raises(AssertionError, match="nothing to reset"):
        ev.reset()
    ev.send(1)
    with pytest.raises(AssertionError, match="already sent"):
        ev.send(2)
    ev.reset()
    assert not ev.ready()
    ev.send(2)
    assert ev.wait() == 2


def test_a_waiter_woken_before_reset_keeps_its_value():
    ev = Event()
    gt = runtime.spawn(ev.wait)
    runtime.sleep(0)
    ev.send("first")
    ev.reset()  # the waiter has not run yet
    assert gt.wait() == "first"


# ---------------------------------------------------------------- Semaphore


def test_semaphore_bad_values_fail_at_construction():
    with pytest.raises(ValueError, match="must be >= 0, got -1"):
        Semaphore(-1)
    with pytest.raises(TypeError, match="must be an int, got str"):
        Semaphore("3")
    with pytest.raises(ValueError, match=r"Semaphore value must be a whole number, got 1\.5"):
        Semaphore(1.5)
    with pytest.raises(ValueError, match="must be a whole number, got inf"):
        BoundedSemaphore(float("inf"))
    with pytest.raises(ValueError, match=r"count .* must be <= limit"):
        CappedSemaphore(3, 2)


def test_semaphore_non_blocking_and_timeout(clock):
    sem = Semaphore(1)
    assert sem.acquire() is True
    assert sem.locked()
    assert sem.acquire(blocking=False) is False
    assert sem.acquire(timeout=2) is False
    assert clock() == 2
    with pytest.raises(ValueError, match="blocking=False"):
        sem.acquire(blocking=False, timeout=1)
    sem.release()
    assert sem.counter == 1 and not sem.locked()


def test_semaphore_waiters_are_served_in_fifo_order():
    sem = Semaphore(0)
    order = []

    def taker(i):
        sem.acquire()
        order.append(i)

    gts = [runtime.spawn(taker, i) for i in range(5)]
    runtime.sleep(0)
    assert sem.balance == -5
    for _ in range(5):
        sem.release()
    for gt in gts:
        gt.wait()
    assert order == [0, 1, 2, 3, 4]


def test_a_released_permit_cannot_be_taken_by_a_newcomer():
    sem = Semaphore(0)
    waiter = runtime.spawn(sem.acquire)
    runtime.sleep(0)
    sem.release()  # handed to the waiter, which has not run yet
    assert sem.acquire(blocking=False) is False
    assert waiter.wait() is True


def test_a_waiter_killed_after_it_was_handed_the_permit_holds_it_until_its_next_block():
    sem = Semaphore(0)
    log = []

    def holder(name):
        with sem:
            log.append(f"{name} has it")
            runtime.sleep(0)  # the kill arrives here; `with` gives the permit back
            log.append(f"{name} done")

    first = runtime.spawn(holder, "first")
    second = runtime.spawn(holder, "second")
    runtime.sleep(0)
    sem.release()  # handed to `first`, which has not run yet...
    first.kill()  # ...and is killed: it still takes the permit, then raises at once
    second.wait()
    assert log == ["first has it", "second has it", "second done"]
    with pytest.raises(GreenletExit):
        first.wait()
    assert sem.counter == 1


def test_timeout_fired_after_the_wake_is_raised_at_the_next_block(clock):
    ev = Event()
    log = []

    def waiter():
        with Timeout(1, False):
            log.append(ev.wait())
            runtime.sleep(5)  # the timeout that fired at t=1 is raised here, at once
            log.append("not reached")
        log.append(clock())

    runtime.hubs.get_hub().call_at(1, ev.send, "sent")  # set first: fires before the Timeout
    gt = runtime.spawn(waiter)
    gt.wait()
    assert log == ["sent", 1.0]


def test_a_timeout_cancelled_before_it_is_raised_is_forgotten(clock):
    ev = Event()

    def waiter():
        with Timeout(1):
            value = ev.wait()  # woken at t=1, and the timeout fires at t=1 too
        runtime.sleep(2)  # outside the block: nothing may be raised here
        return value

    runtime.hubs.get_hub().call_at(1, ev.send, "in time")  # set first: fires first
    gt = runtime.spawn(waiter)
    assert gt.wait() == "in time"


def test_semaphore_context_manager():
    sem = Semaphore(2)
    with sem:
        assert sem.counter == 1
    assert sem.counter == 2


def test_bounded_semaphore_over_release_raises():
    sem = BoundedSemaphore(1)
    sem.acquire()
    sem.release()
    with pytest.raises(ValueError, match="released too many times"):
        sem.release()
    assert not sem.bounded()  # a release never waits: it raises (eventlet's answer too)


def test_capped_semaphore_release_waits_at_the_limit():
    sem = CappedSemaphore(1, 2)
    assert sem.release() is True
    assert sem.counter == 2
    assert sem.release(blocking=False) is False
    releaser = runtime.spawn(sem.release)
    runtime.sleep(0)
    assert not releaser.dead  # waiting for room below the limit
    assert sem.acquire() is True
    releaser.wait()
    assert sem.counter == 2
    assert sem.acquire() and sem.acquire()
    assert sem.acquire(blocking=False) is False
    assert sem.counter == 0


def test_capped_semaphore_zero_zero_acquirer_and_releaser_meet():
    sem = CappedSemaphore(0, 0)
    got = []
    acquirer = runtime.spawn(lambda: got.append(("acquired", sem.acquire())))
    runtime.sleep(0)
    assert (sem.locked(), sem.bounded()) == (True, False)  # a release would not wait: an acquirer does
    assert sem.release() is True  # hands the permit to the waiting acquirer
    acquirer.wait()
    releaser = runtime.spawn(lambda: got.append(("released", sem.release())))
    runtime.sleep(0)
    assert (sem.locked(), sem.bounded()) == (False, True)
    assert sem.acquire(blocking=False) is True  # takes the waiting releaser's permit
    releaser.wait()
    assert got == [("acquired", True), ("released", True)]
    assert (sem.counter, sem.balance) == (0, 0)


def test_capped_semaphore_balance_is_eventlets():
    # the figures eventlet (0.41) gives in the same states
    assert [CappedSemaphore(c, limit).balance for c, limit in [(0, 2), (1, 2), (2, 2), (0, 5), (3, 5)]] == [
        -2,
        0,
        2,
        -5,
        1,
    ]
    sem = CappedSemaphore(0, 2)
    acquirers = [runtime.spawn(sem.acquire) for _ in range(3)]
    runtime.sleep(0)
    assert sem.balance == -8
    assert [sem.release() for _ in acquirers] == [True] * 3  # each hands its permit over
    assert [a.wait() for a in acquirers] == [True] * 3 and sem.balance == -2
    sem = CappedSemaphore(2, 2)
    releasers = [runtime.spawn(sem.release) for _ in range(2)]
    runtime.sleep(0)
    assert (sem.balance, sem.locked(), sem.bounded()) == (6, False, True)
    sem.acquire()
    assert sem.balance == 4
    sem.acquire()
    for r in releasers:
        r.wait()
    assert sem.counter == 2


def test_semaphore_values_may_be_floats_with_a_whole_value(clock):
    assert Semaphore(1e2).counter == 100
    assert BoundedSemaphore(2.0).original_counter == 2
    assert CappedSemaphore(1.0, 3.0).limit == 3


def test_a_timeout_of_minus_one_means_no_limit(clock):
    sem = Semaphore(0)
    runtime.spawn_after(50, sem.release)
    assert sem.acquire(timeout=-1) is True
    assert clock() == 50
    assert sem.acquire(blocking=False, timeout=-1) is False
    with pytest.raises(ValueError, match="timeout must be >= 0, -1 or None"):
        sem.acquire(timeout=-2)


# ---------------------------------------------------------------- Timeout


def test_timeout_raises_itself_in_the_block(clock):
    with pytest.raises(Timeout) as info:
        with Timeout(1.5) as t:
            runtime.sleep(10)
    assert info.value is t
    assert clock() == 1.5
    assert not t.pending
    assert str(t) == "1.5 seconds"


def test_timeout_false_leaves_the_block_quietly(clock):
    reached = []
    with Timeout(1, False):
        runtime.sleep(10)
        reached.append(True)
    assert reached == [] and clock() == 1


def test_timeout_with_a_custom_exception(clock):
    with pytest.raises(KeyError):
        with Timeout(1, KeyError):
            runtime.sleep(10)
    err = ValueError("mine")
    with pytest.raises(ValueError, match="mine"):
        with Timeout(1, err):
            Event().wait()


def test_timeout_cancelled_in_time_never_fires(clock, hub):
    with Timeout(5) as t:
        assert t.pending
        runtime.sleep(1)
    assert not t.pending and hub.pending_timers() == 0
    runtime.sleep(10)  # nothing raises


def test_timeout_none_never_expires():
    t = Timeout(None)
    assert not t.pending
    with t:
        runtime.sleep(0)


def test_nested_timeouts_the_inner_one_fires_first(clock):
    with pytest.raises(Timeout) as info:
        with Timeout(5):
            with Timeout(2) as inner:
                runtime.sleep(10)
    assert info.value is inner


def test_timeout_interrupts_a_semaphore_wait_and_leaves_no_waiter(clock):
    sem = Semaphore(0)
    with Timeout(1, False):
        sem.acquire()
    assert sem.balance == 0
    sem.release()
    assert sem.counter == 1


def test_timeout_in_another_greenthread_does_not_touch_this_one(clock):
    def guarded():
        with Timeout(1, False):
            runtime.sleep(5)
        return "left"

    gt = runtime.spawn(guarded)
    runtime.sleep(3)
    assert gt.wait() == "left"


def test_with_timeout(clock):
    assert runtime.with_timeout(1, lambda x: x + 1, 1) == 2
    assert runtime.with_timeout(1, runtime.sleep, 5, timeout_value="late") == "late"
    with pytest.raises(Timeout):
        runtime.with_timeout(1, runtime.sleep, 5)


def test_is_timeout():
    assert runtime.is_timeout(Timeout(None))
    assert runtime.is_timeout(TimeoutError())
    assert not runtime.is_timeout(ValueError())
    assert not runtime.is_timeout(None)


def test_semaphores_are_named_after_their_creation_site():
    sem, line = Semaphore(1), sys._getframe().f_lineno
    assert sem.name == f"{__file__}:{line}"
    assert Semaphore(1, name="db").name == "db"
    capped = CappedSemaphore(1, 2, name="c")
    assert capped.name == "c" and "c" in repr(capped)

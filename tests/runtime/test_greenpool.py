"""GreenPool and GreenPile."""

from __future__ import annotations

import sys

import pytest

import runtime
from runtime import GreenletExit, GreenPile, GreenPool
from runtime.greenpool import AHEAD


def test_bad_sizes_fail_at_construction():
    with pytest.raises(ValueError, match="GreenPool size must be >= 0, got -1"):
        GreenPool(-1)
    with pytest.raises(TypeError, match="GreenPool size must be an int, got str"):
        GreenPool("10")
    with pytest.raises(ValueError, match=r"GreenPool size must be a whole number, got 2\.5"):
        GreenPile(2.5)
    with pytest.raises(ValueError):
        GreenPool(3).resize(-2)


def test_a_size_may_be_a_float_with_a_whole_value():
    pool = GreenPool(1e3)
    assert pool.size == 1000 and type(pool.size) is int
    pool.resize(2.0)
    assert pool.free() == 2


def test_name_defaults_to_the_creation_site():
    pool, line = GreenPool(3), sys._getframe().f_lineno
    assert pool.name == f"{__file__}:{line}"
    assert GreenPool(3, name="fetchers").name == "fetchers"


def test_counts_while_running():
    pool = GreenPool(3)
    ev = runtime.Event()
    for _ in range(2):
        pool.spawn(ev.wait)
    assert (pool.running(), pool.free(), pool.waiting()) == (2, 1, 0)
    ev.send()
    pool.waitall()
    assert (pool.running(), pool.free(), pool.waiting()) == (0, 3, 0)


def test_spawn_waits_for_a_slot_and_slots_go_in_fifo_order(clock):
    pool = GreenPool(2)
    order = []

    def job(name, seconds):
        runtime.sleep(seconds)
        order.append(name)

    def spawner(name):
        pool.spawn(job, name, 1)

    pool.spawn(job, "a", 1)
    pool.spawn(job, "b", 2)
    spawners = [runtime.spawn(spawner, n) for n in "cde"]
    runtime.sleep(0)
    assert pool.waiting() == 3
    newcomer = pool.spawn  # the main greenthread also waits, behind them
    newcomer(job, "f", 0)
    for s in spawners:
        s.wait()
    pool.waitall()
    # c is let in when a exits at t=1, d when b exits at t=2, e when c exits at t=2...
    assert order == ["a", "b", "c", "d", "e", "f"]


def test_a_freed_slot_cannot_be_taken_by_a_newcomer():
    pool = GreenPool(1)
    ev = runtime.Event()
    first = pool.spawn(ev.wait)
    waiter = runtime.spawn(pool.spawn, lambda: "waiter's")
    runtime.sleep(0)
    ev.send()
    first.wait()  # first exits: its slot is reserved for `waiter`
    assert pool.free() == 0
    assert waiter.wait().wait() == "waiter's"


def test_a_member_spawning_into_its_own_full_pool_runs_inline():
    pool = GreenPool(1)

    def outer():
        inner = pool.spawn(lambda: runtime.getcurrent())
        return inner.wait(), runtime.getcurrent()

    ran_in, outer_glet = pool.spawn(outer).wait()
    assert ran_in is outer_glet


def test_an_inline_call_that_raises_keeps_its_exception(capsys):
    runtime.debug.hub_exceptions(False)
    pool = GreenPool(1)

    def outer():
        inner = pool.spawn(lambda: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            inner.wait()
        inner.kill()  # already finished: nothing to do
        return "outer done"

    assert pool.spawn(outer).wait() == "outer done"


def test_resize_grows_at_once_and_shrinking_kills_nobody():
    pool = GreenPool(1)
    ev = runtime.Event()
    pool.spawn(ev.wait)
    waiters = [runtime.spawn(pool.spawn, ev.wait) for _ in range(2)]
    runtime.sleep(0)
    assert pool.waiting() == 2
    pool.resize(3)
    for w in waiters:
        w.wait()
    assert (pool.running(), pool.waiting()) == (3, 0)
    pool.resize(1)
    assert pool.running() == 3 and pool.free() == -2
    ev.send()
    pool.waitall()
    assert pool.free() == 1


def test_waitall_from_inside_the_pool_is_an_error():
    pool = GreenPool(2)
    with pytest.raises(RuntimeError, match="would wait for itself"):
        pool.spawn(pool.waitall).wait()


def test_waitall_with_nothing_running_returns_at_once(recorder):
    pool = GreenPool(4)
    pool.waitall()
    assert recorder.kinds("blocked", "switch") == []  # it neither parked nor gave up its turn


def test_spawn_n_in_a_pool():
    pool = GreenPool(2)
    out = []
    for i in range(5):
        pool.spawn_n(out.append, i)
    pool.waitall()
    assert out == [0, 1, 2, 3, 4]


def test_imap_gives_results_in_input_order():
    pool = GreenPool(200)
    assert list(pool.imap(pow, (2, 3, 10), (5, 2, 3))) == [32, 9, 1000]
    assert list(pool.starmap(pow, [(2, 5), (3, 2), (10, 3)])) == [32, 9, 1000]
    assert list(pool.imap(None, "ab", [1, 2])) == [("a", 1), ("b", 2)]


def test_imap_runs_concurrently_up_to_the_pool_size(clock):
    pool = GreenPool(4)
    active = []
    peak = []

    def work(delay):
        active.append(1)
        peak.append(len(active))
        runtime.sleep(delay)
        active.pop()
        return delay

    delays = [3, 1, 2, 1, 1, 1, 2, 1]
    assert list(pool.imap(work, delays)) == delays
    assert max(peak) == 4
    assert clock() < sum(delays) / 2  # concurrent, not one after another


def test_imap_reads_its_input_as_slots_free_at_most_AHEAD_results_ahead(clock):
    pool = GreenPool(3)
    taken = []

    def numbers():
        for i in range(3 * AHEAD):
            taken.append(i)
            yield i

    results = pool.imap(lambda x: x * 2, numbers())
    assert next(results) == 0
    runtime.sleep(1)  # the consumer away: the pool works on, until AHEAD results wait for it
    assert AHEAD < len(taken) <= AHEAD + 2
    assert list(results) == [2 * i for i in range(1, 3 * AHEAD)]


def test_imap_keeps_the_pool_full_behind_a_slow_first_call(clock):
    """As in eventlet: slots are refilled as they free, not as results are taken, so the quick calls behind a
    slow first one run in the other slot meanwhile (taking results as they come would leave it idle 2 s)."""
    pool = GreenPool(2)
    assert list(pool.imap(lambda d: runtime.sleep(d) or d, [3, 1, 1, 1, 1])) == [3, 1, 1, 1, 1]
    assert clock() == 4


def test_imap_reraises_a_workers_error_at_its_position(capsys):
    runtime.debug.hub_exceptions(False)
    pool = GreenPool(4)

    def inverse(x):
        return 1 / x

    results = pool.imap(inverse, [1, 2, 0, 4])
    assert next(results) == 1.0
    assert next(results) == 0.5
    with pytest.raises(ZeroDivisionError):
        next(results)
    pool.waitall()


def test_imap_goes_on_after_a_workers_error(capsys):
    runtime.debug.hub_exceptions(False)

    def work(i):
        if i in (1, 7):
            raise RuntimeError(i)
        return i

    results = GreenPool(4).imap(work, range(10))
    out = []
    while True:  # as eventlet's crawler does: catch a failed fetch, go on with the rest
        try:
            out.append(next(results))
        except StopIteration:
            break
        except RuntimeError:
            out.append("r")
    assert out == [0, "r", 2, 3, 4, 5, 6, "r", 8, 9]
    assert next(results, "end") == "end"


def test_imap_with_a_non_callable_fails_at_the_call():
    with pytest.raises(TypeError, match="imap"):
        GreenPool(2).imap(3, [1])


def test_imap_on_100k_items():
    pool = GreenPool(1000)
    assert sum(pool.imap(lambda x: x, range(100_000))) == sum(range(100_000))


# ---------------------------------------------------------------- GreenPile


def test_pile_results_in_spawn_order(clock):
    pile = GreenPile(10)
    for delay in (3, 1, 2):
        pile.spawn(lambda d: runtime.sleep(d) or d, delay)
    assert pile.counter == 3
    assert list(pile) == [3, 1, 2]
    assert pile.counter == 0
    assert clock() == 3


def test_pile_reraises_at_the_position(capsys):
    runtime.debug.hub_exceptions(False)
    pile = GreenPile()
    pile.spawn(lambda: "ok")
    pile.spawn(lambda: {}["missing"])
    pile.spawn(lambda: "after")
    assert next(pile) == "ok"
    with pytest.raises(KeyError):
        next(pile)
    assert next(pile) == "after"
    with pytest.raises(StopIteration):
        next(pile)


def test_pile_on_a_shared_pool_waits_for_slots(clock):
    pool = GreenPool(2)
    pile = GreenPile(pool)
    assert pile.pool is pool
    for i in range(5):
        pile.spawn(lambda i: runtime.sleep(1) or i, i)  # the 3rd spawn waits for a slot
    assert list(pile) == [0, 1, 2, 3, 4]
    assert clock() == 3


def test_a_pile_with_nothing_spawned_is_empty(clock):
    assert list(GreenPile(4)) == []
    busy = runtime.spawn(runtime.sleep, 10)  # something else is alive: still nothing to wait for
    assert list(GreenPile(4)) == []
    assert clock() == 0
    busy.wait()


def test_a_pile_ends_when_what_was_spawned_was_taken_and_goes_on_after_more_spawns():
    pile = GreenPile(2)
    pile.spawn(lambda: 1)
    assert list(pile) == [1]
    pile.spawn(lambda: 2)
    assert list(pile) == [2]


def test_killing_a_pool_member_frees_its_slot():
    pool = GreenPool(1)
    gt = pool.spawn(runtime.sleep, 1000)
    runtime.sleep(0)
    gt.kill()
    with pytest.raises(GreenletExit):
        gt.wait()
    assert pool.free() == 1

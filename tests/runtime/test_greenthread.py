"""Greenthreads: spawn, wait, kill, link, spawn_after, errors."""

from __future__ import annotations

import greenlet
import pytest

import runtime
from runtime import GreenletExit


def test_wait_returns_the_result():
    gt = runtime.spawn(lambda a, b=0: a + b, 2, b=3)
    assert isinstance(gt, runtime.GreenThread)
    assert gt.wait() == 5
    assert gt.dead
    assert gt.wait() == 5  # again, at once


def test_wait_reraises_and_the_error_is_reported_once(capsys):
    def fail():
        raise ValueError("bad")

    gt = runtime.spawn(fail)
    with pytest.raises(ValueError, match="bad"):
        gt.wait()
    with pytest.raises(ValueError, match="bad"):
        gt.wait()
    err = capsys.readouterr().err
    assert err.count("Traceback") == 1
    assert "ValueError: bad" in err
    assert "GreenThread" in err


def test_error_reports_can_be_switched_off(capsys):
    runtime.debug.hub_exceptions(False)
    gt = runtime.spawn(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        gt.wait()
    assert capsys.readouterr().err == ""


def test_an_error_in_one_greenthread_does_not_stop_the_others(capsys):
    done = []

    def fail():
        raise RuntimeError("one")

    def ok(i):
        runtime.sleep(0)
        done.append(i)

    runtime.spawn_n(fail)
    gts = [runtime.spawn(ok, i) for i in range(3)]
    for gt in gts:
        gt.wait()
    assert done == [0, 1, 2]
    assert "RuntimeError: one" in capsys.readouterr().err


def test_spawn_of_a_non_callable_fails_at_the_call():
    with pytest.raises(TypeError, match=r"spawn\(\) needs a callable, got int 42"):
        runtime.spawn(42)
    with pytest.raises(TypeError, match="spawn_n"):
        runtime.spawn_n("nope")
    with pytest.raises(TypeError, match="spawn_after"):
        runtime.spawn_after(1, None)


def test_spawn_n_runs_without_a_result():
    out = []
    g = runtime.spawn_n(out.append, 1)
    assert isinstance(g, greenlet.greenlet)
    runtime.sleep(0)
    assert out == [1] and g.dead


def test_kill_before_start_never_runs_the_function():
    ran = []
    gt = runtime.spawn(ran.append, 1)
    gt.kill()
    assert gt.dead
    assert ran == []
    with pytest.raises(GreenletExit):
        gt.wait()


def test_kill_throws_into_a_parked_greenthread_and_the_killer_resumes_after():
    order = []

    def victim():
        try:
            runtime.sleep(1000)
        except ValueError as e:
            order.append(f"victim got {e}")
            raise

    gt = runtime.spawn(victim)
    runtime.sleep(0)
    runtime.kill(gt, ValueError, "stop")
    order.append("killer resumed")
    assert order == ["victim got stop", "killer resumed"]
    with pytest.raises(ValueError, match="stop"):
        gt.wait()


def test_kill_with_greenletexit_ends_quietly(capsys):
    gt = runtime.spawn(runtime.sleep, 1000)
    runtime.sleep(0)
    gt.kill()
    with pytest.raises(GreenletExit):
        gt.wait()
    assert capsys.readouterr().err == ""


def test_kill_of_a_dead_greenthread_is_a_no_op():
    gt = runtime.spawn(lambda: 7)
    assert gt.wait() == 7
    gt.kill()
    assert gt.wait() == 7


def test_kill_of_a_ready_greenthread_raises_instead_of_resuming():
    order = []

    def yielder():
        try:
            runtime.sleep(0)
            order.append("resumed")
        except GreenletExit:
            order.append("killed")
            raise

    gt = runtime.spawn(yielder)
    runtime.sleep(0)  # yielder yields: it is in the ready queue again
    gt.kill()
    assert order == ["killed"]


def test_killing_yourself_raises_at_once():
    def suicide():
        runtime.kill(runtime.getcurrent())
        return "not reached"

    with pytest.raises(GreenletExit):
        runtime.spawn(suicide).wait()


def test_cancel_only_kills_one_that_has_not_started():
    started = runtime.spawn(runtime.sleep, 0.001)
    runtime.sleep(0)
    started.cancel()
    assert started.wait() is None
    fresh = runtime.spawn(lambda: "ran")
    fresh.cancel()
    with pytest.raises(GreenletExit):
        fresh.wait()


def test_cancel_of_a_spawn_after_whose_delay_is_up_does_nothing(clock):
    # eventlet starts it when its delay is up; here it is ready then, and counts as started
    gt = runtime.spawn_after(0, lambda: "ran")
    runtime.sleep(0)  # the first switch to the hub: the due timer fires before main resumes
    gt.cancel()
    assert gt.wait() == "ran"
    gt = runtime.spawn_after(0, lambda: "ran again")
    runtime.sleep(0)  # the hub running already
    gt.cancel()
    assert gt.wait() == "ran again"


def test_a_greenthread_cannot_wait_for_itself():
    def selfish():
        return runtime.getcurrent().wait()

    with pytest.raises(RuntimeError, match="cannot wait for itself"):
        runtime.spawn(selfish).wait()


def test_links_run_at_exit_in_order_with_their_arguments():
    calls = []
    gt = runtime.spawn(lambda: 3)
    gt.link(lambda g, tag: calls.append((tag, g.wait())), "a")
    gt.link(lambda g, tag="?": calls.append((tag, g.wait())), tag="b")
    gt.wait()
    assert calls == [("a", 3), ("b", 3)]
    gt.link(lambda g: calls.append(("late", g.wait())))
    assert calls[-1] == ("late", 3)


def test_unlink_and_a_failing_link(capsys):
    calls = []

    def record(g, tag):
        calls.append(tag)

    def broken(g):
        raise KeyError("link")

    gt = runtime.spawn(lambda: None)
    gt.link(record, "x")
    gt.link(broken)
    gt.link(record, "y")
    assert gt.unlink(record, "x") is True
    assert gt.unlink(record, "zzz") is False
    gt.wait()
    assert calls == ["y"]
    assert "KeyError: 'link'" in capsys.readouterr().err


def test_spawn_after_runs_on_time(clock):
    gt = runtime.spawn_after(2.5, lambda: runtime.hubs.get_hub().clock())
    assert gt.wait() == 2.5


def test_spawn_after_cancelled_never_runs(clock):
    ran = []
    gt = runtime.spawn_after(5, ran.append, 1)
    runtime.sleep(1)
    gt.cancel()
    runtime.sleep(10)
    assert ran == []
    with pytest.raises(GreenletExit):
        gt.wait()
    assert runtime.hubs.get_hub().pending_timers() == 0


def test_spawn_after_local_is_cancelled_when_its_spawner_ends(clock):
    ran = []

    def spawner():
        return runtime.spawn_after_local(1, ran.append, "local"), runtime.spawn_after(1, ran.append, "global")

    local, glob = runtime.spawn(spawner).wait()
    glob.wait()
    with pytest.raises(GreenletExit):
        local.wait()
    assert ran == ["global"]


def test_many_greenthreads_finish():
    gts = [runtime.spawn(lambda i: i * i, i) for i in range(10000)]
    assert sum(gt.wait() for gt in gts) == sum(i * i for i in range(10000))


def test_getcurrent_is_greenlets():
    assert runtime.getcurrent() is greenlet.getcurrent()

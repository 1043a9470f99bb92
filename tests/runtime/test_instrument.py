"""The instrument hooks: exact sequences for small scenarios, and their failure rules."""

from __future__ import annotations

import logging

import pytest

import runtime
from runtime.greenthread import gid_of
from runtime.instrument import HOOK_NAMES, Instrument, add_instrument, hooks, instruments, remove_instrument

MAIN, HUB = 1, 0


def test_no_instrument_means_no_hook_to_call():
    assert instruments() == ()
    assert all(getattr(hooks, name) is None for name in HOOK_NAMES)


def test_only_overridden_hooks_are_registered():
    class OnlySpawns(Instrument):
        def spawned(self, glet, parent):
            pass

    inst = OnlySpawns()
    add_instrument(inst)
    try:
        assert hooks.spawned is not None
        assert hooks.switched is None and hooks.blocked is None
    finally:
        remove_instrument(inst)
    assert hooks.spawned is None


def test_every_hook_is_documented_on_its_method():
    assert [name for name in HOOK_NAMES if not (getattr(Instrument, name).__doc__ or "").strip()] == []


def test_bad_instruments_are_refused():
    with pytest.raises(TypeError, match="needs an Instrument"):
        add_instrument(object())
    with pytest.raises(ValueError, match="is not installed"):
        remove_instrument(Instrument())


def test_sleep0_ping_pong(clock, recorder):
    def worker():
        for _ in range(2):
            runtime.sleep(0)

    a = runtime.spawn(worker)
    b = runtime.spawn(worker)
    a.wait()
    b.wait()
    A, B = a.gid, b.gid
    assert recorder.log == [
        ("spawned", A, MAIN),
        ("spawned", B, MAIN),
        ("blocked", MAIN, "join", None),
        ("switch", MAIN, A),  # a yields: switched out with no block, it is ready again
        ("switch", A, B),  # the hub goes straight from one to the next: one call
        ("switch", B, A),
        ("switch", A, B),
        ("switch", B, A),
        ("exited", A, "ok", None),
        ("woken", MAIN, "exit", A),  # main waits on a: woken by a's exit
        ("switch", A, B),
        ("exited", B, "ok", None),
        ("switch", B, MAIN),  # b was already dead when main waited for it
    ]


def test_event_hand_off(clock, recorder):
    ev = runtime.Event(name="ready")
    g = runtime.spawn(ev.wait)
    runtime.sleep(0)
    ev.send("x")
    assert g.wait() == "x"
    G = g.gid
    assert recorder.log == [
        ("resource", "event", "ready"),
        ("spawned", G, MAIN),
        ("switch", MAIN, G),  # main yields
        ("blocked", G, "event", None),
        ("switch", G, MAIN),
        ("woken", G, "send", MAIN),  # main sends: g is ready, woken by main
        ("blocked", MAIN, "join", None),
        ("switch", MAIN, G),
        ("exited", G, "ok", None),
        ("woken", MAIN, "exit", G),
        ("switch", G, MAIN),
    ]


def test_semaphore_wait(clock, recorder):
    sem = runtime.Semaphore(0, name="slots")
    g = runtime.spawn(sem.acquire, timeout=5)
    runtime.sleep(0)
    sem.release()
    assert g.wait() is True
    G = g.gid
    assert recorder.log == [
        ("resource", "semaphore", "slots"),
        ("spawned", G, MAIN),
        ("switch", MAIN, G),
        ("blocked", G, "semaphore", 5),
        ("switch", G, MAIN),
        ("woken", G, "release", MAIN),
        ("blocked", MAIN, "join", None),
        ("switch", MAIN, G),
        ("exited", G, "ok", None),
        ("woken", MAIN, "exit", G),
        ("switch", G, MAIN),
    ]


def test_timer(clock, recorder):
    runtime.sleep(2)
    assert recorder.log == [
        ("blocked", MAIN, "sleep", 2),
        ("switch", MAIN, HUB),  # the hub keeps control: it will poll
        ("io_wait", 2.0),  # virtual time: the clock jumps to the deadline
        ("io_done", 0),
        ("woken", MAIN, "timer", HUB),
        ("timers", 1),
        ("switch", HUB, MAIN),
    ]


def test_wait_timeout_and_kill_causes(clock, recorder):
    ev = runtime.Event()
    assert ev.wait(timeout=1) is None
    g = runtime.spawn(ev.wait)
    runtime.sleep(0)
    g.kill()
    G = g.gid
    assert ("woken", MAIN, "timeout", HUB) in recorder.log
    assert recorder.kinds("woken", "exited")[-2:] == [
        ("woken", G, "kill", MAIN),
        ("exited", G, "killed", "GreenletExit"),
    ]


def test_woken_names_what_the_greenthread_waited_on(clock):
    ev = runtime.Event()
    q = runtime.Queue()
    seen = []

    class Objects(Instrument):
        def blocked(self, glet, reason, obj, detail):
            seen.append(("blocked", reason, obj))

        def woken(self, glet, cause, waker, obj, late):
            seen.append(("woken", cause, obj))

    def waits():
        ev.wait()
        q.get()
        runtime.sleep(1)

    g = runtime.spawn(waits)
    never_started = runtime.spawn(lambda: None)
    watch = Objects()
    add_instrument(watch)
    try:
        never_started.kill()  # no wait: nothing to name
        runtime.sleep(0)
        ev.send()
        runtime.sleep(0)
        q.put("x")
        g.wait()
    finally:
        remove_instrument(watch)
    assert seen == [
        ("woken", "kill", None),
        ("blocked", "event", ev),
        ("woken", "send", ev),
        ("blocked", "queue_get", q),
        ("woken", "put", q),
        ("blocked", "join", g),
        ("blocked", "sleep", None),
        ("woken", "timer", None),
        ("woken", "exit", g),
    ]


def test_error_exit(recorder):
    runtime.debug.hub_exceptions(False)
    g = runtime.spawn(lambda: {}["k"])
    with pytest.raises(KeyError):
        g.wait()
    assert ("exited", g.gid, "error", "KeyError") in recorder.log


def test_an_instrument_that_raises_is_removed_and_logged(caplog, recorder):
    class Broken(Instrument):
        def switched(self, prev, nxt):
            raise RuntimeError("instrument bug")

    broken = Broken()
    add_instrument(broken)
    with caplog.at_level(logging.ERROR, logger="runtime.instrument"):
        gt = runtime.spawn(lambda: "still runs")
        assert gt.wait() == "still runs"
    assert broken not in instruments()
    assert recorder in instruments()  # the healthy one stays
    assert "removing it" in caplog.text and "instrument bug" in caplog.text
    assert ("exited", gt.gid, "ok", None) in recorder.log


def test_a_saturated_pool_shows_who_waited_for_a_slot_and_who_let_them_in(clock):
    pool = runtime.GreenPool(2, name="undersized")
    seen = []

    class PoolWatch(Instrument):
        def blocked(self, glet, reason, obj, detail):
            if obj is pool:
                seen.append((clock(), "blocked", gid_of(glet), reason))

        def woken(self, glet, cause, waker, obj, late):
            if glet in spawner_set:
                seen.append((clock(), "woken", glet.gid, cause, gid_of(waker)))

        def resource_changed(self, obj):
            if obj is pool:
                seen.append((clock(), "pool", obj.running(), obj.waiting()))

    def job(seconds):
        runtime.sleep(seconds)

    members = []

    def spawner(i):
        members.append(pool.spawn(job, 1 + i))

    spawners = [runtime.spawn(spawner, i) for i in range(5)]
    spawner_set = set(spawners)
    watch = PoolWatch()
    add_instrument(watch)
    try:
        for s in spawners:
            s.wait()
        pool.waitall()
    finally:
        remove_instrument(watch)
    s0, s1, s2, s3, s4 = (s.gid for s in spawners)
    m = {s.gid: gt.gid for s, gt in zip(spawners, members, strict=True)}  # each got in, in order
    assert seen == [
        (0, "pool", 1, 0),  # spawners 0 and 1 get the two slots
        (0, "pool", 2, 0),
        (0, "blocked", s2, "pool_slot"),  # 2, 3, 4 wait for a slot
        (0, "blocked", s3, "pool_slot"),
        (0, "blocked", s4, "pool_slot"),
        (1, "woken", s2, "exit", m[s0]),  # s0's member exits at t=1 and lets s2 in
        (1, "pool", 1, 2),
        (1, "pool", 2, 2),
        (2, "woken", s3, "exit", m[s1]),  # s1's member exits at t=2 and lets s3 in
        (2, "pool", 1, 1),
        (2, "pool", 2, 1),
        (4, "woken", s4, "exit", m[s2]),  # s2's member (3 s, from t=1) exits at t=4
        (4, "pool", 1, 0),
        (4, "pool", 2, 0),
        (4, "blocked", MAIN, "join"),  # every spawner is done: main waits for the pool
        (6, "pool", 1, 0),  # s3's member (4 s, from t=2) exits at t=6
        (9, "pool", 0, 0),  # s4's member (5 s, from t=4) exits at t=9
    ]


def test_a_timer_that_fires_late_says_how_late(clock):
    """A sleeper due at 0.1 s, while another greenthread holds the hub until 0.3 s: its wake, and the
    hub's pass over its timers, say 200 ms late; a timer on time says 0."""
    seen = []

    class Late(Instrument):
        def woken(self, glet, cause, waker, obj, late):
            seen.append(("woken", cause, late))

        def timers_fired(self, n, late):
            seen.append(("timers", n, late))

    def hog():
        clock.advance(0.3)  # runs 300 ms without yielding

    add_instrument(inst := Late())
    try:
        sleeper = runtime.spawn(runtime.sleep, 0.1)
        runtime.spawn(hog)
        runtime.sleep(0.5)  # on time: nothing holds the hub then
        sleeper.wait()
    finally:
        remove_instrument(inst)
    assert ("woken", "timer", 200_000_000) in seen and ("timers", 1, 200_000_000) in seen
    assert ("woken", "timer", 0) in seen and ("timers", 1, 0) in seen

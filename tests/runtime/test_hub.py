"""The hub: per-thread hubs, the ready queue, timers, fd waits, deadlock, errors."""

from __future__ import annotations

import os
import selectors
import socket
import threading

import greenlet
import pytest

import runtime
from runtime import hubs
from runtime.greenthread import gid_of
from runtime.hubs import TIMED_OUT, Deadlock, IOClosed, TestClock, Waiter, get_hub, poller_names, trampoline
from runtime.hubs.poller import make_poller
from runtime.instrument import Reason


def test_one_hub_per_thread_created_lazily(hub):
    assert get_hub() is hub
    assert get_hub() is get_hub()
    seen = []
    t = threading.Thread(target=lambda: seen.append(get_hub()))
    t.start()
    t.join()
    assert seen[0] is not hub
    seen[0].close()


def test_hub_clock_is_monotonic(hub):
    a = hub.clock()
    b = hub.clock()
    assert b >= a


def test_unknown_poller_name_is_a_clear_error():
    with pytest.raises(ValueError, match=r"unknown or unavailable poller 'kqueue2'.*this platform has"):
        make_poller("kqueue2")


def test_poller_comes_from_environment(monkeypatch, hub):
    monkeypatch.setenv("GREENSCOPE_HUB", "selectors")
    p = make_poller()
    assert p.name == "selectors"
    p.close()


def test_selector_names_pick_their_selector():
    for name, cls in [("poll", selectors.PollSelector), ("select", selectors.SelectSelector)]:
        p = make_poller(name)
        assert (p.name, type(p._sel)) == (name, cls)
        p.close()


def test_eventlets_hub_names_are_taken(hub):
    names = {"poll": "poll", "selects": "select"} | ({"epolls": "epoll"} if "epoll" in poller_names() else {})
    for eventlet_name, ours in names.items():
        p = make_poller(eventlet_name)
        assert p.name == ours
        p.close()
    assert hubs.use_hub("selects").poller.name == "select"
    a, b = socket.socketpair()
    with a, b:
        reader = runtime.spawn(trampoline, a, read=True)
        runtime.sleep(0)
        b.send(b"x")
        reader.wait()
        get_hub().notify_close(a.fileno())
    with pytest.raises(ValueError, match="unknown or unavailable poller 'asyncio'"):
        hubs.use_hub("asyncio")


def test_spawned_greenthreads_run_in_spawn_order_when_the_spawner_yields():
    order = []
    for i in range(5):
        runtime.spawn(order.append, i)
    assert order == []
    runtime.sleep(0)
    assert order == [0, 1, 2, 3, 4]


def test_sleep0_is_round_robin():
    order = []

    def worker(name):
        for i in range(3):
            order.append(f"{name}{i}")
            runtime.sleep(0)

    gts = [runtime.spawn(worker, n) for n in "abc"]
    for gt in gts:
        gt.wait()
    assert order == ["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"]


def test_sleep0_from_any_greenlet_yields_to_this_threads_hub(hub):
    # sleep(0) finds a greenthread's hub through its parent; every other greenlet through the thread
    order = []

    def raw():  # a greenlet the runtime did not make (its parent: the main greenthread)
        order.append("raw")
        runtime.sleep(0)
        order.append("raw again")

    worker = runtime.spawn(lambda: order.append("spawned"))
    greenlet.greenlet(raw).switch()  # yields from inside: the spawned greenthread runs first
    assert order == ["raw", "spawned", "raw again"]
    worker.wait()
    failed = []

    def in_the_hub():
        try:
            runtime.sleep(0)
        except RuntimeError as e:
            failed.append(str(e))

    hub.call_later(0, in_the_hub)
    runtime.sleep(0)
    assert failed == ["sleep() cannot be called from the hub itself (a timer callback?)"]


def test_a_wake_with_none_resumes_with_none():
    # what a park returns is what its waker gave, None included (a switch without an argument returns ())
    q, ev = runtime.Queue(), runtime.Event()
    getter, waiter = runtime.spawn(q.get), runtime.spawn(ev.wait)
    runtime.sleep(0)
    q.put(None)
    ev.send(None)
    assert getter.wait() is None and waiter.wait() is None
    assert runtime.spawn(lambda: None).wait() is None


def test_timers_fire_in_deadline_order_on_virtual_time(clock):
    woke = []

    def sleeper(seconds):
        runtime.sleep(seconds)
        woke.append((seconds, clock()))

    gts = [runtime.spawn(sleeper, s) for s in (5, 1, 3600, 3)]
    for gt in gts:
        gt.wait()
    assert woke == [(1, 1.0), (3, 3.0), (5, 5.0), (3600, 3600.0)]


def test_equal_deadlines_fire_in_the_order_they_were_set(clock, hub):
    fired = []
    for i in range(10):
        hub.call_at(7.0, fired.append, i)
    runtime.sleep(8)
    assert fired == list(range(10))


def test_cancelled_timer_never_fires(clock, hub):
    fired = []
    t = hub.call_later(1, fired.append, "x")
    assert t.pending and hub.pending_timers() == 1
    t.cancel()
    assert not t.pending and hub.pending_timers() == 0
    runtime.sleep(2)
    assert fired == []


def test_sleep0_lets_due_timers_fire_first(clock, hub):
    fired = []
    hub.call_later(0, fired.append, "first")
    runtime.sleep(0)  # the first switch to this hub
    assert fired == ["first"]
    hub.call_later(0, fired.append, "second")
    runtime.sleep(0)  # the hub running already
    assert fired == ["first", "second"]


def test_schedule_call_global_and_local(clock, hub):
    calls = []

    def spawner():
        hub.schedule_call_local(1, calls.append, "spawner's local")  # skipped: the spawner has ended
        hub.schedule_call_global(1, lambda tag, *, to: calls.append((tag, to)), "global", to="x")

    runtime.spawn(spawner).wait()
    hub.schedule_call_local(2, calls.append, "main's local")  # main is alive at t=2
    hub.schedule_call_global(2, calls.append, "cancelled").cancel()
    runtime.sleep(3)
    assert calls == [("global", "x"), "main's local"]


def test_many_cancelled_timeouts_do_not_grow_the_heap(clock, hub):
    ev = runtime.Event()
    for _ in range(5000):
        with runtime.Timeout(100, False):
            ev.wait(timeout=50)  # both timers cancelled when the wait ends
            break
    assert len(hub._timers) < 1000


def test_timer_callback_error_is_reported_and_the_hub_goes_on(clock, hub, capsys):
    def boom():
        raise ZeroDivisionError("in a timer")

    hub.call_later(1, boom)
    runtime.sleep(2)
    err = capsys.readouterr().err
    assert "ZeroDivisionError: in a timer" in err
    assert err.count("Traceback") == 1


def test_blocking_inside_the_hub_is_a_clear_error(clock, hub):
    errors = []

    def cb():
        for call in (lambda: runtime.sleep(0), lambda: runtime.sleep(1), lambda: runtime.Event().wait()):
            try:
                call()
            except RuntimeError as e:
                errors.append(str(e))

    hub.call_later(0, cb)
    runtime.sleep(1)
    assert len(errors) == 3
    assert "hub itself" in errors[0]
    assert all("inside the hub" in e for e in errors[1:])


def test_main_waiting_for_what_nothing_can_deliver_raises_deadlock():
    ev = runtime.Event()
    with pytest.raises(Deadlock, match=r"waits for event on <Event .*nothing can wake it"):
        ev.wait()


def test_deadlock_names_the_join_when_the_child_is_stuck():
    ev = runtime.Event()
    gt = runtime.spawn(ev.wait)
    with pytest.raises(Deadlock, match="waits for join on <GreenThread"):
        gt.wait()
    ev.send(1)
    assert gt.wait() == 1


def test_a_deadlock_does_not_fire_while_a_timer_can_still_wake_main(clock):
    ev = runtime.Event()
    runtime.spawn_after(10, ev.send, "late")
    assert ev.wait() == "late"
    assert clock() == 10


# ---------------------------------------------------------------- fd waits


class OneSlot:
    """A WaitContainer for one waiter, that notes what the hub tells it."""

    def __init__(self) -> None:
        self.waiter: Waiter | None = None
        self.log: list[str] = []

    def add(self, waiter: Waiter) -> None:
        self.waiter = waiter
        self.log.append("add")

    def discard(self, waiter: Waiter) -> None:
        assert waiter is self.waiter
        self.waiter = None
        self.log.append("discard")


def test_a_wait_container_is_told_when_its_waiter_parks_and_leaves(clock, hub):
    slot = OneSlot()
    gt = runtime.spawn(hub.park, slot, Reason.EVENT, slot, 5)
    runtime.sleep(0)
    assert slot.log == ["add"] and slot.waiter.container is slot
    hub.wake(slot.waiter, "value")  # woken by its owner
    assert gt.wait() == "value" and slot.log == ["add", "discard"]
    gt = runtime.spawn(hub.park, slot, Reason.EVENT, slot, 5)
    assert gt.wait() is TIMED_OUT and clock() == 5  # or by its timeout
    gt = runtime.spawn(hub.park, slot, Reason.EVENT, slot)
    runtime.sleep(0)
    gt.kill()  # or by a kill
    assert slot.log == ["add", "discard"] * 3 and slot.waiter is None


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    for s in (a, b):
        if s.fileno() >= 0:
            get_hub().notify_close(s.fileno())
            s.close()


@pytest.mark.every_poller
def test_wait_read_wakes_when_data_arrives(pair, recorder):
    a, b = pair
    got = []

    def reader():
        trampoline(a, read=True)
        got.append(a.recv(10))

    gt = runtime.spawn(reader)
    runtime.sleep(0)  # reader parks on the fd
    b.send(b"hi")
    gt.wait()
    assert got == [b"hi"]
    assert ("blocked", gt.gid, "io_read", a.fileno()) in recorder.log
    assert ("woken", gt.gid, "fd_ready", 0) in recorder.log


@pytest.mark.every_poller
def test_wait_write_on_a_writable_socket_returns(pair, recorder):
    a, _ = pair
    trampoline(a, write=True)
    me = gid_of(greenlet.getcurrent())
    assert recorder.kinds("blocked", "woken") == [("blocked", me, "io_write", a.fileno()), ("woken", me, "fd_ready", 0)]


@pytest.mark.every_poller
def test_fd_wait_timeout(pair, clock):
    a, _ = pair
    assert get_hub().wait_fd(a.fileno(), False, timeout=2.5) is False
    assert clock() == 2.5
    with pytest.raises(TimeoutError, match=r"timed out after 1s waiting for fd \d+ to be readable"):
        trampoline(a, read=True, timeout=1)
    with pytest.raises(socket.timeout):
        trampoline(a.fileno(), read=True, timeout=1, timeout_exc=socket.timeout)


def test_trampoline_needs_exactly_one_direction(pair):
    a, _ = pair
    with pytest.raises(ValueError, match="exactly one"):
        trampoline(a)
    with pytest.raises(ValueError, match="exactly one"):
        trampoline(a, read=True, write=True)


@pytest.mark.every_poller
def test_closing_an_fd_wakes_its_waiters_with_a_clear_error(pair):
    a, _ = pair
    errors = []

    def reader():
        try:
            trampoline(a, read=True)
        except IOClosed as e:
            errors.append(e)

    gt = runtime.spawn(reader)
    runtime.sleep(0)
    get_hub().notify_close(a.fileno())
    gt.wait()
    assert len(errors) == 1 and "was closed while" in str(errors[0])
    assert errors[0].errno == 9  # EBADF


@pytest.mark.every_poller
def test_two_readers_on_one_fd_get_a_clear_error(pair):
    a, b = pair
    gt = runtime.spawn(trampoline, a, read=True)
    runtime.sleep(0)
    with pytest.raises(RuntimeError, match=r"already waited on to read by <GreenThread"):
        trampoline(a, read=True)
    b.send(b"x")
    gt.wait()


@pytest.mark.every_poller
def test_reader_and_writer_on_one_fd_both_wake(pair, recorder):
    a, b = pair
    r = runtime.spawn(trampoline, a, read=True)
    w = runtime.spawn(trampoline, a, write=True)
    runtime.sleep(0)
    b.send(b"x")
    r.wait()
    w.wait()
    waits = [rec for rec in recorder.kinds("blocked", "woken") if rec[1] in (r.gid, w.gid)]
    assert sorted(waits) == [
        ("blocked", r.gid, "io_read", a.fileno()),
        ("blocked", w.gid, "io_write", a.fileno()),
        ("woken", r.gid, "fd_ready", 0),
        ("woken", w.gid, "fd_ready", 0),
    ]


@pytest.mark.every_poller
def test_an_idle_readable_fd_does_not_make_the_hub_spin(pair, clock, recorder):
    a, b = pair
    b.send(b"unread")
    trampoline(a, read=True)  # registered for read; the data stays unread
    start = len(recorder.kinds("io_wait"))
    runtime.sleep(100)  # virtual: the fd is still readable, but nobody waits for it
    waits = len(recorder.kinds("io_wait")) - start
    assert waits <= 3, recorder.log[-20:]


@pytest.mark.every_poller
def test_an_fd_number_reused_after_notify_close_is_watched_again(hub, recorder):
    fds, readers = set(), []
    for _ in range(3):  # the same fd numbers come back each round
        r, w = os.pipe()
        fds.add(r)
        try:
            readers.append(runtime.spawn(trampoline, r, read=True))
            runtime.sleep(0)
            os.write(w, b"x")
            readers[-1].wait()
        finally:
            hub.notify_close(r)
            os.close(r)
            os.close(w)
    assert len(fds) == 1
    woken = [rec for rec in recorder.kinds("woken") if rec[1] in {gt.gid for gt in readers}]
    assert woken == [("woken", gt.gid, "fd_ready", 0) for gt in readers]  # each by its data, on the reused number


# ---------------------------------------------------------------- errors


def test_keyboard_interrupt_in_a_greenthread_reaches_main(hub):
    def stop():
        raise KeyboardInterrupt("from a greenthread")

    runtime.spawn_n(stop)
    with pytest.raises(KeyboardInterrupt, match="from a greenthread"):
        runtime.sleep(0)
    assert not hub.greenlet.dead  # the hub survives and keeps scheduling
    gt = runtime.spawn(lambda: 5)
    assert gt.wait() == 5


def test_use_hub_refuses_to_drop_a_busy_hub(hub):
    runtime.spawn(lambda: None)
    with pytest.raises(RuntimeError, match="still has work"):
        hubs.use_hub()
    runtime.sleep(0)


def test_test_clock_moves_only_forward():
    c = TestClock(start=5)
    c.advance(1.5)
    assert c() == 6.5
    c.advance_to(3)
    assert c() == 6.5
    with pytest.raises(ValueError, match="backwards"):
        c.advance(-1)


def test_raise_in_main_reaches_the_main_greenthread_wherever_it_waits(hub):
    ev = runtime.Event()
    runtime.spawn(hub.raise_in_main, ValueError("from a signal handler"))
    with pytest.raises(ValueError, match="from a signal handler"):
        ev.wait()


def test_a_signal_handler_hands_its_exception_to_the_hub(hub):
    import signal

    def handler(signum, frame):
        hub.raise_in_main(KeyboardInterrupt("stop"))

    old = signal.signal(signal.SIGUSR1, handler)
    try:
        runtime.spawn(os.kill, os.getpid(), signal.SIGUSR1)
        with pytest.raises(KeyboardInterrupt, match="stop"):
            runtime.Event().wait()
    finally:
        signal.signal(signal.SIGUSR1, old)

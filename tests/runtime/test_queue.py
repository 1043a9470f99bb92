"""Queues: unit behaviour, and a property test of every interleaving against a sequential model.

Every test runs on both paths of put and get: the C helper's (`runtime._queue`, where it is built) and
the Python methods (as under ``GREENSCOPE_PURE_PYTHON=1``).
"""

from __future__ import annotations

import gc
import heapq
import queue as stdlib_queue
import weakref
from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import runtime
from runtime import GreenletExit, LifoQueue, LightQueue, PriorityQueue, Queue
from runtime import queue as queue_module
from runtime.instrument import Instrument, add_instrument, remove_instrument
from runtime.queue import Empty, Full


@pytest.fixture(autouse=True, params=["C", "Python"])
def queue_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Put and get in C (skipped where `runtime._queue` is not used) or the Python methods only."""
    if request.param == "C":
        if queue_module._queue is None:
            pytest.skip("runtime._queue is not built here (or GREENSCOPE_PURE_PYTHON is set)")
    else:
        monkeypatch.setattr(LightQueue, "put", LightQueue._put_in_python)
        monkeypatch.setattr(LightQueue, "get", LightQueue._get_in_python)
    return request.param


def test_empty_and_full_are_the_stdlib_exceptions():
    assert Empty is stdlib_queue.Empty and Full is stdlib_queue.Full


def test_bad_maxsize_and_timeout():
    with pytest.raises(TypeError, match="maxsize must be an int, got str"):
        Queue("3")
    with pytest.raises(ValueError, match="timeout must be >= 0"):
        Queue().get(timeout=-1)
    assert Queue(-5).maxsize is None


def test_fifo_lifo_priority_order():
    for cls, expected in ((Queue, [3, 1, 2]), (LifoQueue, [2, 1, 3]), (PriorityQueue, [1, 2, 3])):
        q = cls()
        for item in (3, 1, 2):
            q.put(item)
        assert [q.get() for _ in range(3)] == expected, cls


def test_nowait_and_timeouts(clock):
    q = Queue(1)
    with pytest.raises(Empty):
        q.get_nowait()
    q.put_nowait("a")
    assert q.full() and q.qsize() == 1 and len(q) == 1
    with pytest.raises(Full):
        q.put_nowait("b")
    with pytest.raises(Full):
        q.put("b", timeout=2)
    assert clock() == 2
    assert q.get(timeout=1) == "a"
    with pytest.raises(Empty):
        q.get(timeout=3)
    assert clock() == 5
    assert q.empty() and q.putting() == 0 and q.getting() == 0


def test_an_item_put_while_getters_wait_goes_to_the_first_getter():
    q = LightQueue()
    getters = [runtime.spawn(q.get) for _ in range(3)]
    runtime.sleep(0)
    assert q.getting() == 3
    for item in "xyz":
        q.put(item)
    assert q.qsize() == 0  # straight into the getters' hands
    assert [g.wait() for g in getters] == ["x", "y", "z"]


def test_a_channel_put_waits_for_a_getter():
    ch = Queue(0)
    assert ch.full()
    with pytest.raises(Full):
        ch.put_nowait(1)
    putter = runtime.spawn(ch.put, "hello")
    runtime.sleep(0)
    assert ch.putting() == 1 and ch.qsize() == 0
    assert ch.get() == "hello"
    putter.wait()
    getter = runtime.spawn(ch.get)
    runtime.sleep(0)
    ch.put_nowait("direct")  # a getter waits: no Full
    assert getter.wait() == "direct"


def test_putters_are_served_in_order_as_room_frees():
    q = Queue(1)
    q.put(0)
    putters = [runtime.spawn(q.put, i) for i in (1, 2, 3)]
    runtime.sleep(0)
    assert q.putting() == 3
    assert [q.get() for _ in range(4)] == [0, 1, 2, 3]
    for p in putters:
        p.wait()


def test_resize_takes_waiting_putters_in():
    q = Queue(1)
    q.put("a")
    putters = [runtime.spawn(q.put, x) for x in "bc"]
    runtime.sleep(0)
    q.resize(3)
    assert q.qsize() == 3 and q.putting() == 0
    for p in putters:
        p.wait()
    q.resize(None)
    assert not q.full()


def test_task_done_and_join():
    q = Queue()
    done = []

    def worker():
        while True:
            item = q.get()
            runtime.sleep(0)
            done.append(item)
            q.task_done()

    w = runtime.spawn(worker)
    for i in range(5):
        q.put(i)
    assert q.unfinished_tasks == 5
    assert q.join() is True
    assert done == [0, 1, 2, 3, 4] and q.unfinished_tasks == 0
    with pytest.raises(ValueError, match="task_done"):
        q.task_done()
    w.kill()


def test_join_timeout(clock):
    q = Queue()
    q.put(1)
    assert q.join(timeout=2) is False
    assert clock() == 2
    q.get()
    q.task_done()
    assert q.join(timeout=2) is True


def test_task_done_counts_items_taken_from_a_channel_putter():
    ch = Queue(0)
    putter = runtime.spawn(ch.put, "x")
    runtime.sleep(0)
    assert ch.get() == "x"
    ch.task_done()  # counted even though put() has not returned yet
    putter.wait()
    assert ch.unfinished_tasks == 0


def test_a_getter_killed_after_it_was_handed_an_item_still_returns_it():
    q = Queue()
    got = []

    def getter():
        got.append(q.get())
        runtime.sleep(0)  # the kill is raised here

    g = runtime.spawn(getter)
    runtime.sleep(0)
    q.put("precious")
    g.kill()
    assert got == ["precious"]
    with pytest.raises(GreenletExit):
        g.wait()


def test_a_putter_killed_while_waiting_never_puts():
    q = Queue(1)
    q.put("a")
    p = runtime.spawn(q.put, "never")
    runtime.sleep(0)
    p.kill()
    assert q.get() == "a"
    assert q.qsize() == 0 and q.putting() == 0


def test_name_and_repr():
    q = Queue(3, name="jobs")
    assert q.name == "jobs"
    assert "Queue 'jobs'" in repr(q) and "maxsize=3" in repr(q)
    assert LightQueue().name.startswith(__file__)


class Changes(Instrument):
    """Records each ``resource_changed`` of a queue as (qsize, putting, getting)."""

    def __init__(self) -> None:
        self.log: list[tuple[int, int, int]] = []

    def resource_changed(self, obj: Any) -> None:
        self.log.append((obj.qsize(), obj.putting(), obj.getting()))


@pytest.fixture
def changes() -> Iterator[Changes]:
    inst = Changes()
    add_instrument(inst)
    yield inst
    remove_instrument(inst)


def test_puts_fill_to_maxsize_and_gets_empty_in_order(changes):
    q = Queue(3)
    for i in range(3):
        q.put(i)
    assert q.full() and q.unfinished_tasks == 3 and isinstance(q.queue, deque)
    with pytest.raises(Full):
        q.put(3, block=False)
    with pytest.raises(Full):
        q.put_nowait(3)
    assert q.unfinished_tasks == 3  # a put refused counts nothing
    assert [q.get(), q.get(False), q.get_nowait()] == [0, 1, 2]
    with pytest.raises(Empty):
        q.get_nowait()
    with pytest.raises(Empty):
        q.get(block=False)
    assert changes.log == [(1, 0, 0), (2, 0, 0), (3, 0, 0), (2, 0, 0), (1, 0, 0), (0, 0, 0)]


def test_an_unbounded_queue_takes_any_number_by_any_arguments(changes):
    q = LightQueue()
    q.put("a")
    q.put("b", True)
    q.put("c", False, None)
    q.put(item="d", block=False)
    q.put("e", timeout=1)
    assert q.qsize() == 5 and not q.full()
    assert [q.get(), q.get(True), q.get(False, None), q.get(block=False), q.get(timeout=0)] == list("abcde")
    assert len(changes.log) == 10
    with pytest.raises(TypeError):
        q.put()
    with pytest.raises(TypeError):
        q.put(1, True, None, "one too many")
    with pytest.raises(TypeError):
        q.get(True, None, "one too many")
    with pytest.raises(TypeError):
        q.put(1, colour="red")
    assert len(changes.log) == 10 and q.qsize() == 0


def test_a_put_with_getters_waiting_and_a_get_with_putters_waiting_report_each_change(changes):
    q = Queue(1)
    getter = runtime.spawn(q.get)
    runtime.sleep(0)
    q.put("handed")  # to the getter, not into the queue
    assert getter.wait() == "handed"
    q.put("kept")
    putter = runtime.spawn(q.put, "waited")
    runtime.sleep(0)
    assert q.putting() == 1
    assert q.get() == "kept"  # and the putter's item comes in
    putter.wait()
    assert q.get() == "waited" and q.unfinished_tasks == 3
    assert changes.log == [(0, 0, 0), (1, 0, 0), (1, 0, 0), (0, 0, 0)]


def test_resize_moves_the_limit_the_puts_check():
    q = Queue(1)
    q.put(1)
    with pytest.raises(Full):
        q.put_nowait(2)
    q.resize(2)
    q.put_nowait(2)
    with pytest.raises(Full):
        q.put_nowait(3)
    q.resize(-1)  # unbounded
    q.put_nowait(3)
    q.maxsize = 0  # set directly: a channel with items still in it
    assert q.full() and [q.get_nowait() for _ in range(3)] == [1, 2, 3]
    with pytest.raises(Full):
        q.put_nowait(4)


def test_unfinished_tasks_can_be_set_and_count_on():
    q = Queue()
    q.put(1)
    q.unfinished_tasks = 0  # (as eventlet programs may)
    q.put(2)
    q.task_done()
    assert q.unfinished_tasks == 0 and q.join(timeout=0) is True


def test_a_queue_in_a_cycle_is_collected():
    q = Queue(2)
    q.put(q)  # the queue holds itself
    q.me = q
    ref = weakref.ref(q)
    del q
    gc.collect()
    assert ref() is None


def test_a_storage_of_its_own_takes_the_same_paths():
    """A subclass with its own storage (here a deque served from the right) is put to and got from
    through its `_put` and `_get`, and honours `maxsize`, on either path."""

    class Stack(LightQueue):
        def _init_storage(self) -> None:
            self.queue = deque()
            self._put = self.queue.append
            self._get = self.queue.pop

    q = Stack(2)
    q.put(1)
    q.put(2)
    with pytest.raises(Full):
        q.put_nowait(3)
    assert [q.get(), q.get()] == [2, 1]


# ---------------------------------------------------------------- the property test


class _Model(Instrument):
    """The queue's specification, run sequentially on the test's log of calls.

    The test tells it when each put/get is called; the `woken` hook tells it when a
    waiter leaves by timeout or kill. It predicts every outcome exactly.
    """

    def __init__(self, cls: type, maxsize: int | None) -> None:
        self.maxsize = maxsize
        self.items: list = []
        self.push, self.pop = {
            LightQueue: (self.items.append, lambda: self.items.pop(0)),
            Queue: (self.items.append, lambda: self.items.pop(0)),
            LifoQueue: (self.items.append, self.items.pop),
            PriorityQueue: (lambda x: heapq.heappush(self.items, x), lambda: heapq.heappop(self.items)),
        }[cls]
        self.putters: deque = deque()  # (glet, item)
        self.getters: deque = deque()  # glet
        self.accepted: set = set()  # items the queue took
        self.handed: dict = {}  # getter glet -> the item it will return

    def room(self) -> bool:
        return self.maxsize is None or len(self.items) < self.maxsize

    def put_called(self, glet, item) -> None:
        if self.getters:
            self.accepted.add(item)
            self.handed[self.getters.popleft()] = item
        elif self.room():
            self.accepted.add(item)
            self.push(item)
        else:
            self.putters.append((glet, item))

    def get_called(self, glet) -> None:
        if self.items:
            self.handed[glet] = self.pop()
            while self.putters and self.room():
                _, item = self.putters.popleft()
                self.accepted.add(item)
                self.push(item)
        elif self.putters:
            _, item = self.putters.popleft()
            self.accepted.add(item)
            self.handed[glet] = item
        else:
            self.getters.append(glet)

    def gone(self, glet) -> None:
        """`glet` stopped waiting without an item (timed out, or killed)."""
        self.putters = deque(p for p in self.putters if p[0] is not glet)
        self.getters = deque(g for g in self.getters if g is not glet)

    def woken(self, glet, cause, waker, obj, late):
        if cause in ("timeout", "kill"):
            self.gone(glet)


actor = st.tuples(
    st.sampled_from(["put", "get"]),
    # each step: pause before it, its timeout, the item's priority
    st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from([None, None, 0, 1, 4]), st.integers(0, 9)),
        min_size=1,
        max_size=6,
    ),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cls=st.sampled_from([LightQueue, Queue, LifoQueue, PriorityQueue]),
    maxsize=st.sampled_from([None, 0, 1, 3]),
    actors=st.lists(actor, min_size=1, max_size=6),
    kills=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 12)), max_size=3),
)
def test_any_interleaving_matches_the_sequential_model(clock, cls, maxsize, actors, kills):
    q = cls(maxsize)
    model = _Model(cls, maxsize)
    add_instrument(model)
    put_ok, put_failed, got = [], [], []

    def producer(pid, steps):
        for k, (pause, timeout, priority) in enumerate(steps):
            runtime.sleep(pause)
            item = (priority, pid, k)
            model.put_called(runtime.getcurrent(), item)
            try:
                q.put(item, timeout=timeout)
            except Full:
                put_failed.append(item)
                assert item not in model.accepted
                continue
            except GreenletExit:  # killed while waiting, or raised on entry by a pending kill
                put_failed.append(item)
                assert item not in model.accepted
                model.gone(runtime.getcurrent())
                raise
            put_ok.append(item)
            assert item in model.accepted

    def consumer(steps):
        me = runtime.getcurrent()
        for pause, timeout, _ in steps:
            runtime.sleep(pause)
            model.get_called(me)
            try:
                item = q.get(timeout=timeout)
            except Empty:
                assert me not in model.handed
                continue
            except GreenletExit:
                assert me not in model.handed
                model.gone(me)
                raise
            assert model.handed.pop(me) == item
            got.append(item)

    try:
        gts = [
            runtime.spawn(producer, i, steps) if kind == "put" else runtime.spawn(consumer, steps)
            for i, (kind, steps) in enumerate(actors)
        ]
        for victim, at in kills:
            if victim < len(gts):
                runtime.spawn_after(at, gts[victim].kill)
        runtime.sleep(100)  # long after every pause and timeout: what still waits, waits forever
        for gt in gts:
            gt.kill()
    finally:
        remove_instrument(model)
    for gt in gts:  # an actor's failed assertion fails the test
        try:
            gt.wait()
        except GreenletExit:
            pass

    left = []
    while q.qsize():
        left.append(q.get_nowait())
    expected_left = []
    while model.items:
        expected_left.append(model.pop())
    assert left == expected_left
    # nothing lost, nothing duplicated
    assert sorted(got + left) == sorted(put_ok)
    assert not set(put_failed) & set(got + left)
    assert q.putting() == 0 and q.getting() == 0

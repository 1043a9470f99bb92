"""runtime.tpool: blocking calls in OS threads, their limit, and Proxy."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest

import runtime
from runtime import tpool
from runtime.tpool import Proxy, execute


@pytest.fixture(autouse=True)
def default_threads() -> Iterator[None]:
    before = tpool.MAX_THREADS
    yield
    tpool.set_num_threads(before)


def test_execute_runs_in_another_thread_and_hands_back_the_outcome():
    assert execute(threading.get_ident) != threading.get_ident()
    assert execute(divmod, 7, 2) == (3, 1)
    with pytest.raises(KeyError, match="k"):
        execute({}.__getitem__, "k")


def test_set_num_threads_limits_the_calls_at_once():
    tpool.set_num_threads(2)
    lock = threading.Lock()
    running = []
    peak = []

    def work() -> None:
        with lock:
            running.append(1)
            peak.append(len(running))
        time.sleep(0.02)
        with lock:
            running.pop()

    calls = [runtime.spawn(execute, work) for _ in range(6)]
    for c in calls:
        c.wait()
    assert max(peak) == 2


def test_zero_threads_runs_calls_in_the_calling_greenthread():
    tpool.set_num_threads(0)
    assert execute(threading.get_ident) == threading.get_ident()
    with pytest.raises(ValueError, match="must be >= 0"):
        tpool.set_num_threads(-1)


def test_killall_waits_for_the_calls_in_flight():
    done = []
    calls = [runtime.spawn(lambda i=i: done.append(execute(time.sleep, 0.01) or i)) for i in range(3)]
    runtime.sleep(0)
    tpool.killall()
    assert sorted(done) == [0, 1, 2]
    assert all(c.dead for c in calls)
    tpool.killall()  # nothing in flight: returns at once
    assert execute(abs, -3) == 3  # and calls start afresh


class Store:
    """A blocking object with methods, attributes and the protocols Proxy forwards."""

    def __init__(self) -> None:
        self.items = {"a": 1}
        self.threads: list[int] = []

    def thread(self) -> int:
        return threading.get_ident()

    def child(self) -> Store:
        return Store()

    def __getitem__(self, key: str) -> int:
        self.threads.append(threading.get_ident())
        return self.items[key]

    def __setitem__(self, key: str, value: int) -> None:
        self.items[key] = value

    def __enter__(self) -> str:
        self.threads.append(threading.get_ident())
        return "entered"

    def __exit__(self, *exc_info: object) -> None:
        pass

    def __len__(self) -> int:
        return len(self.items)


def test_proxy_calls_methods_in_threads_and_reads_attributes_directly():
    store = Store()
    proxy = Proxy(store)
    me = threading.get_ident()
    assert proxy.thread() != me
    assert proxy.thread(nonblocking=True) == me
    assert proxy.items is store.items
    proxy["b"] = 2
    assert proxy["b"] == 2 and store.threads[-1] != me
    with proxy as entered:
        assert entered == "entered" and store.threads[-1] != me
    assert (len(proxy), bool(proxy), proxy == store, hash(proxy) == hash(store)) == (2, True, True, True)
    assert repr(proxy) == repr(store)


def test_proxy_wraps_results_of_the_autowrap_types_and_names():
    proxy = Proxy(Store(), autowrap=(Store,))
    assert isinstance(proxy.child(), Proxy)
    assert not isinstance(Proxy(Store()).child(), Proxy)
    assert isinstance(Proxy(Store(), autowrap_names=("child",)).child(), Proxy)


def test_proxy_iterates_through_threads():
    assert list(Proxy([3, 1, 2])) == [3, 1, 2]
    it = Proxy(iter([1]))
    assert iter(it) is it and next(it) == 1
    with pytest.raises(StopIteration):
        next(it)


def test_a_call_that_outlives_its_hub_is_dropped_not_written_to_a_reused_fd():
    hub = runtime.hubs.Hub()
    hub.expect_threadsafe()  # opens the wake-up pipe
    hub.close()
    r, w = os.pipe()  # likely the closed pipe's numbers again
    try:
        errors: list[BaseException] = []

        def late() -> None:
            try:
                hub.call_threadsafe(print, "never")
            except BaseException as e:
                errors.append(e)

        thread = threading.Thread(target=late)
        thread.start()
        thread.join()
        os.set_blocking(r, False)
        with pytest.raises(BlockingIOError):
            os.read(r, 1)  # nothing was written to whatever has the fd now
        assert errors == [] and not hub._threadsafe
    finally:
        os.close(r)
        os.close(w)

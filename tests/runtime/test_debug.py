"""runtime.debug: eventlet's debugging switches."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator

import pytest

import runtime
from runtime.debug import hub_blocking_detection
from runtime.instrument import instruments


@pytest.fixture
def detection() -> Iterator[None]:
    before = signal.getsignal(signal.SIGALRM)
    hub_blocking_detection(True, 0.2)
    yield
    hub_blocking_detection(False)
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_greenthread_that_blocks_the_hub_gets_an_error_where_it_blocks(detection):
    def blocks() -> None:
        time.sleep(10)  # a blocking call: the alarm interrupts it

    gt = runtime.spawn(blocks)
    with pytest.raises(RuntimeError, match=r"blocking detector: <GreenThread \d+ .*blocks> kept the hub") as info:
        gt.wait()
    assert "in blocks" in str(info.value)


def test_greenthreads_that_yield_in_time_are_left_alone(detection):
    def works() -> int:
        for _ in range(30):  # 0.3 s of work in all, 10 ms at a time
            time.sleep(0.01)
            runtime.sleep(0)
        return 30

    assert [gt.wait() for gt in [runtime.spawn(works), runtime.spawn(works)]] == [30, 30]


def test_switched_off_it_leaves_no_instrument_and_no_alarm():
    hub_blocking_detection(True, 0.5)
    hub_blocking_detection(False)
    assert instruments() == ()
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    with pytest.raises(ValueError, match="resolution must be > 0"):
        hub_blocking_detection(True, 0)


def test_only_in_the_main_thread():
    errors = []

    def other() -> None:
        try:
            hub_blocking_detection(True)
        except ValueError as e:
            errors.append(str(e))

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert errors == ["hub_blocking_detection() works in the main thread only (it uses SIGALRM)"]

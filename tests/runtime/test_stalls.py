"""The stall monitor (runtime/trace/stalls.py), on real time: a greenthread that holds the hub is caught while
it does, and its stack names the line that blocks."""

from __future__ import annotations

import sys
import threading
import time

import pytest

import runtime
from runtime.trace.events import STALL
from runtime.trace.recorder import Recorder
from runtime.trace.stalls import StallMonitor
from tests.support import code_name
from tests.support.threads import Held, switching, threads, wakes_while


def stalls_of(program) -> list[tuple]:
    rec = Recorder().install()
    monitor = StallMonitor(rec, threshold_ns=20_000_000).start()
    try:
        program()
    finally:
        monitor.stop()
        rec.uninstall()
    return [ev for ev in rec.take() if ev[0] == STALL]


def test_a_blocking_sleep_is_caught_with_the_line_that_sleeps():
    def blocker():
        runtime.sleep(0)
        time.sleep(0.15)  # the real one: the hub, and every greenthread, waits

    line = sys._getframe().f_lineno - 2
    g = runtime.spawn(blocker)
    stalls = stalls_of(g.wait)
    assert [(s[2], s[3] >= 150_000_000) for s in stalls] == [(g.gid, True)]
    assert stalls[0][4][-1] == f"{__file__}:{line} in {code_name(blocker)}"


def test_a_cpu_loop_is_caught_in_the_loop():
    def spinner():
        end = time.perf_counter() + 0.15
        while time.perf_counter() < end:  # runs without yielding
            pass

    line = sys._getframe().f_lineno - 3
    g = runtime.spawn(spinner)
    stalls = stalls_of(g.wait)
    assert [s[2] for s in stalls] == [g.gid]
    assert stalls[0][4][-1].startswith(f"{__file__}:{line} in ")


def test_greenthreads_that_yield_are_no_stall():
    def polite():
        for _ in range(200):
            runtime.sleep(0.001)

    assert stalls_of(runtime.spawn(polite).wait) == []


def test_a_monitor_looks_only_when_the_hub_may_be_held():
    """Each look takes the GIL from the program. With the recorder not installed there is nothing to see;
    installed, the monitor looks when what runs could pass the threshold. Where the hooks are C it waits for
    that without the GIL, so a program that keeps switching is never looked at (a look every 20 ms cost the
    traced echo benchmark ~5 %); with the hooks in Python it looks every threshold."""

    class Counted(Recorder):
        looks = 0

        def running(self):
            Counted.looks += 1
            return super().running()

    rec = Counted()
    monitor = StallMonitor(rec, threshold_ns=20_000_000).start()
    try:
        time.sleep(0.4)
        idle = Counted.looks
        rec.install()
        switching(0.6)
        busy = Counted.looks - idle
        events = rec.take()
        assert events and STALL not in {e[0] for e in events}
    finally:
        monitor.stop()
        rec.uninstall()
    assert idle == 0
    if rec.wait_idle is not None:
        assert busy <= 2  # (a look every threshold would be ~30; one when the machine held the program a while)
    else:
        assert busy >= 5


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts a thread's wakes in /proc")
def test_a_monitor_sleeps_while_the_program_keeps_switching():
    """Waking costs a busy program even when the thread that wakes takes no GIL (a thread waking every 20 ms
    without it cost the traced echo benchmark ~2 %): where the hooks are C, the monitor sleeps on a timer
    that the program's events keep pushing back, and wakes only when the program goes quiet (a poll)."""
    rec = Recorder().install()
    if rec.wait_idle is None:
        rec.uninstall()
        pytest.skip("the hooks in Python: the monitor looks every threshold")

    before = threads()
    monitor = StallMonitor(rec, threshold_ns=10_000_000).start()
    try:
        (tid,) = threads() - before
        runtime.sleep(0.05)  # it settles on the timer
        with Held(threading.get_native_id()) as held:
            busy = wakes_while(tid, lambda: switching(0.5))  # 50 thresholds of switching, no poll
    finally:
        monitor.stop()
        rec.uninstall()
    # its look as the switching starts, and one each time the OS or the hypervisor held the program a threshold
    # (it went quiet: rightly; CI saw 11 on a busy host); where each threshold woke it: 50
    assert busy <= 4 + held.times(monitor.threshold_ns)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts a thread's wakes in /proc")
def test_a_monitor_sleeps_until_the_recorder_records_then_catches_a_stall():
    """Installed but off (the agent runs, nothing is recorded), a busy program would pay for every wake of the
    monitor's (~4 % of the TCP echo at a look each threshold): it waits for the recorder to be installed without
    waking at all; installed, it watches, and catches a greenthread that holds the hub."""

    def blocker():
        runtime.sleep(0)
        time.sleep(0.1)  # the real one

    rec = Recorder()
    before = threads()
    monitor = StallMonitor(rec, threshold_ns=10_000_000).start()
    try:
        (tid,) = threads() - before
        time.sleep(0.05)  # it settles, waiting for the recorder
        off = wakes_while(tid, lambda: switching(0.5))  # 50 thresholds, nothing recorded
        rec.install()
        g = runtime.spawn(blocker)
        g.wait()
    finally:
        monitor.stop()
        rec.uninstall()
    assert off == 0
    assert [ev[2] for ev in rec.take() if ev[0] == STALL] == [g.gid]

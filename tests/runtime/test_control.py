"""The live control of a hub's pace (runtime.hubs.control): pause, step, step a greenthread until it parks,
slow motion, resume — obeyed at switch boundaries, with the program's behaviour unchanged.

The dashboard's side is played by `Remote`, an OS thread that sends commands as the agent does and waits for
the hub to obey each. The program pauses itself first, so that the remote finds it where the test expects.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import runtime
from runtime.event import Event
from runtime.greenthread import gid_of
from runtime.hubs import Hub, TestClock
from runtime.hubs.control import MIN_SPEED, CommandError, Pace, ProgramClock, command_of
from runtime.instrument import Instrument, add_instrument, remove_instrument
from runtime.trace.analysis import analyse
from runtime.trace.events import CONTROL, SPAWN, SWITCH


class Log(Instrument):
    """Switches and control events as they come, with the time each came at (perf_counter)."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def switched(self, prev: Any, nxt: Any) -> None:
        self.events.append(("switch", gid_of(prev), gid_of(nxt), time.perf_counter()))

    def controlled(self, action: str, speed: float | None) -> None:
        self.events.append(("control", action, speed, time.perf_counter()))

    def runs(self) -> list[int]:
        """The greenthreads switched into, in order."""
        return [e[2] for e in self.events if e[0] == "switch" and e[2] > 0]

    def controls(self) -> list[str]:
        return [e[1] for e in self.events if e[0] == "control"]


class Remote(threading.Thread):
    """The dashboard's side: `script(self)` in an OS thread, its commands each awaited until the hub obeyed."""

    def __init__(self, pace: Pace, script: Callable[[Remote], None]) -> None:
        super().__init__(daemon=True)
        self.pace = pace
        self.script = script
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.script(self)
        except BaseException as e:
            self.error = e
            self.pace.command(command_of("resume"))  # let the program end; the test reports the error

    def send(self, action: str, speed: float | None = None) -> None:
        seq = self.pace.command(command_of(action, speed))
        assert self.pace.settled(seq, 30), f"the hub did not obey {action}"

    def finish(self) -> None:
        self.join(30)
        if self.error is not None:
            raise self.error


def workers(log: list, n: int = 3, rounds: int = 4) -> None:
    """The program: `n` greenthreads, each noting its turns in `log` and sleeping in between."""

    def work(k: int) -> None:
        for i in range(rounds):
            log.append((k, i))
            runtime.sleep((0.010, 0.013, 0.017)[k % 3])  # no two due at once: one order only

    for t in [runtime.spawn(work, k) for k in range(n)]:
        t.wait()


@pytest.fixture
def pace(hub: Hub) -> Iterator[Pace]:
    it = Pace(hub)
    yield it
    it.close()


@pytest.fixture
def log() -> Iterator[Log]:
    it = Log()
    add_instrument(it)
    yield it
    remove_instrument(it)


def pause(pace: Pace) -> int:
    """Tell `pace` to pause (obeyed at the hub's next boundary); the command's number."""
    return pace.command(command_of("pause"))


def test_nothing_runs_while_paused_each_step_is_one_switch_and_the_order_is_unchanged(
    hub: Hub, clock: TestClock, pace: Pace, log: Log
):
    alone: list = []
    workers(alone)  # unpaced, for comparison
    got: list = []
    seen: dict[str, Any] = {"steps": []}
    inner = hub.poller
    first = pause(pace)

    def script(remote: Remote) -> None:
        assert pace.settled(first, 30)
        seen["paused"] = (len(got), len(log.runs()))
        time.sleep(0.05)  # anything that ran while paused would show now
        seen["later"] = (len(got), len(log.runs()))
        for _ in range(6):
            before = len(log.runs())
            remote.send("step")
            seen["steps"].append(log.runs()[before:])
        remote.send("resume")

    remote = Remote(pace, script)
    remote.start()
    workers(got)
    remote.finish()
    assert seen["later"] == seen["paused"]
    assert [len(ran) for ran in seen["steps"]] == [1] * 6
    assert got == alone
    assert log.controls() == ["paused"] + ["stepped"] * 6 + ["resumed"]
    assert hub.pace is None and hub.poller is inner  # resumed: the hub no longer consults the pace


def test_a_step_thread_runs_one_greenthread_until_it_parks(hub: Hub, clock: TestClock, pace: Pace):
    said: list[str] = []
    done = Event()
    held: dict[str, Any] = {}

    def chatty() -> None:
        for i in range(3):
            said.append(f"c{i}")
            runtime.sleep(0)  # yields: still its step
        done.wait()  # parks: the step ends here

    def other() -> None:
        for i in range(4):
            said.append(f"o{i}")
            runtime.sleep(0)
        done.send()

    first = pause(pace)

    def script(remote: Remote) -> None:
        assert pace.settled(first, 30)
        remote.send("step_thread")
        held["said"] = list(said)
        remote.send("resume")

    remote = Remote(pace, script)
    remote.start()
    threads = [runtime.spawn(chatty), runtime.spawn(other)]
    for t in threads:
        t.wait()
    remote.finish()
    # chatty ran until it parked; other took its turns in between, as the ready queue says
    assert held["said"] == ["c0", "o0", "c1", "o1", "c2", "o2"]


def test_timers_and_timeouts_run_on_the_programs_time(hub: Hub, pace: Pace):
    """A timeout does not expire because the program was paused: on the wall clock, the sleep that ends the
    wait and the timeout would both be due after the pause, and the timeout would win."""
    ready = Event()
    outcome: list[Any] = []

    def waiter() -> None:
        outcome.append(ready.wait(timeout=0.6))

    def sender() -> None:
        runtime.sleep(0.3)
        ready.send("in time")

    first = pause(pace)

    def script(remote: Remote) -> None:
        assert pace.settled(first, 30)
        remote.send("step_thread")  # the waiter parks, its timeout set
        remote.send("step_thread")  # the sender parks in its sleep
        time.sleep(1.0)  # paused longer than both
        remote.send("resume")

    remote = Remote(pace, script)
    remote.start()
    t0 = hub.clock()
    threads = [runtime.spawn(waiter), runtime.spawn(sender)]
    for t in threads:
        t.wait()
    remote.finish()
    assert outcome == ["in time"]
    assert isinstance(hub.clock, ProgramClock)
    assert hub.clock.real() - hub.clock() >= 1.0  # the pause is not in the program's time
    assert hub.clock() - t0 >= 0.3


def test_slow_motion_stretches_each_turn_and_every_wait(hub: Hub, pace: Pace, log: Log):
    pace.command(command_of("speed", 0.1))
    runtime.sleep(0)  # the hub obeys at its next boundary
    assert hub.pace is pace and isinstance(hub.clock, ProgramClock)
    busy: list[float] = []

    def work() -> None:
        for _ in range(3):
            start = time.perf_counter()
            while time.perf_counter() - start < 0.005:  # its own work: a turn of 5 ms
                pass
            busy.append(time.perf_counter() - start)
            runtime.sleep(0.02)

    real, program = time.perf_counter(), hub.clock()
    gt = runtime.spawn(work)
    gt.wait()
    real, program = time.perf_counter() - real, hub.clock() - program
    assert program >= 3 * 0.025  # the program's own time: its work and its sleeps
    assert real >= 9 * program  # at 0.1 of real time
    gid = gid_of(gt)
    turns = [
        end[3] - start[3]
        for start, end in zip(log.events, log.events[1:], strict=False)
        if start[0] == "switch" and start[2] == gid and end[0] == "switch" and end[1] == gid
    ]
    assert len(turns) == len(busy) + 1  # its three turns of work, and the one that ends it
    assert all(turn >= 9 * b for turn, b in zip(turns, busy, strict=False))
    pace.command(command_of("resume"))
    runtime.sleep(0)
    assert hub.pace is None
    assert log.controls() == ["speed", "resumed"]


def test_resume_leaves_the_hub_unpaced_on_the_programs_clock(hub: Hub, pace: Pace):
    pause(pace)
    inner = hub.poller
    pace.command(command_of("resume"))
    runtime.sleep(0)  # both obeyed before anything runs: the pause never held
    assert hub.pace is None and hub.poller is inner and isinstance(hub.clock, ProgramClock)
    assert hub.clock.rate == 1.0
    got: list = []
    workers(got)
    assert len(got) == 12


def test_a_stop_that_reaches_main_ends_the_pause(hub: Hub, pace: Pace):
    first = pause(pace)
    got: list = []

    def script(remote: Remote) -> None:
        assert pace.settled(first, 30)
        hub.raise_in_main(SystemExit(3))  # what the agent's SIGTERM handler does

    remote = Remote(pace, script)
    remote.start()
    gt = runtime.spawn(workers, got)
    with pytest.raises(SystemExit):
        gt.wait()
    remote.finish()
    assert hub.pace is None  # the program unwinds at full speed
    gt.wait()
    assert len(got) == 12


@pytest.mark.parametrize(
    ("action", "speed", "field"),
    [
        ("fast", None, "action"),
        (None, None, "action"),
        (["pause"], None, "action"),
        ("pause", 0.5, "speed"),
        ("speed", None, "speed"),
        ("speed", 0, "speed"),
        ("speed", MIN_SPEED / 2, "speed"),
        ("speed", 2, "speed"),
        ("speed", True, "speed"),
        ("speed", "0.1", "speed"),
        ("speed", float("nan"), "speed"),
    ],
)
def test_commands_are_checked(action: Any, speed: Any, field: str):
    with pytest.raises(CommandError) as e:
        command_of(action, speed)
    assert e.value.field == field


def test_commands():
    assert command_of("step") == {"command": "step"}
    assert command_of("speed", 1) == {"command": "speed", "speed": 1.0}
    assert command_of("speed", MIN_SPEED) == {"command": "speed", "speed": MIN_SPEED}


def test_the_program_clock_runs_at_its_rate():
    real = TestClock(100.0, autojump=False)
    clock = ProgramClock(real)
    real.advance(2)
    clock.set_rate(0.0)
    real.advance(5)
    clock.set_rate(0.5)
    real.advance(4)
    assert clock() == pytest.approx(104.0)


def test_a_turn_stretched_in_slow_motion_is_no_stall():
    """The analysis takes the pace into account: 30 ms of running at 0.1x is 3 ms of the program's own."""
    ms = 1_000_000

    def run(*pace: tuple) -> list[dict]:
        events = [(SPAWN, 0, 2, 1, "work", "app.py:1", None), *pace, (SWITCH, 10 * ms, 0, 2), (SWITCH, 40 * ms, 2, 0)]
        return analyse(events)["stalls"]

    assert [s["gid"] for s in run()] == [2]
    assert run((CONTROL, 5 * ms, "speed", 0.1)) == []
    assert [s["gid"] for s in run((CONTROL, 1 * ms, "speed", 0.1), (CONTROL, 5 * ms, "resumed", 1.0))] == [2]
    assert [s["gid"] for s in run((CONTROL, 5 * ms, "stepped", None))] == [2]  # a step runs at full speed

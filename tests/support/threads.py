"""OS threads of this process as the kernel counts them (Linux: /proc/self/task): which there are, and how
many times one was woken — how a test shows that a thread sleeps while the program runs."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable

TASKS = "/proc/self/task"


def threads() -> set[int]:
    """The ids of this process's OS threads."""
    return {int(tid) for tid in os.listdir(TASKS)}


def wakes_of(tid: int) -> int:
    """How many times OS thread `tid` went to sleep and was woken."""
    with open(f"{TASKS}/{tid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("voluntary_ctxt_switches"))


def preemptions_of(tid: int) -> int:
    """How many times the OS took the CPU from OS thread `tid` while it could run."""
    with open(f"{TASKS}/{tid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("nonvoluntary_ctxt_switches"))


def waited_to_run(tid: int) -> int:
    """How long (ns) OS thread `tid` has waited, able to run, for a CPU (the run queue: after a preemption, or
    after a wake on a busy machine)."""
    with open(f"{TASKS}/{tid}/schedstat") as f:
        return int(f.read().split()[1])


def stolen() -> int:
    """How long (ns) the hypervisor has run something else on this machine's CPUs, all of them together (/proc/stat's
    steal time): a program held that way is held as by the OS, but no count of its own thread's shows it."""
    with open("/proc/stat") as f:
        fields = f.readline().split()  # cpu user nice system idle iowait irq softirq steal ...
    return int(fields[8]) * 10**9 // os.sysconf("SC_CLK_TCK")


class Held:
    """How often, while the block ran, the program's thread `tid` was held from running as a thread watching it
    rightly sees a quiet program: each preemption, each `slack` of waiting for a CPU, each `slack` of steal."""

    def __init__(self, tid: int) -> None:
        self.tid = tid

    def __enter__(self) -> Held:
        self._start = self._now()
        return self

    def __exit__(self, *exc: object) -> None:
        self.preempted, self.waited, self.stolen = (b - a for a, b in zip(self._start, self._now(), strict=True))

    def _now(self) -> tuple[int, int, int]:
        return preemptions_of(self.tid), waited_to_run(self.tid), stolen()

    def times(self, slack_ns: float) -> int:
        """The times the thread was held at least `slack_ns` (a preemption counts whatever its length)."""
        return self.preempted + int(self.waited // slack_ns) + int(self.stolen // slack_ns)


def wakes_while(tid: int, work: Callable[[], object]) -> int:
    """How many times OS thread `tid` was woken while `work()` ran (the collector off meanwhile: a collection
    of a big heap pauses the program, and a thread watching it may rightly wake)."""
    gc.disable()
    try:
        before = wakes_of(tid)
        work()
        return wakes_of(tid) - before
    finally:
        gc.enable()


def switching(seconds: float, pause: float = 0.0) -> None:
    """Two greenthreads of the runtime yielding to each other for `seconds` (each `runtime.sleep(pause)`: with
    0 the hub never polls; with more it polls, shortly, and wakes), then both ended."""
    import runtime

    def player() -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            runtime.sleep(pause)

    for g in [runtime.spawn(player) for _ in range(2)]:
        g.wait()

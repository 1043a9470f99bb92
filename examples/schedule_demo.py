"""Watch the runtime schedule green threads, in the terminal (until the dashboard lands).

Five workers share two slots of a Semaphore and sleep while they hold one; a printing
instrument shows every spawn, switch, block, wake and exit the hub makes.

    python examples/schedule_demo.py
"""

from __future__ import annotations

import time

import runtime as eventlet
from runtime.greenthread import gid_of
from runtime.instrument import Instrument, add_instrument

T0 = time.monotonic()


def say(text: str) -> None:
    print(f"{(time.monotonic() - T0) * 1000:8.2f} ms  {text}")


class PrintSchedule(Instrument):
    def spawned(self, glet, parent):
        say(f"spawn   gt{gid_of(glet)} ({glet.func.__name__}) by gt{gid_of(parent)}")

    def switched(self, prev, nxt):
        if gid_of(nxt):  # not the hub
            say(f"run     gt{gid_of(nxt)}")

    def blocked(self, glet, reason, obj, detail):
        say(f"block   gt{gid_of(glet)} on {reason}" + (f" ({detail})" if detail is not None else ""))

    def woken(self, glet, cause, waker, obj, late):
        say(f"wake    gt{gid_of(glet)} by {cause} from gt{gid_of(waker)}")

    def exited(self, glet, outcome, exc):
        say(f"exit    gt{gid_of(glet)} {outcome}")

    def before_io_wait(self, timeout):
        if timeout:
            say(f"hub     waits {timeout * 1000:.1f} ms for the next timer")


def worker(slots: eventlet.Semaphore, n: int) -> int:
    with slots:
        eventlet.sleep(0.01 * n)
    return n


def main() -> None:
    add_instrument(PrintSchedule())
    slots = eventlet.Semaphore(2, name="slots")
    threads = [eventlet.spawn(worker, slots, n) for n in range(1, 6)]
    say(f"results {[gt.wait() for gt in threads]}")


if __name__ == "__main__":
    main()

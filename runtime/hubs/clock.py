"""Clocks a hub can run on.

A hub reads time through ``clock()``, a callable returning seconds. The default is
`time.monotonic`. `TestClock` is virtual time for deterministic tests: with `autojump`
on, when nothing is runnable and no fd is ready, the hub jumps the clock straight to
the next deadline instead of waiting, so a test that "sleeps" an hour runs in
microseconds and its timers fire in an order fixed by their deadlines alone.
"""

from __future__ import annotations

__all__ = ["TestClock"]


class TestClock:
    """Virtual time: starts at `start` and moves only by `advance` (or autojump).

    Autojump only jumps when the poller reports nothing ready at once; real fds
    still work, but data that another OS thread sends later may find the clock
    has already jumped past a timeout. Use the real clock for such tests.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, start: float = 0.0, autojump: bool = True) -> None:
        self._now = float(start)
        self.autojump = autojump

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds` (>= 0)."""
        if seconds < 0:
            raise ValueError(f"time cannot go backwards (advance({seconds!r}))")
        self._now += seconds

    def advance_to(self, when: float) -> None:
        """Move time forward to `when` (no-op if it is already past)."""
        if when > self._now:
            self._now = when

    def __repr__(self) -> str:
        return f"<TestClock now={self._now:.6f} autojump={self.autojump}>"

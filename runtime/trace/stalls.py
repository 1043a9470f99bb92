"""The stall monitor: an OS thread that catches a greenthread holding the hub, in the act.

A greenthread that runs for longer than `threshold` without giving control back stops
every other one with it. The monitor looks at the recorder's latest switch when the run it
saw last could first pass the threshold (while the hub polls, a threshold later: each look
takes the GIL from the program); when one greenthread has been running past the threshold,
it samples that greenthread's Python stack from the program's thread — while it is still
running, so the stack shows the blocking call itself (a ``time.sleep``, a CPU loop, a
blocking ``subprocess``), not where it yielded afterwards — and when the run ends it
records a ``stall`` event: who, from when, for how long, and that stack. The hot path pays
next to nothing: the monitor reads what the recorder's hooks write anyway, and (where they are
C) sleeps on a timer they push back — a system call at most every half its period — instead
of waking to look; while the recorder is not installed it waits for it without waking. It
watches the hub of the thread that started it.
"""

from __future__ import annotations

import _thread
import os
import select
import sys
from typing import Any

from runtime.trace.recorder import Recorder

__all__ = ["StallMonitor"]

_RUNTIME = __file__.rsplit("/trace/", 1)[0]  # the runtime's own frames are left out of a stack
_DEPTH = 40  # frames kept, the innermost


def stack_of(frame: Any) -> list[str]:
    """``file:line in function`` of each frame from `frame` out, outermost first, the runtime's left out."""
    out = []
    while frame is not None and len(out) < _DEPTH:
        code = frame.f_code
        if not code.co_filename.startswith(_RUNTIME):
            out.append(f"{code.co_filename}:{frame.f_lineno} in {getattr(code, 'co_qualname', code.co_name)}")
        frame = frame.f_back
    return out[::-1]


_select = select.select  # the real ones, captured before any monkey-patching
_read, _write = os.read, os.write


class StallMonitor:
    """Watches `recorder` for runs longer than `threshold_ns` in the thread `thread` (default: the caller's)."""

    def __init__(self, recorder: Recorder, threshold_ns: int = 20_000_000, thread: int | None = None) -> None:
        if threshold_ns <= 0:
            raise ValueError(f"the stall threshold must be > 0 ns, got {threshold_ns}")
        self.recorder = recorder
        self.threshold_ns = threshold_ns
        self.thread = _thread.get_ident() if thread is None else thread
        self._stop_r = self._stop_w = -1  # stop() writes to it: every wait ends
        self._changes_r = self._changes_w = -1  # the recorder writes to it when it is installed or uninstalled
        self._done = _thread.allocate_lock()

    def start(self) -> StallMonitor:
        self._stop_r, self._stop_w = os.pipe()
        self._changes_r, self._changes_w = os.pipe()
        for fd in (self._changes_r, self._changes_w):
            os.set_blocking(fd, False)
        self.recorder.tell_changes(self._changes_w)
        self._done.acquire()
        _thread.start_new_thread(self._loop, ())
        return self

    def stop(self) -> None:
        """Stop watching (a stall in progress is recorded as far as it went)."""
        if self._stop_w >= 0:
            _write(self._stop_w, b"x")
            self._done.acquire()
            self._done.release()
            self.recorder.tell_changes(self._changes_w, False)
            for fd in (self._stop_r, self._stop_w, self._changes_r, self._changes_w):
                os.close(fd)
            self._stop_r = self._stop_w = self._changes_r = self._changes_w = -1

    def _told(self, wait: bool) -> bool:
        """Whether the recorder was installed or uninstalled since last asked (`wait`: wait for it, without
        looking); False once stopped."""
        ready = _select([self._stop_r, self._changes_r], [], [], None if wait else 0)[0]
        if self._stop_r in ready or self._changes_r not in ready:
            return False
        try:
            while _read(self._changes_r, 64):
                pass
        except BlockingIOError:  # (all read)
            pass
        return True

    def _sleep(self, seconds: float) -> bool:
        """Wait `seconds`; True if stopped."""
        return bool(_select([self._stop_r], [], [], seconds)[0])

    def _loop(self) -> None:
        # It looks when the run it saw could first pass the threshold (no sooner: each look takes the GIL
        # from the program), then at a quarter of the threshold while a stall goes on. Where the recorder's
        # hooks are C, it waits for that moment without the GIL (`Recorder.wait_idle`): a program that
        # keeps switching never hands it the GIL, nor even wakes it.
        rec, clock, threshold = self.recorder, self.recorder.clock, self.threshold_ns
        wait_idle = rec.wait_idle
        seen: tuple[int, int | None] | None = None  # (since, gid) of what runs: the run watched
        sampled: list[str] | None = None  # its stack, once it ran past the threshold
        wait = threshold / 1e9
        try:
            while True:
                if not rec.recording:  # nothing to see: no look until it records (nor a wake)
                    if sampled is not None and seen is not None:  # it stopped recording during a stall
                        rec.stall(seen[0], seen[1], clock() - seen[0], sampled)  # type: ignore[arg-type]
                    seen, sampled = None, None
                    if self._told(wait=True):
                        continue
                    break
                if wait_idle is not None and sampled is None:
                    if wait_idle((self._stop_r, self._changes_r), threshold, 0) == 1:
                        if self._told(wait=False):
                            continue
                        break
                elif self._sleep(wait):
                    break
                now = rec.running()
                if now != seen:
                    if sampled is not None and seen is not None and now is not None:  # that run stalled
                        rec.stall(seen[0], seen[1], now[0] - seen[0], sampled)  # type: ignore[arg-type]
                    seen, sampled = now, None
                if now is None or now[1] is None:  # nothing runs (the hub polls): a run can start any time
                    wait = threshold / 1e9
                elif sampled is not None:  # a stall goes on: see when it ends
                    wait = threshold / 4e9
                else:
                    due = now[0] + threshold - clock()
                    if due < 0:
                        sampled = stack_of(sys._current_frames().get(self.thread))
                        wait = threshold / 4e9
                    else:
                        wait = max(due, threshold / 4) / 1e9
                if wait_idle is not None and sampled is None and self._sleep(threshold / 4e9):
                    break  # (what wait_idle saw still was not a stall: not again at once)
            if sampled is not None and seen is not None:
                rec.stall(seen[0], seen[1], clock() - seen[0], sampled)  # type: ignore[arg-type]
        finally:
            self._done.release()

"""The hub's doors for other OS threads: work handed in from them (`call_threadsafe`, announced
with `expect_threadsafe`), and exceptions for the main greenthread (`raise_in_main`, for signal
handlers). A pipe wakes the hub's poller for them; `Hub.close` and the writers share a lock, so a
late write never lands on a closed (or reused) fd."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from typing import Any

from runtime.hubs.poller import READ, Poller
from runtime.hubs.waiter import DONE
from runtime.instrument import Cause

__all__ = ["ThreadDoors"]


class ThreadDoors:
    """The `Hub`'s doors for other OS threads (a part of the hub: `Hub` sets the state they use)."""

    poller: Poller
    closed: bool
    _threadsafe: deque[tuple[Callable[..., Any], tuple]]
    _external: int
    _wakeup_r: int
    _wakeup_w: int
    _wakeup_lock: Any
    _root: Any
    interrupt: Any
    report_error: Any
    _to_root: Any

    def call_threadsafe(self, callback: Callable[..., Any], *args: Any) -> None:
        """From any OS thread: have the hub call ``callback(*args)`` soon (it must not block).

        Whoever expects such a call must say so first, from the hub's thread, with
        `expect_threadsafe`, so the hub waits for it instead of declaring a deadlock.
        """
        with self._wakeup_lock:
            if self.closed:  # the hub is gone (a call that outlived its program's hub): nobody is left to run it
                return
            self._threadsafe.append((callback, args))
            try:
                os.write(self._wakeup_w, b"x")
            except BlockingIOError:  # the pipe is full: the hub is waking up anyway
                pass

    def expect_threadsafe(self) -> None:
        """One `call_threadsafe` is on its way; the callback must call `threadsafe_done`."""
        self._open_wakeup()
        self._external += 1

    def _open_wakeup(self) -> None:
        if self._wakeup_r < 0:
            self._wakeup_r, self._wakeup_w = os.pipe()
            os.set_blocking(self._wakeup_r, False)
            os.set_blocking(self._wakeup_w, False)
            self.poller.register(self._wakeup_r, READ)

    def raise_in_main(self, exc: BaseException) -> None:
        """Have the main greenthread raise `exc` at its next switch, as the hub's own work.

        For signal handlers: Python runs them between any two bytecodes of whatever
        greenthread happens to run — inside a finalizer, an exception is even lost — so a
        handler should hand its exception to the hub instead of raising it there.
        """
        self._open_wakeup()
        self.call_threadsafe(self._throw_into_main, exc)

    def _throw_into_main(self, exc: BaseException) -> None:
        w = getattr(self._root, "_gs_waiter", None)
        if w is not None and w.state != DONE:
            self.interrupt(self._root, exc, Cause.KILL)
        else:  # main has not handed control to the hub through a wait: hand it the exception
            self._to_root(exc)

    def threadsafe_done(self) -> None:
        """The call announced by `expect_threadsafe` has arrived."""
        self._external -= 1

    def _run_threadsafe(self) -> None:
        try:
            while os.read(self._wakeup_r, 4096):
                pass
        except BlockingIOError:
            pass
        calls = self._threadsafe
        while calls:
            callback, args = calls.popleft()
            try:
                callback(*args)
            except Exception as e:
                self.report_error(f"thread-safe callback {callback!r}", e)

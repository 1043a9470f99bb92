"""Debugging switches, under eventlet's names."""

from __future__ import annotations

import signal
import threading
from typing import Any

import greenlet

from runtime.hubs import get_hub
from runtime.instrument import Instrument, add_instrument, remove_instrument

__all__ = ["hub_blocking_detection", "hub_exceptions"]


def hub_exceptions(state: bool = True) -> None:
    """Print (True, the default) or not the traceback of an exception that escapes a
    greenthread or a timer callback of this thread's hub."""
    get_hub().report_exceptions = bool(state)


class _BlockingDetector(Instrument):
    """Arms SIGALRM for `resolution` seconds whenever the main thread's hub switches into
    a greenthread, and disarms it when the hub gets control back: a greenthread that
    keeps it longer gets a RuntimeError raised where it is."""

    guarded = False  # its hook cannot raise: the guard would only cost

    def __init__(self, resolution: float) -> None:
        self.resolution = resolution
        self.hub = get_hub().greenlet
        self.thread = threading.get_ident()
        self.previous_handler = signal.signal(signal.SIGALRM, self._alarm)

    def switched(self, prev: Any, nxt: Any) -> None:
        if threading.get_ident() == self.thread:
            signal.setitimer(signal.ITIMER_REAL, 0 if nxt is self.hub else self.resolution)

    def _alarm(self, signum: int, frame: Any) -> None:
        current = greenlet.getcurrent()
        if current is self.hub:  # the hub got control back just as the alarm rang
            return
        raise RuntimeError(
            f"blocking detector: {current!r} kept the hub from running for {self.resolution}s"
            f" (at {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name})"
        )

    def stop(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous_handler)
        remove_instrument(self)


_detector: _BlockingDetector | None = None


def hub_blocking_detection(state: bool = False, resolution: float = 1) -> None:
    """Raise RuntimeError in a greenthread that runs `resolution` seconds without giving
    the hub control back (True), or stop watching (False). Main thread only; for
    debugging: it takes SIGALRM, and makes a system call at every switch."""
    global _detector
    if resolution <= 0:
        raise ValueError(f"resolution must be > 0 seconds, got {resolution!r}")
    if _detector is not None:
        _detector.stop()
        _detector = None
    if state:
        if threading.current_thread() is not threading.main_thread():
            raise ValueError("hub_blocking_detection() works in the main thread only (it uses SIGALRM)")
        _detector = _BlockingDetector(resolution)
        add_instrument(_detector)
        signal.setitimer(signal.ITIMER_REAL, resolution)  # the current greenthread runs now

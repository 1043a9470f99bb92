"""A green `subprocess`: children are waited for, and their pipes read and written, by
parking the greenthread; the hub runs the others meanwhile.

``run``, ``call``, ``check_call``, ``check_output`` and ``Popen`` (``wait``,
``communicate``, ``poll``, its ``stdin``/``stdout``/``stderr`` files) are the stdlib's code,
copied (`runtime.green._copy.fresh_import`) over the green `os`, `select`, `selectors`,
`threading` and `time`: ``wait()`` waits on a pidfd on Linux (no thread, no polling; see
`runtime.green.os.child_exited`), ``communicate()`` on the pipes through the hub, and the
pipes are files whose reads and writes park (`runtime.green.os.pipe_file`). Its
exceptions and ``CompletedProcess`` are the stdlib's, so ``except
subprocess.CalledProcessError`` catches what this module raises. `Popen` subclasses the
copy's class, not ``subprocess.Popen``; ``monkey_patch(subprocess=True)`` makes it
``subprocess.Popen`` (and so what the stdlib's ``run`` and friends use).
"""

from __future__ import annotations

import io as _io
import subprocess as _stdlib
from types import ModuleType
from typing import Any

from runtime.green import os as _green_os
from runtime.green import select as _green_select
from runtime.green import selectors as _green_selectors
from runtime.green import threading as _green_threading
from runtime.green import time as _green_time
from runtime.green._copy import adopt, fresh_import

_copy = fresh_import(
    "subprocess",
    [
        ("os", _green_os),
        ("select", _green_select),
        ("selectors", _green_selectors),
        ("threading", _green_threading),
        ("time", _green_time),
    ],
)


def _open(file: Any, mode: str = "r", buffering: int = -1, *args: Any, **kwargs: Any) -> Any:
    # Popen opens its ends of the pipes with io.open(fd, "rb"/"wb", bufsize): green files.
    if isinstance(file, int):
        return _green_os.pipe_file(file, mode, buffering)
    return open(file, mode, buffering, *args, **kwargs)


_green_io = ModuleType("io", _io.__doc__)
vars(_green_io).update(vars(_io))
_green_io.open = _open
_copy.io = _green_io
for _name in ("SubprocessError", "CalledProcessError", "TimeoutExpired", "CompletedProcess"):
    setattr(_copy, _name, getattr(_stdlib, _name))  # one set of exceptions, the stdlib's
del _name


class Popen(_copy.Popen):
    """``subprocess.Popen`` whose waits park the greenthread (see the module's docstring)."""

    def _wait(self, timeout: float | None) -> int | None:
        # The stdlib polls waitpid(WNOHANG) until a timeout; wait for the exit instead.
        if timeout is not None and self.returncode is None and not _green_os.child_exited(self.pid, timeout):
            raise _stdlib.TimeoutExpired(self.args, timeout)
        return super()._wait(None)


_copy.Popen = Popen  # run(), call()... make this one
adopt(globals(), _copy)

"""A green `threading`: the stdlib's threading module, run over the green `_thread`.

This is a copy of the stdlib module (`runtime.patcher.import_patched`) whose primitives
come from `runtime.green.thread`, so everything in it is green without patching anything:
`Lock` (also `allocate_lock`) and `RLock` park the greenthread, `get_ident` and `local`
are per greenthread, `Condition`, `Event`, `Semaphore`, `Barrier` and `Timer` wait by
parking, and ``Thread(target=f).start()`` runs `f` in a greenthread (``join`` waits for
it). ``current_thread()`` works in any greenthread.

Its classes are not the stdlib's (``runtime.green.threading.Thread`` is not
``threading.Thread``), and its non-daemon threads are not waited for at exit. To make the
stdlib's own `threading` green, use ``runtime.patcher.monkey_patch(thread=True)``.
Supported on Python 3.10 to 3.12.
"""

from __future__ import annotations

import sys

from runtime.green import thread as _green_thread
from runtime.green import time as _green_time
from runtime.patcher import _adopt, import_patched

if sys.version_info >= (3, 13):  # pragma: no cover - threads start through handles there
    raise ImportError("runtime.green.threading supports Python 3.10 to 3.12")

_copy = import_patched("threading", ("_thread", _green_thread), ("time", _green_time))
_copy.current_thread = _green_thread.current_thread_function(_copy)
_adopt(globals(), _copy)

allocate_lock = _green_thread.allocate_lock

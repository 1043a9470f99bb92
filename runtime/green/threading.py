"""A green `threading`: the stdlib's threading module, run over the green `_thread`.

This is a copy of the stdlib module (`runtime.green._copy.fresh_import`) whose primitives
come from `runtime.green.thread`, so everything in it is green without patching anything:
`Lock` (also `allocate_lock`) and `RLock` park the greenthread, `get_ident` and `local`
are per greenthread, `Condition`, `Event`, `Semaphore`, `Barrier` and `Timer` wait by
parking, and ``Thread(target=f).start()`` runs `f` in a greenthread (``join`` waits for
it). ``current_thread()`` works in any greenthread.

Its classes are not the stdlib's (``runtime.green.threading.Thread`` is not
``threading.Thread``), and its non-daemon threads are not waited for at exit. To make the
stdlib's own `threading` green, use ``runtime.patcher.monkey_patch(thread=True)``.
"""

from __future__ import annotations

from runtime.green import thread as _green_thread
from runtime.green import time as _green_time
from runtime.green._copy import adopt, fresh_import

_copy = fresh_import("threading", [("_thread", _green_thread), ("time", _green_time)])
_copy.current_thread = _green_thread.current_thread_function(_copy)
adopt(globals(), _copy)

allocate_lock = _green_thread.allocate_lock

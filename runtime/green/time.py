"""A green `time`: the stdlib's module, with a `sleep` that parks only the calling greenthread.

``sleep`` is `runtime.sleep`: ``sleep(0)`` lets the other ready greenthreads run once.
"""

from __future__ import annotations

import time as _stdlib
from time import *  # noqa: F403 -- everything else is the stdlib's

from runtime.greenthread import sleep

__all__ = sorted(n for n in dir(_stdlib) if not n.startswith("_"))

_ = sleep  # the green one, over the stdlib's

"""A green `select`: ``select.select`` parks the greenthread until an fd is ready.

It waits through the hub (``Hub.wait_fds``), so the other greenthreads run meanwhile,
then asks the real ``select(2)`` with a zero timeout what is ready, so it returns what the
stdlib's would: the ready objects (ints or objects with ``fileno()``), in the given order.

- `xlist` (exceptional conditions) is checked whenever the call returns, but does not
  wake it by itself: with only an `xlist`, the call waits for the timeout.
- Only one greenthread can wait to read (or to write) one fd at a time: a second one
  gets RuntimeError at once (it would never be woken). A greenthread parked here whose fd
  is closed through the hub (green sockets do it) gets `runtime.hubs.IOClosed`, an
  OSError with errno EBADF, as ``select(2)`` would.
- `poll`, `epoll`, `devpoll`, `kqueue` and `kevent` are left out: they would block the
  hub. The constants are all here, so ``hasattr(select, "epoll")`` is how code finds out.
"""

from __future__ import annotations

import select as _stdlib
from collections.abc import Iterable
from typing import Any

from runtime.greenthread import sleep
from runtime.hubs import get_hub
from runtime.instrument import Reason

LEFT_OUT = frozenset({"poll", "epoll", "devpoll", "kqueue", "kevent"})

for _name in dir(_stdlib):
    if not _name.startswith("_") and _name not in LEFT_OUT:
        globals()[_name] = getattr(_stdlib, _name)
del _name

__all__ = sorted(n for n in dir(_stdlib) if not n.startswith("_") and n not in LEFT_OUT)

_real_select = _stdlib.select
error = OSError


def select(
    rlist: Iterable[Any], wlist: Iterable[Any], xlist: Iterable[Any], timeout: float | None = None
) -> tuple[list[Any], list[Any], list[Any]]:
    """Wait until some of `rlist` are readable or `wlist` writable, or `timeout` seconds.

    Returns ``(readable, writable, exceptional)`` as the stdlib's ``select.select``.
    """
    if timeout is not None and timeout < 0:
        raise ValueError("timeout must be non-negative")
    rlist, wlist, xlist = list(rlist), list(wlist), list(xlist)
    ready = _real_select(rlist, wlist, xlist, 0)  # also checks every object, as the stdlib does
    if ready[0] or ready[1] or ready[2] or timeout == 0:
        return ready
    reads = [o if isinstance(o, int) else o.fileno() for o in rlist]
    writes = [o if isinstance(o, int) else o.fileno() for o in wlist]
    hub = get_hub()
    if not reads and not writes:  # nothing can wake us but the time
        if timeout is None:
            hub.park(None, Reason.SLEEP, None)  # as select(2) with nothing to wait for: forever
        else:
            sleep(timeout)
        return _real_select(rlist, wlist, xlist, 0)
    deadline = None if timeout is None else hub.clock() + timeout
    while True:
        left = None if deadline is None else max(0.0, deadline - hub.clock())
        woken = hub.wait_fds(reads, writes, left)
        ready = _real_select(rlist, wlist, xlist, 0)
        if ready[0] or ready[1] or ready[2] or not woken:
            return ready
        # woken, but another greenthread took what was there: wait again

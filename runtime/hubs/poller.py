"""Pollers: the only code that talks to epoll or selectors.

A poller is told which of READ and WRITE to watch per fd and returns the fds that are
ready. `EpollPoller` on Linux; `SelectorPoller` (the `selectors` module) everywhere else,
so the runtime also runs on macOS and the BSDs. By name (`make_poller`,
``$GREENSCOPE_HUB``): ``epoll``; ``selectors``, the module's best selector (epoll on
Linux, kqueue on macOS); ``poll``, ``select``, ``kqueue``, ``devpoll`` for that
selector; and eventlet's hub names ``epolls`` and ``selects``.
Errors and hang-ups are reported as both READ and WRITE, so whoever waits wakes up and
finds the error when it retries its call.
"""

from __future__ import annotations

import os
import select
import selectors
from typing import Protocol

__all__ = ["READ", "WRITE", "EpollPoller", "Poller", "SelectorPoller", "make_poller", "poller_names"]

READ = 1
WRITE = 2


class Poller(Protocol):
    name: str

    def register(self, fd: int, mask: int) -> None: ...
    def modify(self, fd: int, mask: int) -> None: ...
    def unregister(self, fd: int) -> None: ...
    def wait(self, timeout: float | None) -> list[tuple[int, int]]: ...
    def close(self) -> None: ...


# Taken now: monkey_patch may put green versions in their place later, and the hub must
# never wait through its own greenthreads.
_SELECTORS: dict[str, type[selectors.BaseSelector]] = {
    name: getattr(selectors, cls)
    for name, cls in [
        ("selectors", "DefaultSelector"),
        ("poll", "PollSelector"),
        ("select", "SelectSelector"),
        ("kqueue", "KqueueSelector"),
        ("devpoll", "DevpollSelector"),
    ]
    if hasattr(selectors, cls)
}

_EVENTLET_NAMES = {"epolls": "epoll", "selects": "select"}

if hasattr(select, "epoll"):
    _epoll = select.epoll
    _EPOLLIN = select.EPOLLIN
    _EPOLLOUT = select.EPOLLOUT
    _EPOLL_BOTH = select.EPOLLERR | select.EPOLLHUP
    _TO_EPOLL = (0, _EPOLLIN, _EPOLLOUT, _EPOLLIN | _EPOLLOUT)
    _EPOLL_LOW = _EPOLLIN | _EPOLLOUT | _EPOLL_BOTH  # the bits of an event that say something to us
    # our mask for each value of those bits (an error or a hang-up: both)
    _FROM_EPOLL = tuple(
        READ | WRITE if ev & _EPOLL_BOTH else (READ if ev & _EPOLLIN else 0) | (WRITE if ev & _EPOLLOUT else 0)
        for ev in range(_EPOLL_LOW + 1)
    )

    class EpollPoller:
        """Level-triggered epoll."""

        name = "epoll"

        def __init__(self) -> None:
            self._ep = _epoll()

        def register(self, fd: int, mask: int) -> None:
            self._ep.register(fd, _TO_EPOLL[mask])

        def modify(self, fd: int, mask: int) -> None:
            self._ep.modify(fd, _TO_EPOLL[mask])

        def unregister(self, fd: int) -> None:
            self._ep.unregister(fd)

        def wait(self, timeout: float | None) -> list[tuple[int, int]]:
            # epoll rounds sub-millisecond timeouts down to 0 (a busy loop);
            # round up so a timer due in 0.3 ms is waited for, not spun on.
            if timeout is None:
                timeout = -1
            elif 0 < timeout < 0.001:
                timeout = 0.001
            low, masks = _EPOLL_LOW, _FROM_EPOLL
            return [(fd, masks[ev & low]) for fd, ev in self._ep.poll(timeout)]

        def close(self) -> None:
            self._ep.close()

else:  # pragma: no cover - not Linux
    EpollPoller = None  # type: ignore[assignment,misc]


_TO_SEL = (0, selectors.EVENT_READ, selectors.EVENT_WRITE, selectors.EVENT_READ | selectors.EVENT_WRITE)


class SelectorPoller:
    """A selector of the `selectors` module, by its name in `poller_names()`
    (``selectors``: the module's best, kqueue on macOS, epoll on Linux)."""

    def __init__(self, name: str = "selectors") -> None:
        self.name = name
        self._sel = _SELECTORS[name]()

    def register(self, fd: int, mask: int) -> None:
        self._sel.register(fd, _TO_SEL[mask])

    def modify(self, fd: int, mask: int) -> None:
        self._sel.modify(fd, _TO_SEL[mask])

    def unregister(self, fd: int) -> None:
        self._sel.unregister(fd)

    def wait(self, timeout: float | None) -> list[tuple[int, int]]:
        out = []
        for key, ev in self._sel.select(timeout):
            mask = (READ if ev & selectors.EVENT_READ else 0) | (WRITE if ev & selectors.EVENT_WRITE else 0)
            out.append((key.fd, mask))
        return out

    def close(self) -> None:
        self._sel.close()


def poller_names() -> list[str]:
    """The pollers this platform has, the default first."""
    return (["epoll"] if EpollPoller is not None else []) + list(_SELECTORS)


def make_poller(name: str | None = None) -> Poller:
    """A new poller: `name`, else ``$GREENSCOPE_HUB``, else the platform's best."""
    name = name or os.environ.get("GREENSCOPE_HUB") or poller_names()[0]
    name = _EVENTLET_NAMES.get(name, name)
    if name == "epoll" and EpollPoller is not None:
        return EpollPoller()
    if name in _SELECTORS:
        return SelectorPoller(name)
    raise ValueError(
        f"unknown or unavailable poller {name!r} (GREENSCOPE_HUB); this platform has: " + ", ".join(poller_names())
    )

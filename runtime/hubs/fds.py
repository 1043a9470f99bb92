"""Who waits on which fd: the `WaitContainer`s of `Hub.wait_fd` (one fd) and `Hub.wait_fds`
(several at once, green select). The hub keeps one `FdWatch` per watched fd."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runtime.hubs.waiter import Waiter
from runtime.instrument import Reason

if TYPE_CHECKING:
    from runtime.hubs.hub import Hub

__all__ = ["FdGroup", "FdWatch"]


class FdWatch:
    """The greenthreads waiting on one fd (one reader, one writer) and what the poller watches;
    the `WaitContainer` of `Hub.wait_fd` (the waiter's reason says which side it takes)."""

    __slots__ = ("fd", "hub", "mask", "reader", "writer")

    def __init__(self, hub: Hub, fd: int) -> None:
        self.hub = hub
        self.fd = fd
        self.reader: Waiter | None = None
        self.writer: Waiter | None = None
        self.mask = 0  # what the poller is registered for

    def add(self, waiter: Waiter) -> None:
        if waiter.reason == Reason.IO_READ:
            self.reader = waiter
        else:
            self.writer = waiter
        self.hub._fd_waiters += 1

    def discard(self, waiter: Waiter) -> None:
        if self.reader is waiter:
            self.reader = None
        elif self.writer is waiter:
            self.writer = None
        else:
            return
        self.hub._fd_waiters -= 1


class FdGroup:
    """One greenthread waiting on several fds at once (green select): the `WaitContainer` of its waiter."""

    __slots__ = ("hub", "slots")

    def __init__(self, hub: Hub, slots: list[tuple[FdWatch, bool]]) -> None:
        self.hub = hub
        self.slots = slots  # (watch, write)

    def add(self, waiter: Waiter) -> None:
        for watch, write in self.slots:
            if write:
                watch.writer = waiter
            else:
                watch.reader = waiter
        self.hub._fd_waiters += 1

    def discard(self, waiter: Waiter) -> None:
        for watch, write in self.slots:
            if write and watch.writer is waiter:
                watch.writer = None
            elif not write and watch.reader is waiter:
                watch.reader = None
        self.hub._fd_waiters -= 1

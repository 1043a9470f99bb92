"""The hub's fd doors (`FdDoors`: wait for readiness, forget a closed fd, wake whoever the poller
says is ready) and who waits on which fd: the `WaitContainer`s of `Hub.wait_fd` (one fd,
`FdWatch`) and `Hub.wait_fds` (several at once, green select: `FdGroup`). The hub keeps one
`FdWatch` per watched fd."""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

from runtime.hubs.poller import READ, WRITE, Poller
from runtime.hubs.waiter import TIMED_OUT, IOClosed, Waiter
from runtime.instrument import Cause, Reason

if TYPE_CHECKING:
    from runtime.hubs.hub import Hub

__all__ = ["FdDoors", "FdGroup", "FdWatch"]

_IO_READ, _IO_WRITE, _FD_READY = Reason.IO_READ, Reason.IO_WRITE, Cause.FD_READY


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
        if waiter.reason == _IO_READ:
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


class FdDoors:
    """The `Hub`'s doors for fd readiness (a part of the hub: `Hub` sets the state they use)."""

    poller: Poller
    _watches: dict[int, FdWatch]
    _wakeup_r: int
    park: Any
    wake: Any
    _resume: Any
    _fd_waiters: int
    _run_threadsafe: Any

    def wait_fd(self, fd: int, write: bool = False, timeout: float | None = None, detail: Any = None) -> bool:
        """Park until `fd` is readable (or writable). False if `timeout` expired first.
        `detail` is what the ``blocked`` hook reports (the peer, say; default: the fd).

        Raises `IOClosed` if the fd is closed (through `notify_close`) while waiting, and
        RuntimeError if another greenthread already waits to read (or write) it.
        """
        watch = self._watches.get(fd)
        if write:
            # (the usual case inline: still registered for this side since its last wait, nobody on it)
            if watch is None or watch.writer is not None or not watch.mask & WRITE:
                watch = self._watch(fd, True)
            reason = _IO_WRITE
        else:
            if watch is None or watch.reader is not None or not watch.mask & READ:
                watch = self._watch(fd, False)
            reason = _IO_READ
        return self.park(watch, reason, fd, timeout, fd if detail is None else detail) is not TIMED_OUT

    def wait_fds(self, reads: list[int], writes: list[int], timeout: float | None = None) -> bool:
        """Park until one of `reads` is readable or one of `writes` writable (what green
        select is built on). False if `timeout` expired first."""
        slots = [(self._watch(fd, False), False) for fd in reads] + [(self._watch(fd, True), True) for fd in writes]
        if not slots:
            raise ValueError("wait_fds() needs at least one fd")
        reason = Reason.IO_READ if reads else Reason.IO_WRITE
        return self.park(FdGroup(self, slots), reason, tuple(reads) + tuple(writes), timeout) is not TIMED_OUT

    def _watch(self, fd: int, write: bool) -> FdWatch:
        # The fd's watch, registered with the poller for `write` (or read), with the slot free.
        watch = self._watches.get(fd)
        if watch is None:
            watch = self._watches[fd] = FdWatch(self, fd)
        other = watch.writer if write else watch.reader
        if other is not None:
            raise RuntimeError(
                f"fd {fd} is already waited on to {'write' if write else 'read'} by {other.glet!r};"
                " two greenthreads cannot wait on one fd in the same direction"
            )
        need = WRITE if write else READ
        if not watch.mask & need:
            # Registration stays after the wake (deferred unregister): the next wait on
            # this fd, usually moments later, then costs no system call.
            if watch.mask:
                self.poller.modify(fd, watch.mask | need)
            else:
                self.poller.register(fd, need)
            watch.mask |= need
        return watch

    def notify_close(self, fd: int) -> None:
        """`fd` is about to be closed: forget it, and wake its waiters with `IOClosed`.

        Whoever closes an fd that was waited on must call this first (green sockets do):
        an fd stays registered with the poller after a wait, and a new fd that reuses
        the number would otherwise never be registered.
        """
        watch = self._watches.pop(fd, None)
        if watch is None:
            return
        if watch.mask:
            try:
                self.poller.unregister(fd)
            except (OSError, KeyError, ValueError):
                pass
        for w in (watch.reader, watch.writer):
            if w is not None:
                err = IOClosed(errno.EBADF, f"fd {fd} was closed while {w.glet!r} waited on it")
                self.wake(w, None, Cause.CLOSED, err)

    def _dispatch(self, events: list[tuple[int, int]]) -> None:
        watches = self._watches
        resume = self._resume
        for fd, mask in events:
            watch = watches.get(fd)
            if watch is None:
                if fd == self._wakeup_r:
                    self._run_threadsafe()
                    continue
                try:  # closed behind our back: stop watching it
                    self.poller.unregister(fd)
                except (OSError, KeyError, ValueError):
                    pass
                continue
            reader = watch.reader
            writer = watch.writer
            # `wake` inline for a waiter on this fd alone (a select's, in an FdGroup, leaves all its fds)
            if mask & READ and reader is not None:
                if reader.container is watch:
                    reader.container = watch.reader = None
                    self._fd_waiters -= 1
                    resume(reader, None, None, _FD_READY)
                else:
                    self.wake(reader, None, _FD_READY)
            if mask & WRITE and writer is not None:
                if writer.container is watch:
                    writer.container = watch.writer = None
                    self._fd_waiters -= 1
                    resume(writer, None, None, _FD_READY)
                else:
                    self.wake(writer, None, _FD_READY)
            # The deferred unregister: an fd stays registered after its waiter wakes, and
            # only an event that nobody waited for shows it is idle; then watch less.
            if mask & ~((READ if reader is not None else 0) | (WRITE if writer is not None else 0)):
                want = (READ if watch.reader is not None else 0) | (WRITE if watch.writer is not None else 0)
                if want:
                    self.poller.modify(fd, want)
                    watch.mask = want
                else:
                    self.poller.unregister(fd)
                    del watches[fd]

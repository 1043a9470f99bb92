"""A green `os`: the stdlib's module, with the calls that wait for a pipe or a child parked.

- `read` and `write` on a pipe, socket or terminal park the greenthread until the fd is
  ready (on a non-blocking fd, instead of raising BlockingIOError); on a blocking fd,
  `write` writes at most what fits without blocking (it returns how much it wrote, as
  ``os.write`` may). Regular files are read and written at once, as the stdlib does.
- `waitpid` and `wait` park until the child has changed state. For one child
  (``pid > 0``, no ``WUNTRACED``/``WCONTINUED``) the hub waits on a pidfd (Linux 5.3+):
  no thread, no polling. Otherwise (``wait()``, a process group, other systems) it polls
  with ``WNOHANG``, backing off from 1 ms to 50 ms.
- `fdopen` of a pipe, socket or terminal gives a file whose reads and writes park
  (`pipe_file`); of anything else, the stdlib's file.

Everything else is the stdlib's `os`.
"""

from __future__ import annotations

import errno as _errno
import io as _io
import os as _stdlib
import stat as _stat
from typing import Any

from runtime.greenthread import sleep as _sleep
from runtime.hubs import get_hub as _get_hub

for _name, _value in vars(_stdlib).items():
    if not (_name.startswith("__") and _name.endswith("__")):
        globals()[_name] = _value
del _name, _value

__all__ = list(_stdlib.__all__)

_real_read = _stdlib.read
_real_write = _stdlib.write
_real_waitpid = _stdlib.waitpid
_PIPE_BUF = 4096  # what a writable pipe has room for at least (POSIX: PIPE_BUF >= 512, 4096 on Linux)
_NOT_ON_PIDFD = getattr(_stdlib, "WUNTRACED", 0) | getattr(_stdlib, "WCONTINUED", 0)


def _waits(fd: int) -> bool:
    # Whether a read or write on `fd` can wait (pipes, sockets, terminals), not a file's.
    mode = _stdlib.fstat(fd).st_mode
    return _stat.S_ISFIFO(mode) or _stat.S_ISSOCK(mode) or _stat.S_ISCHR(mode)


def _wait_fd(fd: int, write: bool) -> bool:
    # Park until `fd` is ready; False if the poller cannot watch it (/dev/null and the like).
    # The hub then forgets the fd: whoever owns it may close it any way it likes (a watch
    # left behind would hide a new fd that reuses the number).
    hub = _get_hub()
    try:
        hub.wait_fd(fd, write)
    except PermissionError:
        return False
    finally:
        hub.notify_close(fd)
    return True


def read(fd: int, n: int, /) -> bytes:
    """Read at most `n` bytes from `fd`, parking the greenthread until there are some."""
    if not _waits(fd):
        return _real_read(fd, n)
    if _stdlib.get_blocking(fd) and not _wait_fd(fd, False):
        return _real_read(fd, n)
    while True:
        try:
            return _real_read(fd, n)
        except BlockingIOError:
            if not _wait_fd(fd, False):
                raise


def write(fd: int, data: Any, /) -> int:
    """Write `data` to `fd`, parking the greenthread until it has room; return how much was written."""
    if not _waits(fd):
        return _real_write(fd, data)
    if _stdlib.get_blocking(fd):
        if not _wait_fd(fd, True):
            return _real_write(fd, data)
        return _real_write(fd, memoryview(data)[:_PIPE_BUF])
    while True:
        try:
            return _real_write(fd, data)
        except BlockingIOError:
            if not _wait_fd(fd, True):
                raise


def waitpid(pid: int, options: int, /) -> tuple[int, int]:
    """As ``os.waitpid``; without ``WNOHANG`` it parks the greenthread, not the hub."""
    if options & _stdlib.WNOHANG:
        return _real_waitpid(pid, options)
    delay = 0.001
    while True:
        result = _real_waitpid(pid, options | _stdlib.WNOHANG)
        if result[0]:
            return result
        if pid > 0 and not options & _NOT_ON_PIDFD:
            child_exited(pid, None)
        else:
            _sleep(delay)
            delay = min(delay * 2, 0.05)


def wait() -> tuple[int, int]:
    """As ``os.wait``: the next child to end, parking the greenthread meanwhile."""
    return waitpid(-1, 0)


def child_exited(pid: int, timeout: float | None) -> bool:
    """Park until process `pid` has ended (True) or `timeout` seconds have passed (False).

    It does not reap the child. Without pidfds (not Linux, or an old kernel) it polls.
    """
    try:
        fd = _stdlib.pidfd_open(pid)
    except ProcessLookupError:
        return True
    except (AttributeError, OSError) as e:
        if isinstance(e, OSError) and e.errno not in (_errno.ENOSYS, _errno.EPERM):
            raise
        return _poll_exit(pid, timeout)
    hub = _get_hub()
    try:
        return hub.wait_fd(fd, False, timeout)
    finally:
        hub.notify_close(fd)
        _stdlib.close(fd)


def _poll_exit(pid: int, timeout: float | None) -> bool:
    hub = _get_hub()
    deadline = None if timeout is None else hub.clock() + timeout
    delay = 0.001
    while _stdlib.waitid(_stdlib.P_PID, pid, _stdlib.WEXITED | _stdlib.WNOHANG | _stdlib.WNOWAIT) is None:
        left = None if deadline is None else deadline - hub.clock()
        if left is not None and left <= 0:
            return False
        _sleep(delay if left is None else min(delay, left))
        delay = min(delay * 2, 0.05)
    return True


class PipeIO(_io.RawIOBase):
    """A raw file over a pipe, socket or terminal fd (made non-blocking) whose reads and
    writes park the greenthread. Closing it closes the fd (unless ``closefd=False``)."""

    def __init__(self, fd: int, mode: str = "r", closefd: bool = True) -> None:
        super().__init__()
        self._fd = fd
        self._readable = "r" in mode or "+" in mode
        self._writable = bool(set(mode) & set("wax+"))
        self._closefd = closefd
        self.name = fd
        self.mode = mode
        _stdlib.set_blocking(fd, False)

    def fileno(self) -> int:
        self._checkClosed()
        return self._fd

    def readable(self) -> bool:
        return self._readable

    def writable(self) -> bool:
        return self._writable

    def isatty(self) -> bool:
        return _stdlib.isatty(self.fileno())

    def readinto(self, buffer: Any) -> int:
        fd = self.fileno()
        while True:
            try:
                return _stdlib.readv(fd, [buffer])
            except BlockingIOError:
                _get_hub().wait_fd(fd)

    def write(self, data: Any) -> int:
        fd = self.fileno()
        while True:
            try:
                return _real_write(fd, data)
            except BlockingIOError:
                _get_hub().wait_fd(fd, True)

    def close(self) -> None:
        if not self.closed and self._closefd:
            _get_hub().notify_close(self._fd)  # wakes a greenthread parked on it, with IOClosed
            _stdlib.close(self._fd)
        super().close()


def pipe_file(fd: int, mode: str = "rb", buffering: int = -1, **text: Any) -> Any:
    """A file object over the pipe (socket, terminal) `fd` whose reads and writes park.

    `mode` and `buffering` as ``open()``'s; `text` takes ``encoding``, ``errors``,
    ``newline``, ``line_buffering`` and ``write_through`` for a text mode.
    """
    raw = PipeIO(fd, mode.replace("b", "").replace("t", ""), text.pop("closefd", True))
    if buffering == 0:
        if "b" not in mode:
            raise ValueError("can't have unbuffered text I/O")
        return raw
    size = _io.DEFAULT_BUFFER_SIZE if buffering in (-1, 1) else buffering
    if raw.readable() and raw.writable():
        buffered: Any = _io.BufferedRWPair(raw, raw, size)
    elif raw.readable():
        buffered = _io.BufferedReader(raw, size)
    else:
        buffered = _io.BufferedWriter(raw, size)
    if "b" in mode:
        return buffered
    if buffering == 1:
        text.setdefault("line_buffering", True)
    return _io.TextIOWrapper(buffered, **text)


def fdopen(fd: int, mode: str = "r", buffering: int = -1, *args: Any, **kwargs: Any) -> Any:
    """As ``os.fdopen``; for a pipe, socket or terminal, a file whose reads and writes park."""
    if not isinstance(fd, int):
        raise TypeError(f"invalid fd type ({type(fd).__name__}, expected integer)")
    if args or not _waits(fd):
        return _stdlib.fdopen(fd, mode, buffering, *args, **kwargs)
    return pipe_file(fd, mode, buffering, **kwargs)

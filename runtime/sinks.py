"""Where an agent's frames go: a recording file (`FileSink`, on a `FrameFile` that keeps whole
frames only) and the dashboard's agent listener (`SocketSink`: HELLO with the secret, a bounded
backlog that drops and counts, reconnection every second, COMMAND frames read back, a bounded
flush at exit with the rest written to a fallback recording).

They use the real `_socket`, captured when this module is imported, so monkey-patching
afterwards cannot make them green.
"""

from __future__ import annotations

import _socket
import os
import select
import time
from collections import deque
from typing import Any

from runtime.trace.codec import COMMAND, END, EVENTS, HELLO, MAGIC, Decoder, FormatError, encode_frame

__all__ = ["FileSink", "FrameFile", "SocketSink", "parse_address"]

_monotonic = time.monotonic
_select = select.select
_write = os.write  # the real one: a frame may be written from inside the program's hub


def parse_address(text: str) -> tuple[int, Any]:
    """``host:port`` (TCP) or a path with a ``/`` (unix socket) -> (family, address)."""
    if "/" in text:
        return _socket.AF_UNIX, text
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"not an agent address (host:port or a unix-socket path): {text!r}")
    return (_socket.AF_INET6 if ":" in host else _socket.AF_INET), (host, int(port))


class FrameFile:
    """A recording file that takes whole frames, each in one write (a crash leaves whole frames). A write
    that fails (a full disk, a size limit) cuts the file back to its last whole frame and closes it;
    `error` says why, and it takes nothing more."""

    def __init__(self, path: str | os.PathLike, fresh: bool = True, mode: int = 0o644) -> None:
        self.path = str(path)
        self.error: str | None = None
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if fresh else os.O_APPEND)
        self._fd: int | None = os.open(path, flags, mode)
        self.size = os.fstat(self._fd).st_size  # bytes, all in whole frames
        if fresh:
            self.write(MAGIC)

    def write(self, frame: bytes) -> bool:
        """Append `frame`; False if it could not (then, or before)."""
        if self._fd is None:
            return False
        try:
            view = memoryview(frame)
            while view:
                view = view[_write(self._fd, view) :]
        except OSError as e:
            self.error = f"cannot write {self.path}: {e.strerror or e}"
            try:
                os.ftruncate(self._fd, self.size)  # back to its last whole frame
            except OSError:
                pass
            self.close()
            return False
        self.size += len(frame)
        return True

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class FileSink:
    """Frames appended to a recording file (`FrameFile`): a write that fails ends the recording at its
    last whole frame, and what came after is counted."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lost = 0  # events it could not write
        self._file = FrameFile(path)

    def hello(self, payload: dict) -> None:
        self._file.write(encode_frame(HELLO, payload))

    def send(self, frame: bytes, events: int = 0) -> bool:
        return self._file.write(frame)

    def poll_commands(self) -> list[dict]:
        return []

    def ready(self) -> bool:
        """Whether it takes a frame without blocking (a file: always)."""
        return True

    def waitable(self) -> Any:
        """What commands come through (none here)."""
        return None

    def close(self, timeout: float = 0.0, note: str | None = None) -> str | None:
        """Write END (with `note`) and close it; a line saying what it could not write, if anything."""
        self._file.write(encode_frame(END, _end(self.lost, note)))
        self._file.close()
        if self._file.error:
            return f"{self._file.error}; the recording stops at its last whole frame ({self.lost} events not in it)"
        return None


class SocketSink:
    """Frames sent to the dashboard; non-blocking, bounded, reconnecting. Frames are queued
    whole, so what was not sent at exit can go, whole, to the `fallback` recording."""

    def __init__(
        self,
        address: str,
        max_backlog: int = 8 << 20,
        secret: str | None = None,
        fallback: str | None = None,
        sndbuf: int = 256 << 10,
    ) -> None:
        self.family, self.address = parse_address(address)
        self.max_backlog = max_backlog
        self.sndbuf = sndbuf  # the kernel's share of the backlog: what it holds at exit is neither sent nor saved
        self.secret = secret
        self.fallback = fallback
        self.lost = 0  # events not sent, to report when it can send again
        self._sock: Any = None
        self._frames: deque[tuple[bytes, int]] = deque()  # (frame, events in it), the first maybe half sent
        self._sent = 0  # bytes of the first frame sent
        self._backlog = 0
        self._hello: dict = {}
        self._next_try = 0.0
        self._decoder = Decoder()

    def hello(self, payload: dict) -> None:
        self._hello = payload
        self._connect()

    @property
    def backlog(self) -> int:
        """Bytes waiting to be sent (never more than `max_backlog`)."""
        return self._backlog - self._sent

    def _connect(self) -> bool:
        if self._sock is not None:
            return True
        if _monotonic() < self._next_try:
            return False
        self._next_try = _monotonic() + 1.0
        sock = _socket.socket(self.family, _socket.SOCK_STREAM)
        try:
            sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_SNDBUF, self.sndbuf)
            if self.family != _socket.AF_UNIX:  # a frame goes out at once, even right after another
                sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            sock.settimeout(1.0)
            sock.connect(self.address)
            sock.setblocking(False)
        except OSError:
            sock.close()
            return False
        self._sock = sock
        hello = {**self._hello, "auth": self.secret} if self.secret else self._hello
        self._frames = deque([(MAGIC + encode_frame(HELLO, hello), 0)])
        self._sent, self._backlog = 0, len(self._frames[0][0])
        self._decoder = Decoder()
        return True

    def send(self, frame: bytes, events: int = 0) -> bool:
        """Queue `frame` (holding `events`) and send what the socket takes now; False if it had to be dropped."""
        if not self._connect():
            return False
        if self.backlog + len(frame) > self.max_backlog:
            if not self._flush():
                self._drop_connection()
            if self._sock is None or self.backlog + len(frame) > self.max_backlog:
                return False
        self._frames.append((frame, events))
        self._backlog += len(frame)
        if not self._flush():
            self._drop_connection()
        return True

    def _flush(self) -> bool:
        """Send what the socket takes now; False if the connection broke (it is then dropped)."""
        try:
            while self._frames:
                frame = self._frames[0][0]
                self._sent += self._sock.send(memoryview(frame)[self._sent :])
                if self._sent < len(frame):
                    return True
                self._frames.popleft()
                self._backlog -= len(frame)
                self._sent = 0
        except BlockingIOError:
            pass
        except OSError:
            return False
        return True

    def waitable(self) -> Any:
        """The socket the dashboard's commands come through, or None while there is none."""
        return self._sock

    def ready(self) -> bool:
        """Whether it takes a frame without blocking: connected (reconnecting may wait a second)."""
        return self._sock is not None

    def poll_commands(self) -> list[dict]:
        if self._sock is None:
            return []
        commands = []
        try:
            while True:
                data = self._sock.recv(65536)
                if not data:
                    self._drop_connection()
                    break
                for frame_type, payload in self._decoder.feed(data):
                    if frame_type == COMMAND and isinstance(payload, dict):
                        commands.append(payload)
        except BlockingIOError:
            pass
        except (OSError, FormatError):
            self._drop_connection()
        return commands

    def _drop_connection(self) -> None:
        """Forget the connection; what was queued for it is lost (and counted)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self.lost += sum(events for _, events in self._frames)
        self._frames.clear()
        self._sent = self._backlog = 0

    def close(self, timeout: float = 5.0, note: str | None = None) -> str | None:
        """Send END (with `note`) and what is queued, waiting at most `timeout` seconds for the dashboard
        to take it; write what it could not send to the fallback recording. A line saying what was lost, if any."""
        if self._connect():
            self._frames.append((encode_frame(END, _end(self.lost, note)), self.lost))
            self.lost = 0  # said by END, or in the fallback
        deadline = _monotonic() + timeout
        while self._sock is not None and self._frames and _monotonic() < deadline:
            if not self._flush():
                break  # the dashboard is gone: what is queued goes to the fallback
            if self._frames:
                _wait_writable(self._sock, min(0.05, max(deadline - _monotonic(), 0)))
        unsent = list(self._frames)
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._frames.clear()
        events = self.lost + sum(n for _, n in unsent)  # events, and losses not reported
        where = self._write_fallback(unsent) if any(f[4] == EVENTS and n for f, n in unsent) else None
        if where:
            return f"the dashboard did not take {events} events in {timeout:g} s: they are in {where}"
        if events:
            return f"{events} events did not reach the dashboard at {self._where()}"
        return None

    def _write_fallback(self, unsent: list[tuple[bytes, int]]) -> str | None:
        """A recording of the unsent EVENTS frames (whole: the first was perhaps half sent), ending with an
        END that counts the losses not reported in them."""
        if not self.fallback:
            return None
        frames = [frame for frame, n in unsent if frame[4] == EVENTS and n]
        lost = self.lost + sum(n for frame, n in unsent if frame[4] == END)
        try:
            with open(self.fallback, "wb") as f:
                f.write(MAGIC + encode_frame(HELLO, self._hello))
                for frame in frames:
                    f.write(frame)
                f.write(encode_frame(END, {"dropped": lost}))
        except OSError:
            return None
        return self.fallback

    def _where(self) -> str:
        return self.address if isinstance(self.address, str) else f"{self.address[0]}:{self.address[1]}"


def _wait_writable(sock: Any, timeout: float) -> None:
    _select([], [sock], [], timeout)


def _end(dropped: int, note: str | None) -> dict[str, Any]:
    """An END frame's payload: the events lost since the last report, and a note if there is one."""
    return {"dropped": dropped} if note is None else {"dropped": dropped, "note": note}

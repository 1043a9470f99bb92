"""A connection's socket with the bytes received from it and not consumed yet."""

from __future__ import annotations

from typing import Any

from runtime.wsgi.errors import ClientDisconnected

RECV_SIZE = 65536  # one recv into the buffer
_BODY_RECV_SIZE = 262144  # one recv straight into a large read of the body


class Stream:
    """Reads from one buffer that each ``recv`` appends to; `failed` is set once a socket call failed
    or the client closed its side: the connection cannot serve another request."""

    __slots__ = ("buf", "failed", "sock")

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.failed = False

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:
            self.failed = True
            raise

    def fill(self) -> None:
        """Append what the socket has to the buffer; ClientDisconnected at its end."""
        try:
            data = self.sock.recv(RECV_SIZE)
        except OSError:
            self.failed = True
            raise
        if not data:
            self.failed = True
            raise ClientDisconnected("the client closed the connection in the middle of a request")
        self.buf += data

    def read_exact(self, n: int) -> bytes:
        """Exactly `n` bytes (the buffer's first, then the socket's)."""
        buf = self.buf
        have = len(buf)
        if have >= n:
            data = bytes(buf[:n]) if have > n else bytes(buf)
            del buf[:n]
            return data
        parts = [bytes(buf)] if have else []
        buf.clear()
        n -= have
        sock = self.sock
        while n:
            try:
                data = sock.recv(n if n < _BODY_RECV_SIZE else _BODY_RECV_SIZE)
            except OSError:
                self.failed = True
                raise
            if not data:
                self.failed = True
                raise ClientDisconnected("the client closed the connection before the end of the request body")
            parts.append(data)
            n -= len(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def read_until_newline(self, n: int) -> bytes:
        """Up to and including the first b"\\n" among the next `n` bytes (all `n` if none)."""
        buf = self.buf
        start = 0
        while True:
            i = buf.find(b"\n", start, n)
            if i >= 0:
                n = i + 1
                break
            if len(buf) >= n:
                break
            start = len(buf)
            self.fill()
        data = bytes(buf[:n])
        del buf[:n]
        return data

    def read_line(self, limit: int) -> bytes | None:
        """One line with its b"\\n"; None if no line ends within `limit` bytes."""
        buf = self.buf
        start = 0
        while True:
            i = buf.find(b"\n", start, limit)
            if i >= 0:
                line = bytes(buf[: i + 1])
                del buf[: i + 1]
                return line
            if len(buf) >= limit:
                return None
            start = len(buf)
            self.fill()

    def skip_crlf(self) -> bool:
        """Consume a CRLF; False if something else comes."""
        buf = self.buf
        while len(buf) < 2:
            self.fill()
        if buf[0] == 13 and buf[1] == 10:
            del buf[:2]
            return True
        return False

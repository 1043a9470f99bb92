"""``wsgi.input``: the request body, read from the connection's stream (Content-Length or chunked)."""

from __future__ import annotations

from typing import Any

from runtime.wsgi.errors import BadRequest, RequestError, RequestTooLarge
from runtime.wsgi.parse import Limits, chunk_size
from runtime.wsgi.stream import RECV_SIZE, Stream

_MAX_CHUNK_LINE = 4096  # a chunk-size line, with its extensions
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class NoBody:
    """``wsgi.input`` of a request without a body (one per connection)."""

    __slots__ = ("_stream",)

    def __init__(self, stream: Stream) -> None:
        self._stream = stream

    def read(self, size: int | None = -1) -> bytes:
        return b""

    def readline(self, size: int | None = -1) -> bytes:
        return b""

    def readlines(self, hint: int = -1) -> list[bytes]:
        return []

    def __iter__(self) -> NoBody:
        return self

    def __next__(self) -> bytes:
        raise StopIteration

    def get_socket(self) -> Any:
        """The connection's socket (what eventlet's ``environ['eventlet.input'].get_socket()`` gives)."""
        return self._stream.sock


class Input(NoBody):
    """``wsgi.input`` of a request with a body, from Content-Length or decoded from chunked framing.

    ``read(n)`` returns `n` bytes unless the body ends first; a client that disconnects early raises
    `ClientDisconnected`, a malformed chunked body `BadRequest`, one larger than the limit
    `RequestTooLarge` (and `error` keeps it: the connection cannot be reused).
    """

    __slots__ = ("_chunked", "_continue", "_done", "_left", "_limits", "_resp", "_total", "error")

    def __init__(self, stream: Stream, resp: Any, length: int, chunked: bool, expect_continue: bool, limits: Limits):
        self._stream = stream
        self._resp = resp  # the response: "100 Continue" is never sent once it began
        self._chunked = chunked
        self._left = length  # bytes left in the current segment (the body, or the current chunk)
        self._done = False  # the end of the body was reached
        self._continue = expect_continue  # "100 Continue" is owed before the first read
        self._total = 0  # chunked: the body's size so far
        self._limits = limits
        self.error: RequestError | None = None

    def _segment(self) -> int:
        # Bytes left in the current segment, reading the next chunk's header if needed; 0 at the end.
        if self._continue:
            self._continue = False
            if not self._resp.headers_sent:
                self._stream.send(_CONTINUE)
        left = self._left
        if left or self._done:
            return left
        if self._chunked:
            return self._next_chunk()
        self._done = True
        return 0

    def _fail(self, exc: RequestError) -> RequestError:
        self.error = exc
        return exc

    def _next_chunk(self) -> int:
        stream = self._stream
        if self._total and not stream.skip_crlf():
            raise self._fail(BadRequest("chunk data not followed by CRLF"))
        line = stream.read_line(_MAX_CHUNK_LINE)
        if line is None:
            raise self._fail(BadRequest("chunk-size line too long"))
        try:
            size = chunk_size(line)
        except BadRequest as e:
            raise self._fail(e) from None
        if size == 0:
            self._read_trailers()
            self._done = True
            return 0
        self._total += size
        limit = self._limits.max_body_bytes
        if self._total > limit:
            raise self._fail(RequestTooLarge(f"request body larger than {limit} bytes"))
        self._left = size
        return size

    def _read_trailers(self) -> None:
        # Trailer fields are read and dropped, within the header size limit.
        budget = self._limits.max_header_bytes
        while True:
            line = self._stream.read_line(_MAX_CHUNK_LINE)
            if line == b"\r\n":
                return
            if line is None or line[-2:] != b"\r\n":
                raise self._fail(BadRequest("malformed trailer section"))
            budget -= len(line)
            if budget < 0:
                raise self._fail(RequestError("trailer section too large", 431))

    @property
    def finished(self) -> bool:
        """True when the whole body was read."""
        return not self._left and (self._done or not self._chunked)

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes (all that is left if negative or None)."""
        stream = self._stream
        parts = []
        if size is None or size < 0:
            while n := self._segment():
                self._left = 0
                parts.append(stream.read_exact(n))
        else:
            while size > 0:
                n = self._segment()
                if not n:
                    break
                if n > size:
                    n = size
                self._left -= n
                parts.append(stream.read_exact(n))
                size -= n
        if len(parts) == 1:
            return parts[0]
        return b"".join(parts)

    def readline(self, size: int | None = -1) -> bytes:
        """One line, with its b"\\n" (at most `size` bytes if positive)."""
        if size is None:
            size = -1
        stream = self._stream
        parts = []
        while size:
            n = self._segment()
            if not n:
                break
            if 0 < size < n:
                n = size
            data = stream.read_until_newline(n)
            self._left -= len(data)
            parts.append(data)
            if data[-1] == 10:
                break
            if size > 0:
                size -= len(data)
        if len(parts) == 1:
            return parts[0]
        return b"".join(parts)

    def readlines(self, hint: int = -1) -> list[bytes]:
        """The remaining lines (stopping once `hint` bytes were read, if positive)."""
        lines = []
        total = 0
        while line := self.readline():
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> Input:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def discard(self, limit: int) -> bool:
        """Read and drop what the application left of the body (at most `limit` bytes);
        False if the connection cannot be reused."""
        if self.finished:
            return True
        if self._continue or self._stream.failed or self.error is not None:
            return False  # the client still waits for "100 Continue": it may never send the body
        if not self._chunked and self._left > limit:
            return False
        try:
            while limit > 0:
                data = self.read(min(limit, RECV_SIZE))
                if not data:
                    return True
                limit -= len(data)
        except (OSError, RequestError):
            return False
        return self.finished

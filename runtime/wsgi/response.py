"""The response to one request: PEP 3333's ``start_response`` and ``write``, and the body's framing.

A body whose size is known before it is sent (a list returned by the application, or nothing at all)
gets a Content-Length; otherwise it is chunked on HTTP/1.1 and ends with the connection on HTTP/1.0.
What the application says is checked: a Content-Length it gives is held to (excess bytes dropped, a
short body ends the connection), header names and values are str without CR or LF, and a status
without a body (1xx, 204, 304) gets none. As on eventlet, body chunks may be ASCII str, header names
are capitalized (``content-type`` goes out as ``Content-Type``), and a ``101 Switching Protocols``
hands the connection to the application (a websocket).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, NamedTuple

from runtime.wsgi.dates import date_header
from runtime.wsgi.stream import Stream

_SMALL_BODY = 65536  # sent with the headers in one send
_JOINED_BODY = 262144  # a list's chunks up to this size are joined and sent in one send
# the status codes of a response without a body: 1xx, 204, 304 (and the codes below 100)
_BODILESS = frozenset((*range(200), 204, 304))


def _connection_tokens(value: str) -> set[str]:
    return {t.strip().lower() for t in value.split(",")}


_CODES: dict[str, int] = {}  # status -> its code, for the statuses found valid: a bounded cache


def _status_code(status: str) -> int:
    # The code of a status not in _CODES: its first 3 characters (all, if fewer) ASCII digits, a space next.
    code = status[:3]
    if not (code.isascii() and code.isdigit()) or (len(status) > 3 and status[3] != " "):
        raise ValueError(f"invalid status {status!r}")
    number = int(code)
    if len(_CODES) < 4096:
        _CODES[status] = number
    return number


# the headers `_head` looks at (lowercase)
_FRAMING = frozenset(("content-length", "connection", "transfer-encoding", "date"))
# header name as given -> (as sent, lowercase if in _FRAMING else ""): bounded caches, one capitalizing
# (as eventlet does), one not
_CAPITALIZED: dict[str, tuple[str, str]] = {}
_AS_GIVEN: dict[str, tuple[str, str]] = {}


def _names(name: str, cache: dict[str, tuple[str, str]]) -> tuple[str, str]:
    sent = "-".join(part.capitalize() for part in name.split("-")) if cache is _CAPITALIZED else name
    lname = name.lower()
    names = sent, lname if lname in _FRAMING else ""
    if len(cache) < 4096:
        cache[name] = names
    return names


class HeadStyle(NamedTuple):
    """How the responses of one server write their heads (made once, by `head_style`)."""

    version: str
    """Of the status line."""
    names: dict[str, tuple[str, str]]
    """The header-name cache: `_CAPITALIZED` or `_AS_GIVEN`."""


def head_style(version: str = "HTTP/1.1", capitalize: bool = True) -> HeadStyle:
    """The status line's `version`, and header names `capitalize`d (as eventlet does) or sent as given."""
    return HeadStyle(version, _CAPITALIZED if capitalize else _AS_GIVEN)


DEFAULT_STYLE = head_style()


def _as_bytes(data: Any) -> bytes:
    # A body chunk that is not bytes: other bytes-like objects, or ASCII str (as eventlet sends them).
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        try:
            return data.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError(f"a str in the response body must be ASCII (send bytes): {data[:40]!r}") from None
    raise TypeError(f"response body must be bytes, got {type(data).__name__}")


def error_response(status: int, reason: str = "") -> bytes:
    """A complete response that refuses a request and closes the connection; `reason` in its body."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    body = f"{status} {phrase}\n{reason}\n" if reason else f"{status} {phrase}\n"
    body_bytes = body.encode("utf-8", "replace")
    return (
        f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body_bytes)}\r\nConnection: close\r\n\r\n"
    ).encode("latin-1") + body_bytes


class Response:
    """The response of one request: `start_response`, `write`, and the framing."""

    __slots__ = (
        "body_bytes",
        "chunked",
        "code",
        "done",
        "head_only",
        "headers",
        "headers_sent",
        "http10",
        "keep_alive",
        "length",
        "size_hint",
        "status",
        "stream",
        "style",
    )

    def __init__(
        self,
        stream: Stream,
        head_only: bool,
        http10: bool,
        keep_alive: bool,
        style: HeadStyle = DEFAULT_STYLE,
    ) -> None:
        self.stream = stream
        self.style = style
        self.head_only = head_only  # HEAD: headers only, the body is dropped
        self.http10 = http10
        self.keep_alive = keep_alive
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.code = 0
        self.headers_sent = False
        self.chunked = False
        self.length: int | None = None  # body bytes allowed (the app's Content-Length)
        self.body_bytes = 0  # body bytes sent (or dropped, for HEAD)
        self.size_hint: int | None = None  # the whole body's size, when known before sending it
        self.done = False

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        """PEP 3333's start_response: remember the status and headers; return `write`."""
        if exc_info is not None:
            try:
                if self.headers_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # no reference cycle through the traceback
        elif self.status is not None:
            raise AssertionError("start_response() called a second time without exc_info")
        if type(status) is not str:
            raise TypeError(f"status must be a str, got {type(status).__name__}")
        code = _CODES.get(status)
        if code is None:
            code = _status_code(status)
        if type(headers) is not list:
            raise TypeError(f"headers must be a list, got {type(headers).__name__}")
        self.code = code
        self.status = status
        self.headers = headers
        return self.write

    def _head(self) -> bytes:
        # The status line and headers; decides the body's framing.
        code = self.code
        keep_alive = self.keep_alive
        version, cache = self.style
        out = [f"{version} {self.status}\r\n"]
        length = None
        has_connection = has_date = False
        for name, value in self.headers:
            if type(name) is not str or type(value) is not str:
                raise TypeError(f"header names and values must be str, got {name!r}: {value!r}")
            name, framing = cache.get(name) or _names(name, cache)
            if framing:
                if framing == "content-length":
                    value = value.strip()
                    if not (value.isascii() and value.isdigit()):
                        raise ValueError(f"invalid Content-Length {value!r}")
                    length = int(value)
                elif framing == "connection":
                    has_connection = True
                    if "close" in _connection_tokens(value):
                        keep_alive = False
                elif framing == "transfer-encoding":
                    raise ValueError("the application must not set the hop-by-hop header Transfer-Encoding")
                else:
                    has_date = True
            out.append(f"{name}: {value}\r\n")
        chunked = False
        if code in _BODILESS:
            length = 0  # no body, whatever the application says
        elif length is None:
            total = self.size_hint
            if total is not None:
                if total or not self.head_only:
                    out.append(f"Content-Length: {total}\r\n")
                length = total
            elif self.http10:
                keep_alive = False  # the body ends when the connection does
            else:
                out.append("Transfer-Encoding: chunked\r\n")
                chunked = True
        if not has_connection:
            if not keep_alive:
                out.append("Connection: close\r\n")
            elif self.http10:
                out.append("Connection: keep-alive\r\n")
        if not has_date:
            out.append(date_header())
        out.append("\r\n")
        head = "".join(out)
        lines = len(out)
        if head.count("\n") != lines or head.count("\r") != lines:
            raise ValueError("a response header contains CR or LF")
        data = head.encode("latin-1")
        self.length = length
        self.chunked = chunked
        self.keep_alive = keep_alive
        self.headers_sent = True
        return data

    def write(self, data: bytes) -> None:
        """PEP 3333's write(): send `data` (the headers first)."""
        if type(data) is not bytes:
            data = _as_bytes(data)
        if self.done:
            raise RuntimeError("write() after the response ended")
        self._write(data)

    def _write(self, data: bytes) -> None:
        # Send body bytes (the headers first), held to the Content-Length: `write` without its checks of
        # the application's call, for the body the application returned (its callers make it bytes).
        if self.status is None:
            raise AssertionError("write() before start_response()")
        if self.head_only:
            self.body_bytes += len(data)
            return
        head = b"" if self.headers_sent else self._head()
        n = len(data)
        if self.length is not None:
            left = self.length - self.body_bytes
            if n > left:  # more than announced: drop the excess (and the connection after)
                data = data[:left]
                n = left
                if self.code not in _BODILESS:  # (a body sent with a status that has none is just dropped)
                    self.keep_alive = False
        self.body_bytes += n
        send = self.stream.send
        if self.chunked:
            if n:
                send(b"".join((head, b"%x\r\n" % n, data, b"\r\n")))
            elif head:
                send(head)
        elif head:
            if n and n <= _SMALL_BODY:
                send(head + data)
            else:
                send(head)
                if n:
                    send(data)
        elif n:
            send(data)

    def write_list(self, chunks: list[bytes]) -> None:
        """A body the application returned as a list: its size is known (Content-Length);
        a small one goes out with the headers in one send."""
        if not self.headers_sent:
            if len(chunks) == 1:
                body = chunks[0]
                if type(body) is not bytes:
                    body = _as_bytes(body)
                self.size_hint = len(body)
                self._write(body)
                return
            if not all(type(data) is bytes for data in chunks):
                chunks = [data if type(data) is bytes else _as_bytes(data) for data in chunks]
            total = sum(map(len, chunks))
            self.size_hint = total
            if total <= _JOINED_BODY:
                self._write(b"".join(chunks))
                return
        for data in chunks:
            if data:
                self.write(data)

    def write_iter(self, chunks: Iterable[bytes], minimum: int | None) -> None:
        """A body the application returned as an iterable: each chunk is sent as it comes, or, with a
        `minimum`, gathered with the next ones until they make that many bytes."""
        if not minimum:
            for data in chunks:
                if data:
                    if type(data) is not bytes:
                        data = _as_bytes(data)
                    self._write(data)
            return
        pending: list[bytes] = []
        size = 0
        for data in chunks:
            if data:
                if type(data) is not bytes:
                    data = _as_bytes(data)
                pending.append(data)
                size += len(data)
                if size >= minimum:
                    self._write(b"".join(pending))
                    pending.clear()
                    size = 0
        if pending:
            self._write(b"".join(pending))

    def finish(self) -> None:
        """The body is complete: send the headers if not yet sent, end a chunked body."""
        if not self.headers_sent:
            if self.status is None:
                raise AssertionError("the application returned without calling start_response()")
            self.size_hint = self.body_bytes
            self.stream.send(self._head())
        elif self.chunked:
            self.stream.send(b"0\r\n\r\n")
        if self.length is not None and self.body_bytes != self.length and not self.head_only:
            self.keep_alive = False  # fewer bytes than announced: the client cannot find the end

"""A WSGI (PEP 3333) HTTP/1.1 server on green sockets: ``runtime.wsgi.server(sock, app)``.

    import runtime
    from runtime import wsgi

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello\\n"]

    wsgi.server(runtime.listen(("127.0.0.1", 8080)), app)

Each connection is served by one greenthread of a GreenPool (at most `max_size` at once;
accepting waits while the pool is full). Requests on a connection are read in order
(keep-alive and pipelining), from one buffer that each ``recv`` appends to.

Request bodies come from ``Content-Length`` or ``Transfer-Encoding: chunked``;
``wsgi.input`` yields the decoded body and answers ``Expect: 100-continue`` on its first
read. A response without a Content-Length gets one when the application returns a list;
otherwise it is chunked on HTTP/1.1 and close-delimited on HTTP/1.0.

Errors stay with their connection: a malformed request gets 400, oversized headers 431,
an oversized body 413 (declared, or found while reading a chunked body), an unknown
transfer coding 501; an application that raises before its headers were sent gets a
500 (the traceback goes to the log), after them the connection is closed. A client that
sends nothing for `socket_timeout` seconds is dropped.

The server stops when its listening socket is closed or its greenthread is killed:
idle keep-alive connections are closed, requests in flight get `shutdown_timeout`
seconds to finish, and then their greenthreads are killed.
"""

from __future__ import annotations

import _socket
import errno
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from email.utils import formatdate
from functools import partial
from http import HTTPStatus
from itertools import islice
from typing import Any, TextIO
from urllib.parse import unquote_to_bytes

from greenlet import GreenletExit

from runtime.event import Event
from runtime.green import socket as gsocket
from runtime.greenpool import GreenPool
from runtime.greenthread import getcurrent, kill, sleep
from runtime.hubs import IOClosed
from runtime.timeout import Timeout

__all__ = [
    "DEFAULT_LOG_FORMAT",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_HEADER_BYTES",
    "DEFAULT_MAX_SIZE",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "DEFAULT_SOCKET_TIMEOUT",
    "DEFAULT_URL_LENGTH_LIMIT",
    "BadRequest",
    "ClientDisconnected",
    "RequestError",
    "RequestTooLarge",
    "server",
]

DEFAULT_MAX_SIZE = 1000
DEFAULT_MAX_HEADER_BYTES = 64 * 1024
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
DEFAULT_URL_LENGTH_LIMIT = 8192
DEFAULT_SOCKET_TIMEOUT = 60.0
DEFAULT_SHUTDOWN_TIMEOUT = 10.0
#: Keys: client_ip, client_port, date_time, request_line, status_code, body_length, wall_seconds.
DEFAULT_LOG_FORMAT = (
    '%(client_ip)s - - [%(date_time)s] "%(request_line)s" %(status_code)s %(body_length)s %(wall_seconds).6f'
)

_RECV_SIZE = 65536  # one recv into the connection's buffer
_BODY_RECV_SIZE = 262144  # one recv straight into a large read of the body
_MAX_CHUNK_LINE = 4096  # a chunk-size line, with its extensions
_DRAIN_LIMIT = 1 << 20  # unread body discarded to keep a connection alive; more closes it
_LINGER_SECONDS = 1.0  # after an error response, how long to discard what the client still sends
_HEXDIGITS = b"0123456789abcdefABCDEF"
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

# RFC 9110 token: methods and header names
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z").match
_VERSION = re.compile(r"HTTP/[0-9]\.[0-9]\Z").match


class RequestError(ValueError):
    """A request the server refuses; `status` is the HTTP status it answers with."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class BadRequest(RequestError):
    """Malformed request framing (raised by ``wsgi.input`` for a bad chunked body)."""

    status = 400


class RequestTooLarge(RequestError):
    """The request body is larger than the server's `max_body_bytes`."""

    status = 413


class ClientDisconnected(ConnectionError):
    """The client closed the connection before the whole request body arrived."""


# ---------------------------------------------------------------- small caches


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Error"


_HEADER_KEYS: dict[str, str] = {}  # header name as sent -> environ key ("" to drop it)


def _header_key(name: str) -> str:
    if not _TOKEN(name):
        raise RequestError(f"invalid header name {name!r}")
    upper = name.upper()
    if upper == "CONTENT-TYPE":
        key = "CONTENT_TYPE"
    elif upper == "CONTENT-LENGTH":
        key = "CONTENT_LENGTH"
    elif "_" in name:
        key = ""  # dropped: X_Foo and X-Foo would both be HTTP_X_FOO (header spoofing)
    else:
        key = "HTTP_" + upper.replace("-", "_")
    if len(_HEADER_KEYS) < 4096:
        _HEADER_KEYS[name] = key
    return key


_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_now_second = -1
_date_header = ""
_log_date = ""


def _tick() -> None:
    # The Date header and the log's timestamp, computed once per second.
    global _now_second, _date_header, _log_date
    now = time.time()
    second = int(now)
    if second != _now_second:
        _now_second = second
        _date_header = f"Date: {formatdate(second, usegmt=True)}\r\n"
        t = time.localtime(second)
        _log_date = f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon]}/{t.tm_year} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"


def _connection_tokens(value: str) -> set[str]:
    return {t.strip().lower() for t in value.split(",")}


# ---------------------------------------------------------------- wsgi.input


class _NoBody:
    """``wsgi.input`` of a request without a body (one shared instance)."""

    __slots__ = ()

    def read(self, size: int | None = -1) -> bytes:
        return b""

    def readline(self, size: int | None = -1) -> bytes:
        return b""

    def readlines(self, hint: int = -1) -> list[bytes]:
        return []

    def __iter__(self) -> _NoBody:
        return self

    def __next__(self) -> bytes:
        raise StopIteration


_NO_BODY = _NoBody()


class _Input:
    """``wsgi.input``: the request body, from Content-Length or decoded from chunked framing.

    ``read(n)`` returns `n` bytes unless the body ends first; a client that disconnects
    early raises `ClientDisconnected`, a malformed chunked body `BadRequest`, one larger
    than the limit `RequestTooLarge`.
    """

    __slots__ = ("_chunked", "_conn", "_continue", "_done", "_left", "_limit", "_total")

    def __init__(self, conn: _Connection, length: int, chunked: bool, expect_continue: bool) -> None:
        self._conn = conn
        self._chunked = chunked
        self._left = length  # bytes left in the current segment (the body, or the current chunk)
        self._done = False  # the end of the body was reached
        self._continue = expect_continue  # "100 Continue" is owed before the first read
        self._total = 0  # chunked: the body's size so far
        self._limit = conn.server.max_body_bytes

    def _segment(self) -> int:
        # Bytes left in the current segment, reading the next chunk's header if needed; 0 at the end.
        if self._continue:
            self._send_continue()
        left = self._left
        if left or self._done:
            return left
        if self._chunked:
            return self._next_chunk()
        self._done = True
        return 0

    def _send_continue(self) -> None:
        self._continue = False
        conn = self._conn
        resp = conn.resp
        if resp is None or not resp.headers_sent:  # never after the final response began
            conn.send(_CONTINUE)

    def _fail(self, exc: RequestError) -> RequestError:
        self._conn.input_error = exc
        return exc

    def _next_chunk(self) -> int:
        conn = self._conn
        if self._total and not conn.skip_line_end():
            raise self._fail(BadRequest("chunk data not followed by CRLF"))
        line = conn.read_line(_MAX_CHUNK_LINE)
        size_field = line.split(b";", 1)[0].strip()
        if not size_field or size_field.lstrip(_HEXDIGITS) or len(size_field) > 15:
            raise self._fail(BadRequest(f"invalid chunk size line {line[:40]!r}"))
        size = int(size_field, 16)
        if size == 0:
            self._read_trailers()
            self._done = True
            return 0
        self._total += size
        if self._total > self._limit:
            raise self._fail(RequestTooLarge(f"request body larger than {self._limit} bytes"))
        self._left = size
        return size

    def _read_trailers(self) -> None:
        conn = self._conn
        budget = conn.server.max_header_bytes
        while True:
            line = conn.read_line(_MAX_CHUNK_LINE)
            if line in (b"\r\n", b"\n"):
                return
            budget -= len(line)
            if budget < 0:
                raise self._fail(RequestError("trailer section too large", 431))

    @property
    def finished(self) -> bool:
        """True when the whole body was read."""
        return not self._left and (self._done or not self._chunked)

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes (all that is left if negative or None)."""
        conn = self._conn
        parts = []
        if size is None or size < 0:
            while n := self._segment():
                self._left = 0
                parts.append(conn.read_exact(n))
        else:
            while size > 0:
                n = self._segment()
                if not n:
                    break
                if n > size:
                    n = size
                self._left -= n
                parts.append(conn.read_exact(n))
                size -= n
        if len(parts) == 1:
            return parts[0]
        return b"".join(parts)

    def readline(self, size: int | None = -1) -> bytes:
        """One line, with its b"\\n" (at most `size` bytes if positive)."""
        if size is None:
            size = -1
        conn = self._conn
        parts = []
        while size:
            n = self._segment()
            if not n:
                break
            if 0 < size < n:
                n = size
            data = conn.read_until_newline(n)
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

    def __iter__(self) -> _Input:
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
        conn = self._conn
        if self._continue or conn.io_error or conn.input_error is not None:
            return False  # the client still waits for "100 Continue": it may never send the body
        if not self._chunked and self._left > limit:
            return False
        try:
            while limit > 0:
                data = self.read(min(limit, _RECV_SIZE))
                if not data:
                    return True
                limit -= len(data)
        except (OSError, RequestError):
            return False
        return self.finished


# ---------------------------------------------------------------- the response


class _Response:
    """The response of one request: `start_response`, `write`, and the framing."""

    __slots__ = (
        "body_bytes",
        "chunked",
        "code",
        "conn",
        "done",
        "head_only",
        "headers",
        "headers_sent",
        "http10",
        "keep_alive",
        "length",
        "size_hint",
        "status",
    )

    def __init__(self, conn: _Connection, head_only: bool, http10: bool, keep_alive: bool) -> None:
        self.conn = conn
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
        code = status[:3]
        if not (code.isascii() and code.isdigit()) or (len(status) > 3 and status[3] != " "):
            raise ValueError(f"invalid status {status!r}")
        if type(headers) is not list:
            raise TypeError(f"headers must be a list, got {type(headers).__name__}")
        self.code = int(code)
        self.status = status
        self.headers = headers
        return self.write

    def _head(self) -> bytes:
        # The status line and headers; decides the body's framing.
        code = self.code
        keep_alive = self.keep_alive
        out = [f"HTTP/1.1 {self.status}\r\n"]
        length = None
        has_connection = has_date = False
        for name, value in self.headers:
            if type(name) is not str or type(value) is not str:
                raise TypeError(f"header names and values must be str, got {name!r}: {value!r}")
            lname = name.lower()
            if lname == "content-length":
                value = value.strip()
                if not (value.isascii() and value.isdigit()):
                    raise ValueError(f"invalid Content-Length {value!r}")
                length = int(value)
            elif lname == "connection":
                has_connection = True
                if "close" in _connection_tokens(value):
                    keep_alive = False
            elif lname == "transfer-encoding":
                raise ValueError("the application must not set the hop-by-hop header Transfer-Encoding")
            elif lname == "date":
                has_date = True
            out.append(f"{name}: {value}\r\n")
        chunked = False
        if code < 200 or code == 204 or code == 304:
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
            _tick()
            out.append(_date_header)
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
            if not isinstance(data, (bytearray, memoryview)):
                raise TypeError(f"response body must be bytes, got {type(data).__name__}")
            data = bytes(data)
        if self.status is None:
            raise AssertionError("write() before start_response()")
        if self.done:
            raise RuntimeError("write() after the response ended")
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
                code = self.code
                if code >= 200 and code != 204 and code != 304:  # not a status without a body
                    self.keep_alive = False
        self.body_bytes += n
        if self.chunked:
            if n:
                self.conn.send(b"".join((head, b"%x\r\n" % n, data, b"\r\n")))
            elif head:
                self.conn.send(head)
        elif head:
            if n and n <= 65536:
                self.conn.send(head + data)
            else:
                self.conn.send(head)
                if n:
                    self.conn.send(data)
        elif n:
            self.conn.send(data)

    def write_list(self, chunks: list[bytes]) -> None:
        """A body the application returned as a list: its size is known (Content-Length);
        a small one goes out with the headers in one send."""
        if len(chunks) == 1 and not self.headers_sent:
            body = chunks[0]
            self.size_hint = len(body)
            self.write(body)
            return
        if not self.headers_sent:
            total = sum(map(len, chunks))
            self.size_hint = total
            if total <= 262144:
                self.write(b"".join(chunks))
                return
        for data in chunks:
            if data:
                self.write(data)

    def finish(self) -> None:
        """The body is complete: send the headers if not yet sent, end a chunked body."""
        if not self.headers_sent:
            if self.status is None:
                raise AssertionError("the application returned without calling start_response()")
            self.size_hint = self.body_bytes
            self.conn.send(self._head())
        elif self.chunked:
            self.conn.send(b"0\r\n\r\n")
        if self.length is not None and self.body_bytes != self.length and not self.head_only:
            self.keep_alive = False  # fewer bytes than announced: the client cannot find the end


# ---------------------------------------------------------------- one connection


class _Connection:
    """One client connection: reads its requests in order and runs the application for each."""

    __slots__ = (
        "addr",
        "buf",
        "client_ip",
        "client_port",
        "env_base",
        "glet",
        "idle",
        "input_error",
        "io_error",
        "linger",
        "request_line",
        "resp",
        "server",
        "sock",
    )

    def __init__(self, server: _Server, sock: gsocket.socket, addr: Any) -> None:
        self.server = server
        self.sock = sock
        self.addr = addr
        self.buf = bytearray()  # received and not yet consumed
        self.glet: Any = None
        self.idle = False  # parked waiting for the first byte of a request
        self.io_error = False  # a socket call failed: the connection is unusable
        self.input_error: RequestError | None = None  # the request body was refused
        self.linger = False  # close gently: the client may still be sending
        self.resp: _Response | None = None
        self.request_line = "-"
        if isinstance(addr, tuple):
            self.client_ip, self.client_port = str(addr[0]), str(addr[1])
        else:
            self.client_ip, self.client_port = str(addr or ""), ""
        env = server.env_base.copy()
        env["REMOTE_ADDR"] = self.client_ip
        env["REMOTE_PORT"] = self.client_port
        self.env_base = env

    # ------------------------------------------------------------ socket I/O

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:
            self.io_error = True
            raise

    def _fill(self) -> None:
        # Append what the socket has to the buffer; ClientDisconnected at EOF.
        try:
            data = self.sock.recv(_RECV_SIZE)
        except OSError:
            self.io_error = True
            raise
        if not data:
            self.io_error = True
            raise ClientDisconnected("the client closed the connection in the middle of a request")
        self.buf += data

    def read_exact(self, n: int) -> bytes:
        """Exactly `n` bytes of the request (the buffer's first, then the socket's)."""
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
                self.io_error = True
                raise
            if not data:
                self.io_error = True
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
            self._fill()
        data = bytes(buf[:n])
        del buf[:n]
        return data

    def skip_line_end(self) -> bool:
        """Consume a CRLF (or a bare LF); False if something else comes."""
        buf = self.buf
        if not buf:
            self._fill()
        if buf[0] == 10:
            del buf[:1]
            return True
        if len(buf) < 2:
            self._fill()
        if buf[0] == 13 and buf[1] == 10:
            del buf[:2]
            return True
        return False

    def read_line(self, limit: int) -> bytes:
        """One line of chunked framing, with its b"\\n"; BadRequest if longer than `limit`."""
        buf = self.buf
        start = 0
        while True:
            i = buf.find(b"\n", start, limit)
            if i >= 0:
                line = bytes(buf[: i + 1])
                del buf[: i + 1]
                return line
            if len(buf) >= limit:
                self.input_error = err = BadRequest("chunked framing line too long")
                raise err
            start = len(buf)
            self._fill()

    # ------------------------------------------------------------ requests

    def run(self) -> None:
        """Serve requests until the connection ends; never raises (but GreenletExit)."""
        server = self.server
        self.glet = getcurrent()
        server.conns.add(self)
        try:
            if server.tls is not None and not self._handshake():
                return
            while self.handle_one():
                if server.stopping:
                    break
        except GreenletExit:
            self.linger = False  # killed: close at once
            self.buf.clear()
            raise
        except OSError:
            self.io_error = True
        except Exception as e:  # a bug here must not end the server
            server.log_exception(e, "wsgi server error")
        finally:
            try:
                self.close()
            finally:
                server.conns.discard(self)
                drained = server.drained
                if drained is not None and not server.conns and not drained.ready():
                    drained.send()

    def _handshake(self) -> bool:
        # TLS, in this greenthread (not the accept loop's); it waits like an idle connection.
        if self.server.stopping:
            return False
        self.sock = self.server.tls.wrap_socket(self.sock, server_side=True, do_handshake_on_connect=False)
        self.idle = True
        try:
            self.sock.do_handshake()
        finally:
            self.idle = False
        return True

    def close(self) -> None:
        """Close the socket; first, if the client may still be sending, read what it sends
        for a moment: closing with unread data resets the connection, which can destroy the
        response before the client reads it."""
        sock = self.sock
        try:
            if (self.linger or self.buf) and not self.io_error:
                _socket.socket.shutdown(sock, _socket.SHUT_WR)
                sock.settimeout(_LINGER_SECONDS)
                n = 0
                while n < _DRAIN_LIMIT:
                    data = sock.recv(_RECV_SIZE)
                    if not data:
                        break
                    n += len(data)
        except OSError:
            pass
        finally:
            sock.close()

    def stop_idle(self) -> None:
        """Wake this connection out of its wait for a new request (the server is stopping)."""
        try:
            _socket.socket.shutdown(self.sock, _socket.SHUT_RD)
        except OSError:
            pass

    def _read_head(self) -> str | None:
        # Wait for a whole header section; return it decoded (latin-1, without the blank
        # line), or None if the connection ended (or stayed idle too long) before one began.
        buf = self.buf
        server = self.server
        searched = 0
        while True:
            if buf:
                if buf[0] == 13 or buf[0] == 10:  # empty lines before a request line are ignored
                    stripped = len(buf) - len(buf.lstrip(b"\r\n"))
                    del buf[:stripped]
                    searched = 0
                if buf:
                    i = buf.find(b"\n\r\n", searched)
                    j = buf.find(b"\n\n", searched, len(buf) if i < 0 else i + 1)
                    if j >= 0:
                        end, body = j, j + 2
                        break
                    if i >= 0:
                        end, body = (i - 1 if buf[i - 1] == 13 else i), i + 3
                        break
                    if len(buf) > server.max_header_bytes:
                        self._raise_too_large()
                    searched = max(0, len(buf) - 3)
            idle = not buf
            if idle and server.stopping:
                return None
            self.idle = idle
            try:
                data = self.sock.recv(_RECV_SIZE)
            except TimeoutError:
                if idle:
                    self.io_error = True
                    return None
                raise RequestError("timed out waiting for the request", 408) from None
            except OSError:
                self.io_error = True
                return None
            finally:
                self.idle = False
            if not data:
                self.io_error = True
                return None
            buf += data
        if end > server.max_header_bytes:
            self._raise_too_large()
        text = buf[:end].decode("latin-1")
        del buf[:body]
        return text

    def _raise_too_large(self) -> None:
        limit = self.server.url_length_limit
        first = self.buf.find(b"\n", 0, limit + 2)
        if first < 0:
            self.request_line = "-"
            raise RequestError("request line too long", 414)
        self.request_line = self.buf[:first].decode("latin-1").rstrip("\r")
        raise RequestError(f"request headers larger than {self.server.max_header_bytes} bytes", 431)

    def _parse(self, text: str) -> tuple[dict[str, Any], _Response, Any]:
        # The environ, the response and wsgi.input of a request, from its header section.
        server = self.server
        lines = text.split("\r\n")
        breaks = len(lines) - 1
        if text.count("\n") != breaks or text.count("\r") != breaks:
            lines = [line[:-1] if line[-1:] == "\r" else line for line in text.split("\n")]
            if any("\r" in line for line in lines):
                raise RequestError("bare CR in the request header section")
        request_line = lines[0]
        self.request_line = request_line
        if len(request_line) > server.url_length_limit:
            raise RequestError("request line too long", 414)
        parts = request_line.split(" ")
        if len(parts) != 3:
            raise RequestError("malformed request line")
        method, target, version = parts
        if version == "HTTP/1.1":
            http10 = False
        elif version == "HTTP/1.0":
            http10 = True
        elif _VERSION(version):
            raise RequestError(f"unsupported version {version}", 505)
        else:
            raise RequestError("malformed request line")
        if not _TOKEN(method):
            raise RequestError("malformed method")

        env = self.env_base.copy()
        keys = _HEADER_KEYS
        for line in islice(lines, 1, None):
            name, colon, value = line.partition(":")
            if not colon:
                raise RequestError("header line without a colon")
            key = keys.get(name)
            if key is None:
                key = _header_key(name)
            if not key:
                continue
            value = value.strip(" \t")
            if key in env:
                old = env[key]
                if key == "CONTENT_LENGTH" or key == "HTTP_HOST" or key == "HTTP_TRANSFER_ENCODING":
                    if old != value or key != "CONTENT_LENGTH":
                        raise RequestError(f"conflicting {name} headers")
                    continue
                env[key] = f"{old}; {value}" if key == "HTTP_COOKIE" else f"{old}, {value}"
            else:
                env[key] = value

        if target[:1] == "/":
            path, _, query = target.partition("?")
        elif target == "*" and method == "OPTIONS":
            path, query = "*", ""
        elif target[:7].lower() == "http://" or target[:8].lower() == "https://":
            authority, _, rest = target.partition("://")[2].partition("/")
            path, _, query = ("/" + rest).partition("?")
            env["HTTP_HOST"] = authority
        else:
            raise RequestError("malformed request target")
        env["REQUEST_METHOD"] = method
        env["PATH_INFO"] = unquote_to_bytes(path).decode("latin-1") if "%" in path else path
        env["RAW_PATH_INFO"] = path
        env["QUERY_STRING"] = query
        env["SERVER_PROTOCOL"] = version
        if not http10 and "HTTP_HOST" not in env:
            raise RequestError("HTTP/1.1 request without Host")

        keep_alive = server.keepalive
        connection = env.get("HTTP_CONNECTION")
        if http10:
            keep_alive = keep_alive and connection is not None and "keep-alive" in _connection_tokens(connection)
        elif connection is not None and "close" in _connection_tokens(connection):
            keep_alive = False

        length = 0
        chunked = False
        te = env.get("HTTP_TRANSFER_ENCODING")
        if te is not None:
            if "CONTENT_LENGTH" in env:
                raise RequestError("both Transfer-Encoding and Content-Length")
            if te.lower() != "chunked":
                raise RequestError(f"unsupported transfer coding {te!r}", 501)
            chunked = True
            if http10:
                keep_alive = False
        else:
            cl = env.get("CONTENT_LENGTH")
            if cl is not None:
                if not (cl.isascii() and cl.isdigit()) or len(cl) > 18:
                    raise RequestError(f"invalid Content-Length {cl!r}")
                length = int(cl)
                if length > server.max_body_bytes:
                    raise RequestError(f"request body larger than {server.max_body_bytes} bytes", 413)
        expect_continue = False
        expect = env.get("HTTP_EXPECT")
        if expect is not None:
            if expect.lower() != "100-continue":
                raise RequestError(f"unsupported expectation {expect!r}", 417)
            expect_continue = not http10 and (chunked or length > 0)
        inp: Any = _NO_BODY
        if chunked or length:
            inp = env["wsgi.input"] = _Input(self, length, chunked, expect_continue)
        resp = _Response(self, method == "HEAD", http10, keep_alive)
        return env, resp, inp

    def handle_one(self) -> bool:
        """Read and answer one request; True if the connection may serve another."""
        server = self.server
        self.resp = None
        self.request_line = "-"
        try:
            text = self._read_head()
            if text is None:
                return False
            env, resp, inp = self._parse(text)
        except RequestError as e:
            self._refuse(e.status)
            return False
        self.resp = resp
        log_output = server.log_output
        if log_output:
            started = time.perf_counter()
        result = None
        try:
            result = server.app(env, resp.start_response)
            try:
                if type(result) is list:
                    resp.write_list(result)
                else:
                    for data in result:
                        if data:
                            resp.write(data)
                resp.finish()
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except (Exception, Timeout) as e:
            self._app_failed(resp, e)
        resp.done = True  # a write() kept by the application must not reach the next response
        if log_output:
            sent = 0 if resp.head_only else resp.body_bytes
            server.access(self, resp.code, sent, time.perf_counter() - started)
        if not resp.keep_alive or self.io_error or self.input_error is not None:
            self.linger = self.input_error is not None or (inp is not _NO_BODY and not inp.finished)
            return False
        if inp is not _NO_BODY and not inp.discard(_DRAIN_LIMIT):
            self.linger = True
            return False
        return True

    def _app_failed(self, resp: _Response, exc: BaseException) -> None:
        resp.keep_alive = False
        if self.io_error:
            return  # the client went away: nobody to answer, nothing to report
        if isinstance(exc, RequestError):
            status = exc.status
        elif self.input_error is not None:
            status = self.input_error.status
        else:
            status = 500
            self.server.log_exception(exc, f"error in the application for {self.request_line!r}")
        if not resp.headers_sent:
            resp.code = status
            resp.body_bytes = 0
            try:
                self.send(self._error_response(status))
            except OSError:
                pass

    def _error_response(self, status: int) -> bytes:
        phrase = _phrase(status)
        body = f"{status} {phrase}\n"
        return (
            f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}"
        ).encode("latin-1")

    def _refuse(self, status: int) -> None:
        # Answer a request that never reached the application, and close gently.
        self.linger = True
        if self.io_error:
            return
        data = self._error_response(status)
        if self.server.log_output:
            self.server.access(self, status, 0, 0.0)
        try:
            self.send(data)
        except OSError:
            pass


# ---------------------------------------------------------------- the server


class _Server:
    """What every connection of one `server` call shares."""

    def __init__(
        self,
        sock: gsocket.socket,
        app: Callable[..., Iterable[bytes]],
        log: TextIO | None,
        environ: dict[str, Any] | None,
        max_size: int | None,
        custom_pool: GreenPool | None,
        keepalive: bool,
        socket_timeout: float | None,
        max_header_bytes: int,
        max_body_bytes: int,
        url_length_limit: int,
        log_output: bool,
        log_format: str,
        shutdown_timeout: float | None,
    ) -> None:
        self.sock = sock
        self.app = app
        self.log = log if log is not None else sys.stderr
        self.pool = custom_pool if custom_pool is not None else GreenPool(max_size or DEFAULT_MAX_SIZE)
        self.keepalive = keepalive
        self.socket_timeout = socket_timeout
        self.max_header_bytes = max_header_bytes
        self.max_body_bytes = max_body_bytes
        self.url_length_limit = url_length_limit
        self.log_output = log_output
        self.log_format = log_format
        self.shutdown_timeout = shutdown_timeout
        self.conns: set[_Connection] = set()
        self.stopping = False
        self.drained: Event | None = None
        # a TLS listener: accept the TCP connection, and shake hands in its own greenthread
        self.tls = getattr(sock, "context", None) if hasattr(sock, "do_handshake") else None
        try:
            name = sock.getsockname()
        except OSError:
            name = ""
        if isinstance(name, tuple):
            server_name, server_port = str(name[0]), str(name[1])
        else:
            server_name, server_port = str(name), ""
        env: dict[str, Any] = {
            "SERVER_SOFTWARE": "greenscope.wsgi",
            "SERVER_NAME": server_name,
            "SERVER_PORT": server_port,
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SCRIPT_NAME": "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https" if hasattr(sock, "do_handshake") else "http",
            "wsgi.input": _NO_BODY,
            "wsgi.input_terminated": True,
            "wsgi.errors": self.log,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        if environ:
            env.update(environ)
        self.env_base = env

    def access(self, conn: _Connection, status: int, length: int, seconds: float) -> None:
        """Write one access log line."""
        _tick()
        line = self.log_format % {
            "client_ip": conn.client_ip,
            "client_port": conn.client_port,
            "date_time": _log_date,
            "request_line": conn.request_line,
            "status_code": status,
            "body_length": length,
            "wall_seconds": seconds,
        }
        try:
            self.log.write(line + "\n")
        except Exception:
            pass  # a broken log must not break the server

    def log_exception(self, exc: BaseException, where: str) -> None:
        """Write a traceback to the log."""
        try:
            self.log.write(f"{where}:\n{''.join(traceback.format_exception(type(exc), exc, exc.__traceback__))}")
        except Exception:
            pass

    def handle(self, client: gsocket.socket, addr: Any) -> None:
        """A pool member: serve one connection."""
        _Connection(self, client, addr).run()

    def serve_forever(self) -> None:
        sock = self.sock
        pool = self.pool
        timeout = self.socket_timeout
        handle = self.handle
        accept = sock.accept if self.tls is None else partial(gsocket.socket.accept, sock)
        try:
            while True:
                try:
                    client, addr = accept()
                except OSError as e:
                    if isinstance(e, IOClosed) or sock.fileno() < 0 or e.errno in _LISTENER_GONE:
                        return
                    if e.errno in _OUT_OF_RESOURCES:
                        self.log_exception(e, "wsgi server: accept failed")
                        sleep(0.1)
                    continue  # a connection that failed before we saw it, a TLS handshake, a listener timeout
                try:
                    client.settimeout(timeout)
                    if client.family in (gsocket.AF_INET, gsocket.AF_INET6):
                        client.setsockopt(gsocket.IPPROTO_TCP, gsocket.TCP_NODELAY, 1)
                    pool.spawn_n(handle, client, addr)
                except BaseException:
                    client.close()
                    raise
        finally:
            self._stop()

    def _stop(self) -> None:
        # Close idle connections; give the others shutdown_timeout seconds, then kill them.
        self.stopping = True
        for conn in list(self.conns):
            if conn.idle:
                conn.stop_idle()
        if not self.conns:
            return
        self.drained = Event()
        try:
            with Timeout(self.shutdown_timeout, False):
                self.drained.wait()
        finally:
            if self.conns:
                for conn in list(self.conns):
                    if conn.glet is not None:
                        kill(conn.glet)
                if self.conns:
                    with Timeout(1.0, False):
                        self.drained.wait()


_LISTENER_GONE = {errno.EBADF, errno.EINVAL, errno.ENOTSOCK}
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


def server(
    sock: gsocket.socket,
    site: Callable[..., Iterable[bytes]],
    log: TextIO | None = None,
    environ: dict[str, Any] | None = None,
    max_size: int | None = DEFAULT_MAX_SIZE,
    *,
    custom_pool: GreenPool | None = None,
    keepalive: bool = True,
    socket_timeout: float | None = DEFAULT_SOCKET_TIMEOUT,
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    url_length_limit: int = DEFAULT_URL_LENGTH_LIMIT,
    log_output: bool = True,
    log_format: str = DEFAULT_LOG_FORMAT,
    shutdown_timeout: float | None = DEFAULT_SHUTDOWN_TIMEOUT,
) -> None:
    """Serve the WSGI application `site` on the listening green socket `sock`.

    Returns when `sock` is closed (or raises GreenletExit when this greenthread is killed),
    after the connections ended: idle ones at once, those in the middle of a request within
    `shutdown_timeout` seconds (None: no limit), after which they are killed.

    - `log`: a text file for the access log and tracebacks (default ``sys.stderr``); it is
      also ``wsgi.errors``. `log_output` False turns the access log off; `log_format` is a
      %-format over client_ip, client_port, date_time, request_line, status_code,
      body_length and wall_seconds.
    - `environ`: extra keys for every request's environ.
    - `max_size`: connections served at once (a GreenPool); or pass `custom_pool`.
    - `keepalive`: False closes every connection after one response.
    - `socket_timeout`: seconds a connection may wait for the client (idle between
      requests, or in a read or write) before it is dropped; None waits forever.
    - `max_header_bytes`: request line and headers larger than this get 431;
      `url_length_limit`: a longer request line gets 414.
    - `max_body_bytes`: a request body larger than this gets 413 (a chunked one when
      ``wsgi.input`` reaches the limit: it raises `RequestTooLarge`).
    """
    _Server(
        sock,
        site,
        log,
        environ,
        max_size,
        custom_pool,
        keepalive,
        socket_timeout,
        max_header_bytes,
        max_body_bytes,
        url_length_limit,
        log_output,
        log_format,
        shutdown_timeout,
    ).serve_forever()

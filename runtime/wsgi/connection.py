"""One client connection: its requests, read in order (keep-alive and pipelining), each answered by the
application before the next is read."""

from __future__ import annotations

import _socket
import time
from typing import TYPE_CHECKING, Any

from greenlet import GreenletExit

from runtime.greenthread import getcurrent
from runtime.timeout import Timeout
from runtime.wsgi.body import Input, NoBody
from runtime.wsgi.errors import RequestError
from runtime.wsgi.parse import find_head_end, head_too_large, parse_head
from runtime.wsgi.response import Response, error_response
from runtime.wsgi.stream import RECV_SIZE, Stream

if TYPE_CHECKING:
    from runtime.wsgi.server import Server

_DRAIN_LIMIT = 1 << 20  # unread body discarded to keep a connection alive; more closes it
_LINGER_SECONDS = 1.0  # after an error response, how long to discard what the client still sends
_ROOM = tuple(object() for _ in range(6))  # keys that make room in a dict's table (see _with_room)


def _with_room(env: dict[str, Any]) -> dict[str, Any]:
    """`env`, its table grown now for the keys each request adds to a copy of it. A dict's copy keeps
    the table it is copied from: a request's environ (16 keys from here, 6 or more from the request)
    otherwise outgrew its table on every request, and the new table, allocated, zeroed and filled,
    made a request ~5 % slower (more of its memory missed the cache). Keys put in and taken out again
    grow the table; where a Python grows it otherwise, nothing changes but that."""
    env.update(dict.fromkeys(_ROOM))
    for key in _ROOM:
        del env[key]
    return env


class Connection:
    """Serves the requests of one client connection, in a greenthread of the server's pool."""

    __slots__ = (
        "client_ip",
        "client_port",
        "env_base",
        "glet",
        "idle",
        "linger",
        "request_line",
        "resp",
        "server",
        "stream",
    )

    def __init__(self, server: Server, sock: Any, addr: Any) -> None:
        self.server = server
        self.stream = Stream(sock)
        self.glet: Any = None
        self.idle = False  # parked waiting for the first byte of a request
        self.linger = False  # close gently: the client may still be sending
        self.request_line = "-"
        self.resp: Response | None = None
        if server.log_output:
            server.log.debug(f"({server.log.pid}) accepted {addr!r}")
        if isinstance(addr, tuple):
            self.client_ip, self.client_port = str(addr[0]), str(addr[1])
        else:
            self.client_ip, self.client_port = str(addr or ""), ""
        env = server.env_base.copy()
        env["REMOTE_ADDR"] = self.client_ip
        env["REMOTE_PORT"] = self.client_port
        env["wsgi.input"] = env["eventlet.input"] = NoBody(self.stream)
        self.env_base = _with_room(env)

    @property
    def switched(self) -> bool:
        """The application switched this connection to another protocol (101, a websocket)."""
        resp = self.resp
        return resp is not None and resp.code == 101 and resp.headers_sent

    def run(self) -> None:
        """Serve requests until the connection ends; never raises (but GreenletExit)."""
        server = self.server
        self.glet = getcurrent()
        server.conns.add(self)
        try:
            sock = self.stream.sock
            sock.settimeout(server.options.socket_timeout)
            if sock.family == _socket.AF_INET or sock.family == _socket.AF_INET6:
                sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            if server.tls and not self._handshake():
                return
            while self.handle_one():
                if server.stopping:
                    break
        except GreenletExit:
            self.linger = False  # killed: close at once
            self.stream.buf.clear()
            raise
        except OSError:
            self.stream.failed = True
        except Exception as e:  # a bug here must not end the server
            server.log.exception(e, "wsgi server error")
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
        self.idle = True
        try:
            self.stream.sock.do_handshake()
        finally:
            self.idle = False
        return True

    def close(self) -> None:
        """Close the socket; first, if the client may still be sending, read what it sends for a
        moment: closing with unread data resets the connection, which can destroy the response
        before the client reads it."""
        stream = self.stream
        sock = stream.sock
        try:
            if (self.linger or stream.buf) and not stream.failed:
                _socket.socket.shutdown(sock, _socket.SHUT_WR)
                sock.settimeout(_LINGER_SECONDS)
                n = 0
                while n < _DRAIN_LIMIT:
                    data = sock.recv(RECV_SIZE)
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
            _socket.socket.shutdown(self.stream.sock, _socket.SHUT_RD)
        except OSError:
            pass

    def _read_head(self) -> bytearray | None:
        # Wait for a whole header section and return it (without the blank line), or None if the
        # connection ended (or stayed idle too long) before one began.
        stream = self.stream
        buf = stream.buf
        server = self.server
        searched = 0
        while True:
            if buf:
                if buf[0] in b"\r\n":  # empty lines before a request line are ignored
                    del buf[: len(buf) - len(buf.lstrip(b"\r\n"))]
                    searched = 0
                if buf:
                    found = find_head_end(buf, searched)
                    if found is not None:
                        break
                    if len(buf) > server.limits.max_header_bytes:
                        raise head_too_large(buf, server.limits)
                    searched = max(0, len(buf) - 3)
            idle = not buf
            if idle and server.stopping:
                return None
            self.idle = idle
            try:
                if idle and server.keepalive_timeout is not None:
                    stream.sock.settimeout(server.keepalive_timeout)
                    try:
                        data = stream.sock.recv(RECV_SIZE)
                    finally:
                        stream.sock.settimeout(server.options.socket_timeout)
                else:
                    data = stream.sock.recv(RECV_SIZE)
            except TimeoutError:
                if idle:
                    stream.failed = True
                    return None
                raise RequestError("timed out waiting for the request", 408) from None
            except OSError:
                stream.failed = True
                return None
            finally:
                self.idle = False
            if not data:
                stream.failed = True
                return None
            buf += data
        end, body = found
        if end > server.limits.max_header_bytes:
            raise head_too_large(buf, server.limits)
        head = buf[:end]
        del buf[:body]
        return head

    def handle_one(self) -> bool:
        """Read and answer one request; True if the connection may serve another."""
        server = self.server
        stream = self.stream
        try:
            data = self._read_head()
            if data is None:
                return False
            head = parse_head(data, server.limits, self.env_base.copy())
        except RequestError as e:
            self.request_line = e.request_line
            self._refuse(e)
            return False
        env, self.request_line, http10, length, chunked, keep_alive, expect_continue = head  # (a Head's fields)
        http10_only = server.http10_only
        self.resp = resp = Response(
            stream,
            env["REQUEST_METHOD"] == "HEAD",
            http10 or http10_only,
            server.keepalive and keep_alive,
            server.head_style,
        )
        inp = None
        if chunked or length:
            inp = env["wsgi.input"] = env["eventlet.input"] = Input(
                stream, resp, length, chunked, expect_continue and not http10_only, server.limits
            )
        log_output = server.log_output
        if log_output:
            started = time.perf_counter()
        try:
            result = server.app(env, resp.start_response)
            if type(result) is list:  # (no close() to call)
                resp.write_list(result)
                resp.finish()
            else:
                try:
                    resp.write_iter(result, server.options.minimum_chunk_size)
                    resp.finish()
                finally:
                    close = getattr(result, "close", None)
                    if close is not None:
                        close()
        except (Exception, Timeout) as e:
            self._app_failed(resp, inp, e)
        resp.done = True  # a write() kept by the application must not reach the next response
        if log_output:
            seconds = time.perf_counter() - started
            sent = 0 if resp.head_only else resp.body_bytes
            forwarded = env.get("HTTP_X_FORWARDED_FOR")
            server.log.access(self.client_ip, self.client_port, self.request_line, resp.code, sent, seconds, forwarded)
        if resp.code == 101:  # the connection went to another protocol: it ends with the application
            self.linger = True
            return False
        if inp is None:
            return resp.keep_alive and not stream.failed
        if not resp.keep_alive or stream.failed or inp.error is not None:
            self.linger = inp.error is not None or not inp.finished
            return False
        if not inp.discard(_DRAIN_LIMIT):
            self.linger = True
            return False
        return True

    def _app_failed(self, resp: Response, inp: Input | None, exc: BaseException) -> None:
        resp.keep_alive = False
        if self.stream.failed:
            return  # the client went away: nobody to answer, nothing to report
        if isinstance(exc, RequestError):
            refusal: RequestError | None = exc
        elif inp is not None:
            refusal = inp.error  # the body was refused, and the application let the error out
        else:
            refusal = None
        if refusal is None:
            self.server.log.exception(exc, f"error in the application for {self.request_line!r}")
        if not resp.headers_sent:
            resp.code = 500 if refusal is None else refusal.status
            resp.body_bytes = 0
            try:
                self.stream.send(error_response(resp.code, "" if refusal is None else str(refusal)))
            except OSError:
                pass

    def _refuse(self, err: RequestError) -> None:
        # Answer a request that never reached the application, and close gently.
        self.linger = True
        if self.stream.failed:
            return
        if self.server.log_output:
            self.server.log.access(self.client_ip, self.client_port, self.request_line, err.status, 0, 0.0)
        try:
            self.stream.send(error_response(err.status, str(err)))
        except OSError:
            pass

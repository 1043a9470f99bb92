"""Websockets (RFC 6455) on `runtime.wsgi.server`, with eventlet's API: ``WebSocketWSGI`` and ``WebSocket``.

    from runtime import websocket, wsgi

    @websocket.WebSocketWSGI
    def echo(ws):
        while (message := ws.wait()) is not None:  # str for text, bytes for binary; None once closed
            ws.send(message)

    wsgi.server(runtime.listen(("127.0.0.1", 7000)), echo)

Spoken: RFC 6455 (``Sec-WebSocket-Version: 13``, and 8, its draft with the same framing): text and
binary messages, fragmented or not, pings answered with pongs, the closing handshake with its codes,
subprotocols (`supported_protocols`) and an `origin_checker`. Not spoken: hixie-76 (the 2010 draft no
browser has used since 2012: such a request gets 426 saying so), and extensions (permessage-deflate is
not negotiated: clients go on without it).

A client that breaks the protocol gets a close frame with the code that says how, and `wait` returns
None: 1002 (unmasked frame, reserved bits, unknown opcode, bad fragmentation or control frame, bad close
code), 1007 (text or close reason not UTF-8), 1009 (a frame or a message larger than
`max_frame_length`, refused from its header, before its payload is read).

The handshake goes through the server (``101 Switching Protocols``); the websocket then reads and
writes ``environ['eventlet.input'].get_socket()``, without the server's `socket_timeout`; when the
handler returns, a close frame (1000) is sent if none was, and the server closes the connection.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import errno
import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from greenlet import GreenletExit

from runtime.green import socket as gsocket
from runtime.semaphore import Semaphore

__all__ = ["DEFAULT_MAX_FRAME_LENGTH", "ProtocolError", "WebSocket", "WebSocketWSGI"]

DEFAULT_MAX_FRAME_LENGTH = 8 << 20
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_VERSIONS = ("13", "8")
_RECV_SIZE = 65536
_CLIENT_GONE = {errno.ECONNRESET, errno.EPIPE, errno.ESHUTDOWN, errno.ENOTCONN}

# opcodes
_CONTINUATION, _TEXT, _BINARY, _CLOSE, _PING, _PONG = 0, 1, 2, 8, 9, 10
_OPCODES = frozenset((_CONTINUATION, _TEXT, _BINARY, _CLOSE, _PING, _PONG))


class ProtocolError(ValueError):
    """The client broke the websocket protocol; `code` is the close code that tells it how."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def _valid_close_code(code: int) -> bool:
    # Codes a close frame may carry (RFC 6455 7.4, and the IANA registry): not 1004-1006, 1015.
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def _unmask(data: bytes | bytearray, mask: bytes | bytearray) -> bytes:
    n = len(data)
    key = (bytes(mask) * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


def parse_frame(buf: bytearray, max_length: int) -> tuple[bool, int, bytes] | None:
    """The first frame a client sent, taken off the front of `buf`: (fin, opcode, unmasked payload);
    None while it is incomplete. Raises `ProtocolError` for a frame a server must refuse."""
    n = len(buf)
    if n < 2:
        return None
    first, second = buf[0], buf[1]
    if first & 0x70:
        raise ProtocolError(1002, "reserved bits set, and no extension was negotiated")
    fin = bool(first & 0x80)
    opcode = first & 0x0F
    if opcode not in _OPCODES:
        raise ProtocolError(1002, f"unknown opcode {opcode}")
    if not second & 0x80:
        raise ProtocolError(1002, "a client's frames must be masked")
    length = second & 0x7F
    start = 2
    if length == 126:
        if n < 4:
            return None
        length = int.from_bytes(buf[2:4], "big")
        start = 4
    elif length == 127:
        if n < 10:
            return None
        length = int.from_bytes(buf[2:10], "big")
        if length >> 63:
            raise ProtocolError(1002, "frame length with its top bit set")
        start = 10
    if opcode >= _CLOSE:
        if not fin:
            raise ProtocolError(1002, "a control frame must not be fragmented")
        if length > 125:
            raise ProtocolError(1002, f"a control frame of {length} bytes (at most 125)")
    if length > max_length:
        raise ProtocolError(1009, f"a frame of {length} bytes, larger than the limit of {max_length}")
    end = start + 4 + length
    if n < end:
        return None
    payload = _unmask(buf[start + 4 : end], buf[start : start + 4]) if length else b""
    del buf[:end]
    return fin, opcode, payload


def _frame(opcode: int, payload: bytes) -> bytes:
    # A server's frame: final, unmasked.
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 127)) + n.to_bytes(8, "big")
    return head + payload


class WebSocket:
    """One websocket connection: `wait` for a message, `send` one, `close`.

    Also, as eventlet's: `path`, `origin`, `protocol` (the subprotocol agreed on, or None), `environ`,
    `version`, `socket`. `send` may be called from several greenthreads at once (one frame at a time);
    `wait` from one at a time.
    """

    def __init__(
        self,
        sock: Any,
        environ: dict[str, Any],
        version: int = 13,
        protocol: str | None = None,
        max_frame_length: int = DEFAULT_MAX_FRAME_LENGTH,
    ) -> None:
        self.socket = sock
        self.environ = environ
        self.path = environ.get("PATH_INFO")
        self.origin = environ.get("HTTP_ORIGIN")
        self.protocol = protocol
        self.version = version
        self.max_frame_length = max_frame_length
        self.websocket_closed = False  # a close frame was sent: nothing more will be
        self._received_close = False
        self._buf = bytearray()
        self._send_lock = Semaphore(1)

    def wait(self) -> str | bytes | None:
        """The next message: str (text) or bytes (binary); None once the connection is closing or gone.
        Pings are answered meanwhile."""
        parts: list[Any] = []
        decoder = None
        size = 0
        started = False
        while not self._received_close:
            try:
                frame = self._next_frame()
            except ProtocolError as e:
                self._fail(e)
                return None
            if frame is None:
                return None
            fin, opcode, payload = frame
            if opcode >= _CLOSE:
                try:
                    self._control(opcode, payload)
                except OSError:  # the pong could not be sent: the client is gone
                    self._received_close = True
                    return None
                continue
            if opcode == _CONTINUATION:
                if not started:
                    self._fail(ProtocolError(1002, "a continuation frame with no message to continue"))
                    return None
            elif started:
                self._fail(ProtocolError(1002, "a new message in the middle of a fragmented one"))
                return None
            else:
                started = True
                decoder = codecs.getincrementaldecoder("utf-8")() if opcode == _TEXT else None
            size += len(payload)
            if size > self.max_frame_length:
                limit = self.max_frame_length
                self._fail(ProtocolError(1009, f"a message larger than the limit of {limit} bytes"))
                return None
            if decoder is not None:
                try:
                    parts.append(decoder.decode(payload, fin))
                except UnicodeDecodeError:
                    self._fail(ProtocolError(1007, "a text message that is not UTF-8"))
                    return None
            else:
                parts.append(payload)
            if fin:
                return "".join(parts) if decoder is not None else b"".join(parts)
        return None

    def _next_frame(self) -> tuple[bool, int, bytes] | None:
        # None when the client's side of the connection ended.
        buf = self._buf
        while True:
            frame = parse_frame(buf, self.max_frame_length)
            if frame is not None:
                return frame
            try:
                data = self.socket.recv(_RECV_SIZE)
            except OSError:
                data = b""
            if not data:
                self._received_close = True
                return None
            buf += data

    def _control(self, opcode: int, payload: bytes) -> None:
        if opcode == _PING:
            self._send(_frame(_PONG, payload))
        elif opcode == _CLOSE:
            self._received_close = True
            if not payload:
                self._send_close(1000, "")
            elif len(payload) == 1:
                self._fail(ProtocolError(1002, "a close frame with a 1-byte payload"))
            elif not _valid_close_code(code := int.from_bytes(payload[:2], "big")):
                self._fail(ProtocolError(1002, f"invalid close code {code}"))
            else:
                try:
                    payload[2:].decode("utf-8")
                except UnicodeDecodeError:
                    self._fail(ProtocolError(1007, "a close reason that is not UTF-8"))
                else:
                    self._send_close(code, "")  # the closing handshake: the code echoed

    def _fail(self, error: ProtocolError) -> None:
        self._received_close = True
        self._send_close(error.code, str(error)[:120])

    def _send(self, frame: bytes) -> None:
        with self._send_lock:
            self.socket.sendall(frame)

    def _send_close(self, code: int, reason: str) -> None:
        if self.websocket_closed:
            return
        self.websocket_closed = True
        try:
            self._send(_frame(_CLOSE, code.to_bytes(2, "big") + reason.encode("utf-8")))
        except OSError:
            pass  # the client is gone: nobody to tell

    def send(self, message: str | bytes | bytearray | memoryview) -> None:
        """Send a message: text for str, binary for bytes. Once the connection is closing it is dropped."""
        if isinstance(message, str):
            frame = _frame(_TEXT, message.encode("utf-8"))
        elif isinstance(message, (bytes, bytearray, memoryview)):
            frame = _frame(_BINARY, bytes(message))
        else:
            raise TypeError(f"a websocket message is str or bytes, not {type(message).__name__}")
        if not self.websocket_closed:
            self._send(frame)

    def close(self, close_data: tuple[int, str] | None = None) -> None:
        """Close: send a close frame (`close_data`: (code, reason), default (1000, "")), and end the
        connection both ways (a `wait` in another greenthread returns None)."""
        code, reason = close_data if close_data is not None else (1000, "")
        self._send_close(code, reason)
        self._received_close = True
        try:
            self.socket.shutdown(gsocket.SHUT_RDWR)
        except OSError:
            pass


def _refuse(
    start_response: Callable[..., Any], status: str, reason: str, headers: Iterable[tuple[str, str]] = ()
) -> list[bytes]:
    body = f"{status}\n{reason}\n".encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close"), *headers])
    return [body]


class WebSocketWSGI:
    """A WSGI application that makes each request a websocket and hands it to ``handler(ws)``.

    `max_frame_length`: the largest frame, and message, a client may send (bytes). Set
    `supported_protocols` (the subprotocols to agree to, in the client's order of preference) and
    `origin_checker` (``f(host, origin) -> bool``; False refuses with 403) as attributes, or through
    `configured`.
    """

    def __init__(self, handler: Callable[[WebSocket], Any], max_frame_length: int = DEFAULT_MAX_FRAME_LENGTH) -> None:
        self.handler = handler
        self.max_frame_length = max_frame_length
        self.supported_protocols: list[str] = []
        self.origin_checker: Callable[[str | None, str | None], bool] | None = None

    @classmethod
    def configured(
        cls,
        handler: Callable[[WebSocket], Any] | None = None,
        supported_protocols: list[str] | None = None,
        origin_checker: Callable[[str | None, str | None], bool] | None = None,
        support_legacy_versions: bool = False,
    ) -> WebSocketWSGI | Callable[[Callable[[WebSocket], Any]], WebSocketWSGI]:
        """eventlet's decorator with settings: ``@WebSocketWSGI.configured(supported_protocols=[...])``."""
        if support_legacy_versions:
            raise ValueError("hixie-76 websockets are not supported (RFC 6455 only)")

        def decorate(handler: Callable[[WebSocket], Any]) -> WebSocketWSGI:
            app = cls(handler)
            app.origin_checker = origin_checker
            app.supported_protocols = list(supported_protocols or [])
            return app

        return decorate if handler is None else decorate(handler)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        connection = {t.strip().lower() for t in environ.get("HTTP_CONNECTION", "").split(",")}
        if "upgrade" not in connection or environ.get("HTTP_UPGRADE", "").lower() != "websocket":
            reason = "a websocket handshake needs Connection: Upgrade and Upgrade: websocket"
            return _refuse(start_response, "400 Bad Request", reason)
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("SERVER_PROTOCOL") != "HTTP/1.1":
            return _refuse(start_response, "400 Bad Request", "a websocket handshake is a GET in HTTP/1.1")
        version = environ.get("HTTP_SEC_WEBSOCKET_VERSION")
        if version not in _VERSIONS:
            reason = "hixie-76 websockets are not supported" if "HTTP_SEC_WEBSOCKET_KEY1" in environ else ""
            reason = reason or f"websocket version {version} is not supported"
            return _refuse(start_response, "426 Upgrade Required", reason, [("Sec-WebSocket-Version", "13, 8")])
        key = environ.get("HTTP_SEC_WEBSOCKET_KEY", "")
        try:
            if len(base64.b64decode(key, validate=True)) != 16:
                raise ValueError(key)
        except (binascii.Error, ValueError):
            return _refuse(start_response, "400 Bad Request", "Sec-WebSocket-Key must be 16 bytes in base64")
        origin = environ.get("HTTP_ORIGIN")
        if self.origin_checker is not None and not self.origin_checker(environ.get("HTTP_HOST"), origin):
            return _refuse(start_response, "403 Forbidden", f"origin {origin!r} not allowed")
        eventlet_input = environ.get("eventlet.input")
        if eventlet_input is None:
            raise RuntimeError("WebSocketWSGI runs on runtime.wsgi.server (no 'eventlet.input' in the environ)")
        offered = [p.strip() for p in environ.get("HTTP_SEC_WEBSOCKET_PROTOCOL", "").split(",")]
        protocol = next((p for p in offered if p and p in self.supported_protocols), None)
        accept = base64.b64encode(hashlib.sha1(key.encode("ascii") + _GUID).digest()).decode("ascii")
        headers = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", accept)]
        if protocol is not None:
            headers.append(("Sec-WebSocket-Protocol", protocol))
        start_response("101 Switching Protocols", headers)(b"")  # the head goes out now
        sock = eventlet_input.get_socket()
        sock.settimeout(None)  # socket_timeout is HTTP's: a websocket may stay quiet
        ws = WebSocket(sock, environ, int(version), protocol, self.max_frame_length)
        try:
            self.handler(ws)
        except BaseException as e:
            if not (isinstance(e, OSError) and e.errno in _CLIENT_GONE):
                going_away = isinstance(e, GreenletExit)  # the server is stopping
                ws._send_close(1001 if going_away else 1011, "the server is going away" if going_away else "")
                raise
        ws._send_close(1000, "")
        return []

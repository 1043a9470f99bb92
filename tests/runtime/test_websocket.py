"""runtime.websocket on runtime.wsgi.server, against real clients on 127.0.0.1.

The well-behaved client is websocket-client, run in OS threads (``tpool``) so the hub keeps serving;
what no well-behaved client sends (unmasked frames, bad opcodes, oversized frames...) comes as raw
frames from a green socket. Each test's server stops when the test closes its listener.
"""

from __future__ import annotations

import base64
import hashlib
import io
import struct
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import websocket as websocket_client  # the websocket-client package

import runtime
from runtime import wsgi
from runtime.websocket import WebSocket, WebSocketWSGI

KEY = base64.b64encode(b"0123456789abcdef").decode()
CLIENT_MASK = b"\x37\xfa\x21\x3d"


class Served:
    """A `wsgi.server` of `app` in a greenthread; `log` is what it wrote."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.listener = runtime.listen(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}"
        self.log = io.StringIO()
        self.thread = runtime.spawn(wsgi.server, self.listener, app, log=self.log)


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[..., Any]], Served]]:
    started: list[Served] = []

    def start(app: Callable[..., Any]) -> Served:
        started.append(Served(app))
        return started[-1]

    yield start
    for served in started:
        served.listener.close()
        served.thread.wait()  # once its connections ended


def echo(ws: WebSocket) -> None:
    while (message := ws.wait()) is not None:
        ws.send(message)


# ---------------------------------------------------------------- raw frames


def client_frame(opcode: int, payload: bytes = b"", fin: bool = True, rsv: int = 0, masked: bool = True) -> bytes:
    """A frame as a client sends it (masked, unless told not to)."""
    first = (0x80 if fin else 0) | rsv << 4 | opcode
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", first, n | (0x80 if masked else 0))
    elif n < 65536:
        head = struct.pack("!BBH", first, 126 | (0x80 if masked else 0), n)
    else:
        head = struct.pack("!BBQ", first, 127 | (0x80 if masked else 0), n)
    if not masked:
        return head + payload
    return head + CLIENT_MASK + bytes(b ^ CLIENT_MASK[i % 4] for i, b in enumerate(payload))


class RawClient:
    """A websocket client on a green socket that sends whatever frames it is given."""

    def __init__(self, port: int, path: str = "/", extra: str = "", version: str = "13") -> None:
        self.sock = runtime.connect(("127.0.0.1", port))
        self.sock.settimeout(10)
        self.file = self.sock.makefile("rb")
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: {version}\r\n{extra}\r\n".encode()
        )
        lines = []
        while (line := self.file.readline()) not in (b"\r\n", b""):
            lines.append(line.decode("latin-1").rstrip("\r\n"))
        self.status_line = lines[0]
        self.headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}

    def send(self, *frames: bytes) -> None:
        self.sock.sendall(b"".join(frames))

    def frame(self) -> tuple[int, bytes] | None:
        """The server's next frame (opcode, payload), None at the end of the connection."""
        head = self.file.read(2)
        if len(head) < 2:
            return None
        assert head[0] & 0x80 and not head[1] & 0x80  # final, unmasked: a server's frames
        n = head[1] & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.file.read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.file.read(8))[0]
        return head[0] & 0x0F, self.file.read(n)

    def close_code(self) -> tuple[int, bytes]:
        """The code and reason of the server's close frame (frames before it are skipped), then the end."""
        while (frame := self.frame()) is not None:
            if frame[0] == 8:
                assert self.frame() is None  # the server ends the connection after its close frame
                return struct.unpack("!H", frame[1][:2])[0], frame[1][2:]
        raise AssertionError("the connection ended without a close frame")

    def close(self) -> None:
        self.file.close()
        self.sock.close()


# ---------------------------------------------------------------- a real client


def test_handshake_messages_ping_and_close_with_websocket_client(serve):
    seen = []

    @WebSocketWSGI.configured(supported_protocols=["superchat"])
    def app(ws: WebSocket) -> None:
        seen.append([ws.path, ws.protocol, ws.version, ws.origin])
        echo(ws)
        seen.append("closed")

    served = serve(app)

    def client() -> dict[str, Any]:
        ws = websocket_client.create_connection(
            served.url + "/echo", timeout=10, subprotocols=["chat", "superchat"], origin="http://example.org"
        )
        got: dict[str, Any] = {"subprotocol": ws.getsubprotocol()}
        messages = ["héllo ✓", "", "x" * 300, "y" * 70000]  # lengths in 7, 16 and 64 bits
        for message in messages:
            ws.send(message)
        got["text"] = [ws.recv() == message for message in messages]
        ws.send_binary(bytes(range(256)))
        got["binary"] = ws.recv() == bytes(range(256))
        ws.ping(b"are you there")
        pong = ws.recv_data_frame(True)[1]
        got["pong"] = [pong.opcode, pong.data.decode()]
        ws.close(status=websocket_client.STATUS_NORMAL)
        got["close"] = ws.status  # the HTTP status of the handshake
        return got

    assert runtime.tpool.execute(client) == {
        "subprotocol": "superchat",
        "text": [True] * 4,
        "binary": True,
        "pong": [10, "are you there"],
        "close": 101,
    }
    assert seen == [["/echo", "superchat", 13, "http://example.org"], "closed"]


def test_the_handshake_goes_through_the_server(serve):
    served = serve(WebSocketWSGI(echo))
    client = RawClient(served.port, "/chat")
    expected = base64.b64encode(hashlib.sha1(KEY.encode() + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    assert client.status_line == "HTTP/1.1 101 Switching Protocols"
    assert client.headers["upgrade"] == "websocket" and client.headers["connection"] == "Upgrade"
    assert client.headers["sec-websocket-accept"] == expected.decode()
    assert "content-length" not in client.headers and "transfer-encoding" not in client.headers
    client.send(client_frame(8, struct.pack("!H", 1000)))
    assert client.close_code() == (1000, b"")
    client.close()
    served.listener.close()
    served.thread.wait()
    assert '"GET /chat HTTP/1.1" 101 0 ' in served.log.getvalue()


UPGRADE = "Upgrade: websocket\r\nConnection: Upgrade\r\n"
RFC6455 = f"{UPGRADE}Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n"
HIXIE76 = "Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\nSec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n"
# (request line, headers, status, words of the reason)
REFUSED_HANDSHAKES = [
    ("GET / HTTP/1.1", "", "400", "Upgrade: websocket"),
    ("GET / HTTP/1.1", "Upgrade: h2c\r\nConnection: Upgrade\r\n", "400", "Upgrade: websocket"),
    ("POST / HTTP/1.1", RFC6455 + "Content-Length: 0\r\n", "400", "GET in HTTP/1.1"),
    ("GET / HTTP/1.0", RFC6455, "400", "GET in HTTP/1.1"),
    ("GET / HTTP/1.1", RFC6455.replace("Version: 13", "Version: 12"), "426", "version 12"),
    ("GET / HTTP/1.1", UPGRADE + HIXIE76, "426", "hixie-76"),
    ("GET / HTTP/1.1", RFC6455.replace(KEY, "c2hvcnQ="), "400", "16 bytes"),
    ("GET / HTTP/1.1", RFC6455 + "Origin: http://evil.example\r\n", "403", "evil.example"),
]


@pytest.mark.parametrize(("request_line", "headers", "status", "reason"), REFUSED_HANDSHAKES)
def test_refused_handshakes_say_why(serve, request_line, headers, status, reason):
    ran = []

    @WebSocketWSGI.configured(origin_checker=lambda host, origin: origin != "http://evil.example")
    def app(ws: WebSocket) -> None:
        ran.append(ws)

    served = serve(app)
    with runtime.connect(("127.0.0.1", served.port)) as sock:
        sock.settimeout(10)
        sock.sendall(f"{request_line}\r\nHost: x\r\n{headers}\r\n".encode())
        response = b""
        while data := sock.recv(65536):
            response += data
    head, _, body = response.decode().partition("\r\n\r\n")
    assert head.split(" ")[1] == status and "Connection: close" in head
    assert reason in body
    if status == "426":
        assert "Sec-Websocket-Version: 13, 8" in head
    assert ran == []


# ---------------------------------------------------------------- frames


def test_fragments_are_joined_and_pings_answered_between_them(serve):
    served = serve(WebSocketWSGI(echo))
    client = RawClient(served.port)
    text = "Hello, wörld".encode()
    split = text.index(b"\xc3") + 1  # a character cut in two between frames
    client.send(
        client_frame(1, text[:5], fin=False),
        client_frame(9, b"p1"),  # a ping in the middle of a message
        client_frame(0, text[5:split], fin=False),
        client_frame(10, b"unasked"),  # a pong nobody asked for: ignored
        client_frame(0, text[split:]),
        client_frame(2, b"\x00\x01", fin=False),
        client_frame(0, b"", fin=False),
        client_frame(0, b"\x02"),
    )
    assert client.frame() == (10, b"p1")
    assert client.frame() == (1, text)
    assert client.frame() == (2, b"\x00\x01\x02")
    client.send(client_frame(8, struct.pack("!H", 4001) + b"bye"))
    assert client.close_code() == (4001, b"")  # the code echoed: the closing handshake
    client.close()


def test_the_handler_returning_closes_with_1000(serve):
    def app(ws: WebSocket) -> None:
        ws.send(b"only this")

    served = serve(WebSocketWSGI(app))
    client = RawClient(served.port)
    assert client.frame() == (2, b"only this")
    assert client.close_code() == (1000, b"")
    client.close()


def test_a_failing_handler_closes_with_1011(serve):
    def app(ws: WebSocket) -> None:
        ws.wait()
        raise RuntimeError("handler broke")

    served = serve(WebSocketWSGI(app))
    client = RawClient(served.port)
    client.send(client_frame(1, b"go"))
    assert client.close_code()[0] == 1011
    client.close()
    served.listener.close()
    served.thread.wait()
    assert "RuntimeError: handler broke" in served.log.getvalue()


# (frames the client sends, the close code the server answers with, words of its reason)
VIOLATIONS = [
    ([client_frame(1, b"plain", masked=False)], 1002, b"masked"),
    ([client_frame(1, b"x", rsv=4)], 1002, b"reserved bits"),
    ([client_frame(3, b"x")], 1002, b"opcode 3"),
    ([client_frame(11, b"x")], 1002, b"opcode 11"),
    ([client_frame(0, b"x")], 1002, b"continuation"),
    ([client_frame(1, b"a", fin=False), client_frame(1, b"b")], 1002, b"new message"),
    ([client_frame(9, b"x", fin=False)], 1002, b"fragmented"),
    ([client_frame(9, b"x" * 126)], 1002, b"126 bytes"),
    ([client_frame(8, b"\x03")], 1002, b"1-byte"),
    ([client_frame(8, struct.pack("!H", 1005))], 1002, b"close code 1005"),
    ([client_frame(8, struct.pack("!H", 999))], 1002, b"close code 999"),
    ([client_frame(8, struct.pack("!H", 5000))], 1002, b"close code 5000"),
    ([client_frame(8, struct.pack("!H", 1000) + b"\xff")], 1007, b"not UTF-8"),
    ([client_frame(1, b"\xff")], 1007, b"not UTF-8"),
    ([client_frame(1, b"caf\xc3")], 1007, b"not UTF-8"),  # a message that ends in the middle of a character
    ([struct.pack("!BBQ", 0x81, 0xFF, 1 << 63)], 1002, b"top bit"),
]


@pytest.mark.parametrize(("frames", "code", "reason"), VIOLATIONS)
def test_protocol_violations_are_closed_with_their_code(serve, frames, code, reason):
    waits = []

    def app(ws: WebSocket) -> None:
        waits.append(ws.wait())

    served = serve(WebSocketWSGI(app))
    client = RawClient(served.port)
    client.send(*frames)
    got_code, got_reason = client.close_code()
    assert (got_code, reason in got_reason) == (code, True), got_reason
    assert waits == [None]
    client.close()


def test_oversized_frames_are_refused_from_their_header(serve):
    def app(ws: WebSocket) -> None:
        echo(ws)

    served = serve(WebSocketWSGI(app, max_frame_length=1000))
    client = RawClient(served.port)
    client.send(client_frame(2, b"z" * 1000))
    assert client.frame() == (2, b"z" * 1000)  # at the limit: fine
    client.send(struct.pack("!BBH", 0x82, 0x80 | 126, 1001) + CLIENT_MASK)  # only the header: no payload follows
    assert client.close_code() == (1009, b"a frame of 1001 bytes, larger than the limit of 1000")
    client.close()
    fragmented = RawClient(served.port)
    fragmented.send(client_frame(2, b"z" * 600, fin=False), client_frame(0, b"z" * 600))
    assert fragmented.close_code() == (1009, b"a message larger than the limit of 1000 bytes")
    fragmented.close()


# ---------------------------------------------------------------- many at once, and stopping


def test_many_clients_at_once(serve):
    clients = 50
    open_now = [0]
    most = [0]
    all_in = runtime.Event()

    def app(ws: WebSocket) -> None:
        open_now[0] += 1
        most[0] = max(most[0], open_now[0])
        if open_now[0] == clients:
            all_in.send()
        all_in.wait()  # nobody is answered before every client is connected: they must all be in flight
        try:
            echo(ws)
        finally:
            open_now[0] -= 1

    served = serve(WebSocketWSGI(app))

    def run_clients() -> list[str]:
        answers: list[str] = []
        errors: list[str] = []

        def one(i: int) -> None:
            try:
                ws = websocket_client.create_connection(served.url, timeout=20)
                ws.send(f"client {i}")
                answers.append(ws.recv())
                ws.close()
            except Exception as e:
                errors.append(repr(e))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return errors or sorted(answers)

    assert runtime.tpool.execute(run_clients) == sorted(f"client {i}" for i in range(clients))
    assert most[0] == clients


def test_stopping_the_server_ends_its_websockets(serve):
    waited = []

    def app(ws: WebSocket) -> None:
        waited.append(ws.wait())  # parked here when the server stops

    served = serve(WebSocketWSGI(app))
    client = RawClient(served.port)
    client.send(client_frame(9, b"ready?"))
    assert client.frame() == (10, b"ready?")  # the handler is in wait()
    served.listener.close()
    assert served.thread.wait() is None  # the server stopped without waiting out its shutdown_timeout
    assert waited == [None]
    assert client.close_code() == (1000, b"")
    client.close()

"""The agent listener, in process, with raw sockets: good streams, bad ones, floods, commands."""

from __future__ import annotations

import logging
import socket
import struct
from collections.abc import Iterator

import pytest

from runtime.trace.codec import COMMAND, END, EVENTS, HELLO, MAGIC, Decoder, encode_frame
from runtime.trace.events import describe
from tests.visualizer.conftest import wait_until
from tests.visualizer.test_sessions import sample
from visualizer.agents import AgentListener
from visualizer.sessions import CRASHED, ENDED, RUNNING, Store


def hello(pid: int = 7) -> bytes:
    return encode_frame(HELLO, {"schema": describe(), "process": {"pid": pid, "argv": ["p.py"], "program": "p.py"}})


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def listener(store: Store) -> Iterator[AgentListener]:
    it = AgentListener(store, max_pending=1 << 16, max_rate=1 << 20, hello_timeout=5)
    yield it
    it.close()


@pytest.fixture
def connect(listener: AgentListener) -> Iterator:
    socks: list[socket.socket] = []

    def make() -> socket.socket:
        host, port = listener.address.rsplit(":", 1)
        sock = socket.create_connection((host, int(port)), timeout=10)
        socks.append(sock)
        return sock

    yield make
    for sock in socks:
        sock.close()


def closed_by_server(sock: socket.socket) -> bool:
    """Reads until the server closes the connection."""
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return True


def test_a_stream_makes_a_session_that_ends(store: Store, connect):
    sock = connect()
    sock.sendall(MAGIC + hello() + encode_frame(EVENTS, sample(10)))
    session = wait_until(lambda: store.all() and store.all()[0].total == 10 and store.all()[0])
    assert session.state == RUNNING and session.pid == 7 and session.to_dict()["program"] == "p.py"
    sock.sendall(encode_frame(EVENTS, sample(5, 10)) + encode_frame(END, {"dropped": 3}))
    wait_until(lambda: session.state == ENDED)
    assert session.events() == sample(15) and session.lost == 3 and session.complete


def test_a_stream_that_breaks_off_is_a_crashed_session(store: Store, connect):
    sock = connect()
    sock.sendall(MAGIC + hello() + encode_frame(EVENTS, sample(4)) + encode_frame(EVENTS, sample(4))[:9])
    wait_until(lambda: store.all() and store.all()[0].total == 4)
    sock.close()
    session = store.all()[0]
    wait_until(lambda: session.state == CRASHED)
    assert "without an end mark" in session.error


@pytest.mark.parametrize(
    ("data", "logged"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "bad magic"),
        (MAGIC + encode_frame(EVENTS, sample(3)), "first frame is not a hello"),
        (MAGIC + struct.pack(">IB", 50, EVENTS) + b"\x00" * 49, "damaged compressed data"),
        (MAGIC + struct.pack(">IB", 0xFFFFFFF, EVENTS), "impossible length"),
        (MAGIC + hello() + hello(), "unexpected hello"),
        (MAGIC + hello() + encode_frame(COMMAND, {"command": "stop"}), "unexpected command"),
        (MAGIC + struct.pack(">IB", 1 << 20, EVENTS) + b"x" * (1 << 17), "a frame larger than"),
    ],
    ids=["garbage", "not-hello-first", "damaged", "impossible-length", "second-hello", "command", "huge-frame"],
)
def test_bad_input_closes_that_connection_only(store: Store, connect, caplog, data: bytes, logged: str):
    caplog.set_level(logging.INFO, "visualizer.agents")
    good = connect()
    good.sendall(MAGIC + hello(1) + encode_frame(EVENTS, sample(3)))
    bad = connect()
    bad.sendall(data)
    assert closed_by_server(bad)
    wait_until(lambda: logged in caplog.text, what=f"{logged!r} in the log")
    good.sendall(encode_frame(EVENTS, sample(3, 3)) + encode_frame(END, {"dropped": 0}))
    session = wait_until(lambda: next((s for s in store.all() if s.pid == 1 and s.state == ENDED), None))
    assert session.events() == sample(6)


def test_a_flood_closes_the_connection(store: Store, connect, caplog):
    sock = connect()
    sock.sendall(MAGIC + hello())
    frame = encode_frame(EVENTS, sample(5000))
    with pytest.raises(OSError):  # it sends until the server hangs up
        for _ in range(100000):
            sock.sendall(frame)
    wait_until(lambda: "bytes in a second" in caplog.text)
    wait_until(lambda: store.all()[0].state == CRASHED)


def test_silence_before_hello_is_a_timeout(store: Store):
    listener = AgentListener(store, hello_timeout=0.2)
    host, port = listener.address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        assert closed_by_server(sock)
    listener.close()
    assert store.all() == []


def test_commands_go_back_to_the_agent(store: Store, connect):
    sock = connect()
    sock.sendall(MAGIC + hello())
    session = wait_until(lambda: store.all() and store.all()[0])
    assert session.agent.send({"command": "stop"}) and session.agent.send({"command": "stop"})
    decoder, frames = Decoder(), []
    while len(frames) < 2:
        frames += decoder.feed(sock.recv(65536))
    assert frames == [(COMMAND, {"command": "stop"})] * 2

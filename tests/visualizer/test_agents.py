"""The agent listener, in process, with raw sockets: good streams, bad ones, slow ones, floods, intruders, commands."""

from __future__ import annotations

import logging
import socket
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from runtime.sinks import parse_address
from runtime.trace.codec import COMMAND, END, EVENTS, HELLO, MAGIC, Decoder, encode_frame
from runtime.trace.events import describe
from tests.support.dashboard import wait_until
from tests.support.events import sample
from visualizer.agents import AgentListener
from visualizer.archive import Archive
from visualizer.sessions import CRASHED, ENDED, RUNNING
from visualizer.store import Store

KEY = "the-agent-key"


def hello(pid: int = 7, auth: str | None = KEY) -> bytes:
    process = {"pid": pid, "argv": ["p.py"], "program": "p.py"}
    return encode_frame(HELLO, {"schema": describe(), "process": process, **({"auth": auth} if auth else {})})


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(archive=Archive(tmp_path / "data"))


def make_listener(store: Store, **kw) -> AgentListener:
    options = {"key": KEY, "max_rate": 1 << 20, "hello_timeout": 5, **kw}
    return AgentListener(store, **options)


@contextmanager
def serving(store: Store, **kw) -> Iterator[tuple[AgentListener, Callable[..., socket.socket]]]:
    """A listener (`make_listener`), and a function connecting to it (or to `address`): all closed after."""
    listener = make_listener(store, **kw)
    socks: list[socket.socket] = []

    def connect(address: str | None = None) -> socket.socket:
        family, addr = parse_address(address or listener.address)
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(10)
        sock.connect(addr)
        socks.append(sock)
        return sock

    try:
        yield listener, connect
    finally:
        for sock in socks:
            sock.close()
        listener.close()


@pytest.fixture
def door(store: Store) -> Iterator[tuple[AgentListener, Callable[..., socket.socket]]]:
    with serving(store) as it:
        yield it


@pytest.fixture
def listener(door: tuple) -> AgentListener:
    return door[0]


@pytest.fixture
def connect(door: tuple) -> Callable[..., socket.socket]:
    return door[1]


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
    assert "auth" not in session.hello  # the secret is not kept, nor shown, nor recorded
    sock.sendall(encode_frame(EVENTS, sample(5, 10)) + encode_frame(END, {"dropped": 3}))
    wait_until(lambda: session.state == ENDED)
    assert session.events() == sample(15) and session.lost == 3 and session.complete
    assert KEY.encode() not in session.path.read_bytes()


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
        (MAGIC + struct.pack(">IB", 64 << 20, EVENTS), "impossible length"),  # refused before it arrives
        (MAGIC + hello() + hello(), "unexpected hello"),
        (MAGIC + hello() + encode_frame(COMMAND, {"command": "stop"}), "unexpected command"),
        (MAGIC + hello(auth=None), "no secret"),
        (MAGIC + hello(auth="a guess"), "no secret"),
    ],
    ids=[
        "garbage",
        "not-hello-first",
        "damaged",
        "impossible-length",
        "huge-frame",
        "second-hello",
        "command",
        "no-secret",
        "wrong-secret",
    ],
)
def test_bad_input_closes_that_connection_only(store: Store, listener, connect, caplog, data: bytes, logged: str):
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
    assert listener.refused >= 1 and all(s.pid == 1 or s.state == CRASHED for s in store.all())


def test_a_flood_closes_the_connection(store: Store, caplog):
    """Deterministic, however fast either side runs: one send of 16 times what the bucket holds."""
    with serving(store, max_rate=64 << 10) as (_, connect):
        sock = connect()
        sock.sendall(MAGIC + hello())
        flood = bytearray()
        while len(flood) < 1 << 20:
            flood += encode_frame(EVENTS, sample(1000, 1000 * len(flood)))
        flood = flood[: 1 << 20]
        try:
            sock.sendall(flood)
        except OSError:  # the server hung up first
            pass
        assert closed_by_server(sock)
        wait_until(lambda: "more than 65536 bytes in a second" in caplog.text)
        wait_until(lambda: store.all()[0].state == CRASHED)


def test_the_whole_handshake_has_a_deadline_however_slowly_it_trickles_in(store: Store):
    """Once: the deadline was per byte, and a connection sending 1 byte a second stayed forever."""
    with serving(store, hello_timeout=0.5) as (_, connect):
        sock = connect()
        data = MAGIC + hello()
        sent = 0
        try:
            while sent < len(data) - 1:  # never the last byte; every byte on time for a per-byte deadline
                sock.sendall(data[sent : sent + 1])
                sent += 1
                time.sleep(0.05)
        except OSError:
            pass
        assert closed_by_server(sock)
    assert sent < len(data) - 1 and store.all() == []  # closed long before the trickle would have ended


def test_silence_after_hello_closes_the_connection(store: Store):
    """Once: after HELLO there was no deadline at all."""
    with serving(store, idle_timeout=0.3) as (_, connect):
        sock = connect()
        sock.sendall(MAGIC + hello())
        assert closed_by_server(sock)
    wait_until(lambda: store.all() and store.all()[0].state == CRASHED)


def test_a_frame_that_never_finishes_closes_the_connection(store: Store, caplog):
    """Once: a declared 64 MiB frame, held open, kept its connection and its memory for a minute and more."""
    with serving(store, frame_timeout=0.3, idle_timeout=30) as (_, connect):
        sock = connect()
        sock.sendall(MAGIC + hello() + encode_frame(EVENTS, sample(100))[:20])
        assert closed_by_server(sock)
    wait_until(lambda: "a frame took longer than 0.3 s" in caplog.text)


def test_a_stream_of_frames_longer_than_the_frame_deadline_is_fine(store: Store):
    """Each frame has the deadline, not the stream: frames cut across reads, for longer than one deadline."""
    with serving(store, frame_timeout=1.0) as (_, connect):
        sock = connect()
        sock.sendall(MAGIC + hello())
        frames = b"".join(encode_frame(EVENTS, sample(10, 10 * i)) for i in range(15))
        started = time.monotonic()
        for i in range(0, len(frames), 97):  # never a whole frame at once: one is always half here
            sock.sendall(frames[i : i + 97])
            time.sleep(0.05)  # a frame takes 2 or 3 pieces: well within its own deadline
        assert time.monotonic() - started > 1.0  # the stream did outlast one deadline
        sock.sendall(encode_frame(END, {"dropped": 0}))
        wait_until(lambda: store.all()[0].state == ENDED)
    assert store.all()[0].events() == sample(150)


def test_a_hello_without_the_launch_secret_cannot_take_a_launched_session(store: Store, connect):
    """Once: a HELLO with the child's pid, sent 1 ms after the launch, took its session over."""
    launched = store.create(source="launched", workload="echo")
    launched.pid, launched.secret = 7, "launch-secret"
    intruder = connect()
    intruder.sendall(MAGIC + hello(7, auth="guess"))
    assert closed_by_server(intruder)
    thief = connect()
    thief.sendall(MAGIC + hello(7))  # the agent key: a session of its own, never the launched one
    stolen = wait_until(lambda: next((s for s in store.all() if s is not launched), None))
    assert stolen.source == "agent" and launched.state != RUNNING
    child = connect()
    child.sendall(MAGIC + hello(7, auth="launch-secret") + encode_frame(EVENTS, sample(3)))
    wait_until(lambda: launched.total == 3)
    again = connect()
    again.sendall(MAGIC + hello(7, auth="launch-secret"))  # its secret again, while it streams: no entry
    assert closed_by_server(again)
    assert len(store.all()) == 2 and launched.state == RUNNING


def test_connections_that_never_say_hello_cannot_keep_launched_programs_out(store: Store):
    """Once: 64 slowloris connections filled every slot; a workload launched meanwhile was lost as a clean end."""
    with serving(store, max_handshakes=4, max_connections=8) as (listener, connect):
        for _ in range(4):
            connect().sendall(MAGIC)
        wait_until(lambda: listener._doors[0].handshaking == 4)
        late = connect()  # the TCP door is full...
        assert closed_by_server(late) and listener.refused == 1
        launched = store.create(source="launched", workload="echo")
        launched.secret = "s"
        child = connect(listener.launch_address)  # ...the launched programs' door is not
        child.sendall(MAGIC + hello(9, auth="s") + encode_frame(EVENTS, sample(5)))
        wait_until(lambda: launched.total == 5)


def test_with_a_token_the_token_opens_the_agent_door_too(store: Store):
    with serving(store, token="tok") as (_, connect):
        sock = connect()
        sock.sendall(MAGIC + hello(auth="tok") + encode_frame(EVENTS, sample(3)) + encode_frame(END, {"dropped": 0}))
        session = wait_until(lambda: store.all() and store.all()[0].state == ENDED and store.all()[0])
    assert session.events() == sample(3) and session.complete  # its stream was taken, whole


def test_commands_go_back_to_the_agent(store: Store, connect):
    sock = connect()
    sock.sendall(MAGIC + hello())
    session = wait_until(lambda: store.all() and store.all()[0])
    assert session.agent.send({"command": "stop"}) and session.agent.send({"command": "stop"})
    decoder, frames = Decoder(), []
    while len(frames) < 2:
        frames += decoder.feed(sock.recv(65536))
    assert frames == [(COMMAND, {"command": "stop"})] * 2

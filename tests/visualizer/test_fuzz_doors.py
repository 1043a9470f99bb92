"""Fuzzing the doors with hypothesis: agent streams (garbage, mutated streams, trickles, half-open
connections, floods) and REST requests of any shape. Whatever comes in, the server stays up, its memory
stays under its budget, and a good session keeps streaming."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from runtime.trace.codec import END, EVENTS, HELLO, MAGIC, encode_frame
from runtime.trace.events import describe
from tests.support.dashboard import page_client, wait_until
from tests.support.events import sample
from tests.support.fuzz import FUZZ
from visualizer.agents import AgentListener
from visualizer.archive import Archive
from visualizer.sessions import ENDED
from visualizer.store import Store

KEY = "key"
BUDGET = 2 << 20


def good_stream(n: int = 30, pid: int = 1) -> bytes:
    process = {"pid": pid, "argv": ["p.py"], "program": "p.py"}
    hello = encode_frame(HELLO, {"schema": describe(), "process": process, "auth": KEY})
    return MAGIC + hello + encode_frame(EVENTS, sample(n)) + encode_frame(END, {"dropped": 0})


@pytest.fixture(scope="module")
def door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentListener]:
    store = Store(window=10_000, archive=Archive(tmp_path_factory.mktemp("data")), budget=BUDGET)
    listener = AgentListener(
        store, key=KEY, max_rate=4 << 20, hello_timeout=0.5, idle_timeout=0.5, frame_timeout=0.5, max_handshakes=16
    )
    yield listener
    listener.close()


def connect(door: AgentListener) -> socket.socket:
    host, port = door.address.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def still_serving(door: AgentListener) -> None:
    """A good agent, now: its session arrives whole and ends."""
    with connect(door) as sock:
        pid = 1_000_000 + len(door.store.all())
        sock.sendall(good_stream(30, pid))
        session = wait_until(
            lambda: next((s for s in door.store.all() if s.pid == pid and s.state == ENDED), None), timeout=10
        )
    assert session.events() == sample(30) and session.complete
    assert door.store.nbytes <= BUDGET


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    """Bytes an agent might send: garbage, or a good stream damaged a few ways."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=2000))
    data = bytearray(good_stream(draw(st.integers(1, 500))))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "cut", "insert", "repeat"]))
        if action == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "cut":
            del data[at:]
            break
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 200))] * draw(st.integers(1, 20))
    return bytes(data)


@FUZZ
@given(streams(), st.sampled_from(["close", "half-open", "left-open"]), st.integers(1, 4096))
def test_any_agent_stream_leaves_the_listener_serving(door: AgentListener, data: bytes, ending: str, piece: int):
    with connect(door) as sock:
        try:
            for start in range(0, len(data), piece):
                sock.sendall(data[start : start + piece])
            if ending == "half-open":
                sock.shutdown(socket.SHUT_WR)
            if ending != "close":  # the server's deadlines close what it will not finish
                sock.settimeout(5)
                while sock.recv(65536):
                    pass
        except OSError:  # the server hung up first
            pass
    still_serving(door)


def test_a_flood_of_connections_leaves_room_for_good_ones(door: AgentListener):
    socks = []
    try:
        for _ in range(100):  # more than the door's slots: the surplus is refused at once
            try:
                socks.append(connect(door))
            except OSError:
                break
        wait_until(lambda: door.refused > 0, what="a refusal")
        for sock in socks:
            sock.close()
        socks = []
        wait_until(lambda: door._doors[0].handshaking == 0, what="the slots freed by the deadline")
        still_serving(door)
    finally:
        for sock in socks:
            sock.close()


ROUTES = [
    ("GET", "/api/workloads"),
    ("GET", "/api/server"),
    ("GET", "/api/sessions"),
    ("POST", "/api/sessions"),
    ("GET", "/api/sessions/{sid}"),
    ("DELETE", "/api/sessions/{sid}"),
    ("GET", "/api/sessions/{sid}/recording"),
    ("GET", "/api/sessions/{sid}/export"),
    ("POST", "/api/recordings"),
    ("GET", "/"),
]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, dict]:
    method, path = draw(st.sampled_from(ROUTES))
    path = path.format(sid=draw(st.sampled_from(["1", "0", "-1", "x" * 300, "%00", "..%2F..%2Fetc"])))
    query = draw(st.sampled_from(["", "?format=chrome", "?format=pdf", "?token=x", "?format=" + "a" * 2000]))
    kw: dict = {"headers": {}}
    body = draw(st.sampled_from(["json", "workload", "bytes", "form", "none"]))
    if body == "json":
        kw["json"] = draw(JSON)
    elif body == "workload":
        kw["json"] = {"workload": draw(st.sampled_from(["pipeline", "echo", "nope"])), "params": draw(JSON)}
    elif body == "bytes":
        kw["data"] = draw(st.binary(max_size=300))
        kw["content_type"] = draw(st.sampled_from(["application/json", "text/plain", "application/octet-stream"]))
    elif body == "form":
        kw["data"] = {"file": (io.BytesIO(draw(st.binary(max_size=200))), "x.gsc")}
    if draw(st.booleans()):
        kw["headers"]["Origin"] = draw(st.sampled_from(["http://localhost", "null", "http://evil.example"]))
    return method, path + query, kw


@FUZZ
@given(requests())
def test_any_request_gets_an_answer_never_a_500(fuzz_app: Flask, request: tuple[str, str, dict]):
    method, path, kw = request
    client = page_client(fuzz_app)
    r = client.open(path, method=method, **kw)
    assert r.status_code < 500, (r.status_code, r.data[:300])
    if r.status_code >= 400 and path.startswith("/api"):
        assert "error" in json.loads(r.data)
    for session in fuzz_app.extensions["greenscope"].store.all():  # what it launched stops at once
        if session.state in ("starting", "running"):
            client.delete(f"/api/sessions/{session.id}")
    assert client.get("/api/workloads").status_code == 200


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    from visualizer.app import create_app

    app = create_app({"data_dir": tmp_path_factory.mktemp("data"), "max_upload": 1 << 16, "max_children": 2})
    app.config["TESTING"] = True
    yield app
    app.extensions["greenscope"].close()

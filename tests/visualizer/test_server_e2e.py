"""End to end: a real `greenscope serve` process, the python-socketio client, real workloads and agents."""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import socketio

from runtime.trace.codec import END, EVENTS, HELLO, MAGIC, encode_frame
from runtime.trace.events import KIND_NAMES, describe
from runtime.trace.states import check
from tests.support.dashboard import Server, alive, wait_until
from tests.support.events import PROCESS, events_of, sample
from tests.support.socketio_client import OrderedClient

FINAL = ("ended", "crashed", "stopped")


class Viewer:
    """A Socket.IO client that acks every batch and rebuilds the events of the session it watches."""

    def __init__(self, url: str, **connect) -> None:
        self.watching: str | None = None
        self.events: list[tuple] = []
        self.dropped = 0
        self.states: dict[str, str] = {}
        self._lock = threading.Lock()
        self.sio = OrderedClient()
        self.sio.on("batch", self._batch)
        self.sio.on("session", self._session)
        self.sio.connect(url, transports=["websocket"], wait_timeout=10, **connect)

    def _batch(self, batch: dict) -> None:
        with self._lock:
            if batch["session"] == self.watching:
                self.events += events_of(batch)
                self.dropped += batch["dropped"]
        try:
            self.sio.emit("ack", {"seq": batch["seq"]})
        except socketio.exceptions.BadNamespaceError:  # it arrived as the viewer was leaving
            pass

    def _session(self, session: dict) -> None:
        self.states[session["id"]] = session["state"]

    def watch(self, sid: str) -> None:
        """Watch session `sid` (only), from its first event."""
        with self._lock:
            self.watching, self.events, self.dropped = sid, [], 0
        assert "session" in self.sio.call("subscribe", {"session": sid}, timeout=10)

    def close(self) -> None:
        self.sio.disconnect()


@pytest.fixture(scope="module")
def viewer(server: Server) -> Iterator[Viewer]:  # one for the module: a disconnect takes a while
    it = Viewer(server.url)
    yield it
    it.close()


WORKLOADS = {
    "crawler": {"pages": 30, "delay": 0.005},
    "webcrawler": {"urls": 10, "delay": 0.01},
    "echo": {"clients": 5, "lines": 10, "pause": 0.001},
    "pile": {"urls": 10, "delay": 0.01},
    "pipeline": {"items": 20, "produce": 0.002, "work": 0.004},
    "saturation": {"duration": 0.5},
    "blocker": {"stalls": 1, "block": 0.2, "every": 0.05},
}


@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_each_workload_streams_true_events(server: Server, viewer: Viewer, workload: str):
    session = server.launch(workload, **WORKLOADS[workload])
    viewer.watch(session["id"])
    done = wait_until(
        lambda: (s := server.get(f"api/sessions/{session['id']}").json())["state"] in FINAL and s["complete"] and s
    )
    assert done["state"] == "ended", done
    wait_until(lambda: len(viewer.events) == done["events"], what="every event at the viewer")
    assert viewer.dropped == 0 and done["lost"] == 0
    assert {"spawn", "switch", "exit"} <= {KIND_NAMES[e[0]] for e in viewer.events}
    assert check(viewer.events) == []
    wait_until(lambda: viewer.states.get(session["id"]) == "ended", what="the state pushed")
    assert not alive(done["pid"])


def test_stopping_a_running_workload(server: Server, viewer: Viewer):
    session = server.launch("saturation", duration=120.0)
    viewer.watch(session["id"])
    wait_until(lambda: viewer.events, what="events")
    r = server.http.delete(server.base + f"api/sessions/{session['id']}", timeout=10)
    assert r.status_code == 200 and r.json()["state"] == "stopped"
    # it took its stop and unwound (SIGTERM's status, its recording whole): never the SIGKILL at the deadline
    assert (r.json()["exit_code"], r.json()["complete"]) == (128 + signal.SIGTERM, True)
    assert not alive(session["pid"])
    wait_until(lambda: viewer.states.get(session["id"]) == "stopped")


def test_bad_requests_name_the_field(server: Server):
    r = server.http.post(server.base + "api/sessions", json={"workload": "echo", "params": {"lines": 1e9}}, timeout=10)
    assert r.status_code == 400 and r.json()["field"] == "params.lines"
    r = server.http.post(server.base + "api/recordings", data=b"\x00" * 100, timeout=10)
    assert r.status_code == 400 and "bad magic" in r.json()["error"]


def test_socketio_accepts_the_same_origin_only(server: Server):
    with pytest.raises(socketio.exceptions.ConnectionError):
        Viewer(server.url, headers={"Origin": "http://evil.example"})


def test_the_websocket_goes_uncompressed(server: Server):
    """The browser offers permessage-deflate; the dashboard declines: zlib over every batch (level 6, ~0.7 µs an
    event) was half the server's work streaming a 10M-event recording to the page, for a loopback connection."""
    host_port = server.base.split("//", 1)[1].rstrip("/")
    request = (
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
        f"Host: {host_port}\r\nOrigin: http://{host_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
    )
    host, port = host_port.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096) or b"\r\n\r\n"
    status, *headers = head.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
    assert status.startswith("HTTP/1.1 101")
    assert not [h for h in headers if h.lower().startswith("sec-websocket-extensions")]


def test_fuzzed_agent_connections_leave_the_server_serving(server: Server):
    host, port = server.agent.rsplit(":", 1)
    rng = random.Random(6)
    frame = encode_frame(2, sample(50))
    payloads = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 5000))) for _ in range(10)] + [
        MAGIC + bytes(rng.randrange(256) for _ in range(2000)),
        MAGIC + frame[: len(frame) // 2],
    ]
    for payload in payloads:
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(payload)
    before = len(server.get("api/sessions").json())
    session = server.launch("pipeline", items=5, produce=0.002, work=0.004)
    wait_until(lambda: server.get(f"api/sessions/{session['id']}").json()["state"] == "ended")
    assert len(server.get("api/sessions").json()) == before + 1  # garbage made no session


def test_greenscope_run_streams_a_program_to_the_running_dashboard(server: Server, tmp_path: Path):
    program = tmp_path / "prog.py"
    program.write_text(
        textwrap.dedent(
            """
            import runtime as eventlet
            pool = eventlet.GreenPool(3)
            print(sum(pool.imap(lambda n: eventlet.sleep(0.001) or n, range(10))))
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "visualizer", "run", "--port", str(server.port), "--no-open", str(program)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "45" and "?pid=" in result.stderr
    session = wait_until(
        lambda: next(
            (s for s in server.get("api/sessions").json() if s["program"] == "prog.py" and s["complete"]), None
        )
    )
    assert session["source"] == "agent" and session["state"] == "ended"


def test_greenscope_run_never_talks_to_whatever_answers_on_the_port(tmp_path: Path):
    """Once: `greenscope run` sent the program's HELLO (its argv) and the token to whatever answered on the port."""
    program = tmp_path / "prog.py"
    program.write_text("print('ran')\n")
    with socket.create_server(("127.0.0.1", 0)) as impostor:
        impostor.settimeout(0.1)
        port = impostor.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "visualizer", "run", "--port", str(port), "--no-open", str(program), "--secret-arg"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        with pytest.raises(TimeoutError):  # nobody connected to it, and nothing was sent
            impostor.accept()
    assert result.returncode == 2 and f"no dashboard of yours serves on port {port}, and none" in result.stderr
    assert "ran" not in result.stdout


def test_another_host_needs_the_token(token_server: Server):
    token = token_server.url.split("?token=")[1]
    assert token_server.get("api/sessions").status_code == 401
    assert token_server.get("api/sessions", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with pytest.raises(socketio.exceptions.ConnectionError):
        Viewer(token_server.base)
    with pytest.raises(socketio.exceptions.ConnectionError):
        Viewer(token_server.base, auth={"token": token})  # the handshake itself needs it (header or cookie)
    viewer = Viewer(token_server.base, headers={"Authorization": f"Bearer {token}"})
    assert viewer.sio.connected
    viewer.close()


def test_stopping_the_server_stops_its_workloads(tmp_path: Path):
    server = Server(log=tmp_path / "serve.log")
    try:
        session = server.launch("saturation", duration=120.0)
        wait_until(lambda: server.get(f"api/sessions/{session['id']}").json()["state"] == "running")
    finally:
        server.close()  # SIGTERM
    assert server.proc.returncode == 0
    assert not alive(session["pid"])


def test_serve_launches_a_demo_and_refuses_an_unknown_one(tmp_path: Path):
    server = Server("--demo", "pipeline", "items=5", "produce=0.002", "work=0.004", log=tmp_path / "serve.log")
    try:
        [session] = server.get("api/sessions").json()
        assert session["workload"] == "pipeline"
        wait_until(lambda: server.get(f"api/sessions/{session['id']}").json()["state"] in FINAL, what="the demo's end")
    finally:
        server.close()
    bad = subprocess.run(
        [sys.executable, "-m", "visualizer", "serve", "--port", "0", "--demo", "nope"], capture_output=True, text=True
    )
    assert bad.returncode == 2
    assert "--demo" in bad.stderr and "no such workload 'nope'" in bad.stderr


def test_serve_refuses_a_data_directory_it_cannot_use_in_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "visualizer", "serve", "--port", "0", "--data-dir", "/dev/null/sessions"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "cannot keep sessions in /dev/null/sessions" in result.stderr


def test_replies_never_land_inside_a_batch(server: Server, viewer: Viewer):
    """Batches of 100k events (a header, then a binary attachment of megabytes: more than one send on a socket
    with a timeout) stream while the same client's requests are answered from other threads: every batch
    arrives whole, every event in order."""
    events = sample(200_000)
    data = MAGIC + encode_frame(HELLO, {"schema": describe(), "process": PROCESS}) + encode_frame(EVENTS, events)
    r = server.http.post(server.base + "api/recordings", data=data + encode_frame(END, {"dropped": 0}), timeout=30)
    sid = r.json()["id"]
    replies = 0
    viewer.watch(sid)
    while len(viewer.events) < len(events) and replies < 20_000:
        assert "error" in viewer.sio.call("subscribe", {"session": "none"}, timeout=10)
        replies += 1
    wait_until(lambda: len(viewer.events) == len(events), what="every event at the viewer")
    assert viewer.events == events and replies > 0

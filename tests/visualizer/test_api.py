"""The REST API with Flask's test client: workloads, sessions (real child processes), recordings, errors."""

from __future__ import annotations

import io
import json
import struct
import zlib

import pytest
from flask import Flask

import runtime
from runtime.trace.analysis import analyse
from runtime.trace.codec import END, EVENTS, HELLO, MAGIC, encode_frame, read_recording
from runtime.trace.events import HUB_WAKE, SWITCH, describe
from runtime.trace.recorder import Recorder
from runtime.trace.states import check
from tests.support.dashboard import alive, page_client, wait_until
from tests.support.events import PROCESS, sample

FINAL = ("ended", "crashed", "stopped")


def finished(client, sid: str) -> dict:
    return wait_until(
        lambda: (s := client.get(f"/api/sessions/{sid}").json)["state"] in FINAL and s, what=f"session {sid} to end"
    )


def recording_bytes(n: int = 50, complete: bool = True) -> bytes:
    end = encode_frame(END, {"dropped": 0}) if complete else b""
    return (
        MAGIC + encode_frame(HELLO, {"schema": describe(), "process": PROCESS}) + encode_frame(EVENTS, sample(n)) + end
    )


def test_workloads_list_their_parameters(app: Flask):
    workloads = {w["name"]: w for w in app.test_client().get("/api/workloads").json}
    pages = next(p for p in workloads["crawler"]["params"] if p["name"] == "pages")
    assert pages["type"] == "int" and pages["min"] == 1 and pages["default"] == 200 and pages["description"]


def test_launch_run_record_and_export_a_workload(app: Flask):
    client = page_client(app)
    params = {"items": 20, "maxsize": 2, "produce": 0.002, "work": 0.004}
    r = client.post("/api/sessions", json={"workload": "pipeline", "params": params})
    assert r.status_code == 201
    assert r.json["state"] == "starting" and r.json["workload"] == "pipeline" and r.json["params"]["items"] == 20
    session = finished(client, r.json["id"])
    assert session["state"] == "ended" and session["exit_code"] == 0 and session["program"] == "pipeline.py"
    assert session["complete"] and session["error"] is None and not alive(session["pid"])
    assert session in client.get("/api/sessions").json
    process, events, complete = read_recording(client.get(f"/api/sessions/{session['id']}/recording").data)
    assert complete and process["pid"] == session["pid"] and len(events) == session["events"]
    assert check(events) == []
    r = client.get(f"/api/sessions/{session['id']}/export?format=chrome")
    assert r.status_code == 200 and r.headers["Content-Disposition"].endswith('.json"')
    assert {"X", "C"} <= {e["ph"] for e in json.loads(r.data)["traceEvents"]}


def test_deleting_a_running_session_stops_it_and_an_ended_one_removes_it(app: Flask):
    client = page_client(app)
    sid = client.post("/api/sessions", json={"workload": "saturation", "params": {"duration": 60.0}}).json["id"]
    pid = wait_until(lambda: (s := client.get(f"/api/sessions/{sid}").json)["state"] == "running" and s["pid"])
    r = client.delete(f"/api/sessions/{sid}")
    assert r.status_code == 200 and r.json["state"] == "stopped"
    assert not alive(pid)
    data = app.extensions["greenscope"].config["data_dir"]
    assert (data / f"{sid}.gsc").exists()
    r = client.delete(f"/api/sessions/{sid}")
    assert r.status_code == 200 and r.json == {"id": sid, "deleted": True}
    assert client.get(f"/api/sessions/{sid}").status_code == 404 and list(data.iterdir()) == []


def test_stopping_a_child_that_has_not_connected_yet(app: Flask):
    client = page_client(app)
    session = client.post("/api/sessions", json={"workload": "echo"}).json
    assert client.delete(f"/api/sessions/{session['id']}").json["state"] == "stopped"
    assert not alive(session["pid"])


def test_a_workload_runs_on_when_its_dashboard_is_gone(app: Flask, tmp_path):
    app.extensions["greenscope"].launcher.agent_address = str(tmp_path / "nobody.sock")
    client = page_client(app)
    params = {"items": 5, "produce": 0.002, "work": 0.004}
    sid = client.post("/api/sessions", json={"workload": "pipeline", "params": params}).json["id"]
    session = finished(client, sid)
    assert session["state"] == "ended" and session["events"] == 0


def test_a_workload_that_blocks_its_hub_shows_as_stalled(app: Flask):
    client = page_client(app)
    params = {"stalls": 1, "block": 30.0, "every": 0.05}
    sid = client.post("/api/sessions", json={"workload": "blocker", "params": params}).json["id"]
    wait_until(lambda: client.get(f"/api/sessions/{sid}").json["stalled"], what="the stall")
    assert client.delete(f"/api/sessions/{sid}").json["state"] == "stopped"


def test_at_most_max_children_workloads_run_at_once(make_app):
    client = page_client(make_app(max_children=1))
    first = client.post("/api/sessions", json={"workload": "saturation", "params": {"duration": 60.0}})
    r = client.post("/api/sessions", json={"workload": "echo"})
    assert r.status_code == 429 and r.json["field"] == "workload"
    client.delete(f"/api/sessions/{first.json['id']}")
    assert client.post("/api/sessions", json={"workload": "pipeline", "params": {"items": 1}}).status_code == 201


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"workload": "nope"}, "workload", "no such workload"),
        ({"workload": ["echo"]}, "workload", "no such workload"),
        ({"workload": "echo", "params": {"clients": "many"}}, "params.clients", "must be an integer"),
        ({"workload": "echo", "params": {"clients": 0}}, "params.clients", "between 1 and 2000"),
        ({"workload": "echo", "params": {"command": "rm -rf /"}}, "params.command", "unknown parameter"),
        ({"workload": "echo", "params": "x"}, "params", "must be an object"),
        ({"workload": "crawler", "params": {"target": "http://example.com/"}}, "params.target", "external"),
        ("not an object", "body", "must be a JSON object"),
    ],
)
def test_bad_launch_requests_get_400_naming_the_field(app: Flask, body, field, message):
    r = page_client(app).post("/api/sessions", json=body)
    assert r.status_code == 400
    assert r.json["field"] == field and message in r.json["error"]
    assert app.extensions["greenscope"].store.all() == []


def test_a_huge_json_body_is_refused_before_it_is_read(app: Flask):
    """Once: a 100 MB JSON array of {} peaked at 2.5 GB before its 400."""
    r = page_client(app).post("/api/sessions", data=b"[" + b"{}," * 5_000_000 + b"{}]", content_type="application/json")
    assert r.status_code == 413 and r.json["field"] == "body"


def test_deeply_nested_json_is_a_400_not_a_500(app: Flask):
    """Once: JSON nested ~1000 deep answered 500 (RecursionError)."""
    client = page_client(app)
    for depth in (100, 30_000):
        r = client.post("/api/sessions", data="[" * depth + "]" * depth, content_type="application/json")
        assert r.status_code == 400 and r.json["field"] == "body" and "nested" in r.json["error"]


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:1/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://127.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://localhost/",
        "http://0.0.0.0/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/",
        "http://[::1]/",
        "http://[fe80::1]/",
    ],
)
def test_external_crawl_refuses_addresses_that_are_not_external(make_app, target: str):
    """Once: with --allow-external-crawl, every spelling of loopback, and the cloud metadata address, was reachable."""
    r = page_client(make_app(allow_external_crawl=True)).post(
        "/api/sessions", json={"workload": "crawler", "params": {"target": target}}
    )
    assert r.status_code == 400 and r.json["field"] == "params.target" and "not an external address" in r.json["error"]


def test_external_crawl_of_a_public_address_when_allowed(make_app):
    client = page_client(make_app(allow_external_crawl=True))
    r = client.post("/api/sessions", json={"workload": "crawler", "params": {"target": "http://192.88.99.1:9/"}})
    assert r.status_code == 201 and r.json["params"]["target"] == "http://192.88.99.1:9/"
    assert client.delete(f"/api/sessions/{r.json['id']}").status_code == 200


def test_the_server_says_what_it_holds_and_what_it_refused(make_app):
    app = make_app(memory_budget=1 << 20)
    client = page_client(app)
    client.post("/api/recordings", data=recording_bytes(30))
    state = client.get("/api/server").json
    assert state["memory"]["budget"] == 1 << 20 and 0 < state["memory"]["used"] <= 1 << 20
    assert state["sessions"] == 1 and state["refused"] == 0
    assert state["agent"] == app.extensions["greenscope"].listener.address


def test_unknown_things_are_404_in_json(app: Flask):
    client = page_client(app)
    for r in (client.get("/api/sessions/99"), client.delete("/api/sessions/99"), client.get("/api/nothing")):
        assert r.status_code == 404 and r.json["error"]
    assert client.put("/api/workloads").status_code == 405


def test_export_formats_and_limits(make_app):
    client = page_client(make_app(max_export=40))
    sid = client.post("/api/recordings", data=recording_bytes(30)).json["id"]
    r = client.get(f"/api/sessions/{sid}/export?format=pdf")
    assert r.status_code == 400 and r.json["field"] == "format"
    assert client.get(f"/api/sessions/{sid}/export").status_code == 200
    sid = client.post("/api/recordings", data=recording_bytes(50)).json["id"]
    r = client.get(f"/api/sessions/{sid}/export")
    assert r.status_code == 413 and "exports 40 at most" in r.json["error"]


def test_upload_a_recording_as_a_session(app: Flask):
    client = page_client(app)
    r = client.post("/api/recordings", data=recording_bytes(complete=False))
    assert r.status_code == 201
    assert r.json["source"] == "recording" and r.json["state"] == "crashed" and r.json["events"] == 50
    r = client.post("/api/recordings", data={"file": (io.BytesIO(recording_bytes()), "t.gsc")})
    assert r.status_code == 201 and r.json["state"] == "ended"
    assert read_recording(client.get(f"/api/sessions/{r.json['id']}/recording").data)[1] == sample(50)


def _bomb(n: int) -> bytes:
    head = json.dumps({"n": n, "columns": [[HUB_WAKE, 0, "i", 8 * n], [HUB_WAKE, 1, "i", 8 * n]]}).encode()
    body = zlib.compress(struct.pack(">I", len(head)) + head + bytes([HUB_WAKE]) * n + bytes(16 * n), 9)
    return struct.pack(">IB", len(body) + 1, EVENTS) + body


def _crafted() -> bytes:
    head = json.dumps({"n": 1, "columns": [[2, 0, "i", 8], [2, 1, "j", 7], [2, 2, "i", 8]]}).encode()
    body = zlib.compress(struct.pack(">I", len(head)) + head + b"\x02" + bytes(8) + b'[["a"]]' + bytes(8))
    return struct.pack(">IB", len(body) + 1, EVENTS) + body


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "no recording"),
        (b"PK\x03\x04 a zip file", "bad magic"),
        (recording_bytes()[:-5], "truncated"),
        (recording_bytes()[:8], "holds no frame"),
        (recording_bytes(complete=False) + _bomb(15_000_000), "expands past"),  # once: 1.8 GB for 47 s
        (recording_bytes(complete=False) + _crafted(), "switch field from"),  # once: a 500 at export
    ],
    ids=["empty", "zip", "truncated", "magic-only", "bomb", "crafted-types"],
)
def test_bad_uploads_get_400_with_the_reason(app: Flask, data: bytes, message: str):
    r = page_client(app).post("/api/recordings", data=data)
    assert r.status_code == 400 and message in r.json["error"] and r.json["field"] == "file"
    assert app.extensions["greenscope"].store.all() == []
    assert list(app.extensions["greenscope"].config["data_dir"].iterdir()) == []  # nothing kept


def test_uploads_are_size_limited(make_app):
    data = recording_bytes(2000)
    r = page_client(make_app(max_upload=len(data) - 1)).post("/api/recordings", data=data)
    assert r.status_code == 413 and r.json["error"]


def test_uploads_hold_a_bounded_number_of_events(make_app):
    r = page_client(make_app(max_recording_events=1000)).post("/api/recordings", data=recording_bytes(2000))
    assert r.status_code == 400 and "more than 1000 events" in r.json["error"]


def test_sessions_are_listed_again_after_a_restart(make_app, tmp_path):
    first = make_app(data_dir=tmp_path / "kept")
    client = page_client(first)
    sid = client.post("/api/recordings", data=recording_bytes(30)).json["id"]
    first.extensions["greenscope"].close()
    again = page_client(make_app(data_dir=tmp_path / "kept"))
    [session] = again.get("/api/sessions").json
    assert session["id"] == sid and session["state"] == "ended" and session["events"] == 30
    assert read_recording(again.get(f"/api/sessions/{sid}/recording").data)[1] == sample(30)


def test_a_host_other_than_loopback_needs_a_token(make_app):
    with pytest.raises(ValueError, match="needs a token"):
        make_app(host="0.0.0.0")
    with pytest.raises(ValueError, match="unknown dashboard settings"):
        make_app(colour="green")


def test_the_overview_counts_the_events_of_the_whole_recording_over_time(app: Flask):
    """Uploaded: a recording of two bursts 2**60 ns into its program's run, 3 s apart (a frame each)."""
    burst = lambda at, n: [(SWITCH, 2**60 + at + i, 0, 1) for i in range(n)]  # noqa: E731
    frames = [encode_frame(HELLO, {"schema": describe(), "process": PROCESS})]
    frames += [encode_frame(EVENTS, burst(0, 300)), encode_frame(EVENTS, burst(3 * 10**9, 100)), encode_frame(END, {})]
    client = page_client(app)
    sid = client.post("/api/recordings", data=MAGIC + b"".join(frames)).json["id"]
    got = client.get(f"/api/sessions/{sid}/overview?buckets=4").json
    assert got == {"span": 3 * 10**9 + 99, "counts": [300, 0, 0, 100], "events": 400}
    assert round(sum(client.get(f"/api/sessions/{sid}/overview").json["counts"])) == 400  # 1000 buckets
    for query in ("buckets=0", "buckets=10001", "buckets=x"):
        r = client.get(f"/api/sessions/{sid}/overview?{query}")
        assert r.status_code == 400 and r.json["field"] == "buckets"
    assert client.get("/api/sessions/999/overview").status_code == 404


def test_the_analysis_counts_time_from_the_sessions_first_event(app: Flask):
    """A program whose clock reads 2**60 ns (past a float64's exact integers): the report's moments, and the
    range asked for, are ns since the session's first event: the same report as of the events moved to 0."""
    rec = Recorder().install()
    try:
        pool = runtime.GreenPool(1, name="servers")
        for _ in range(3):
            pool.spawn(runtime.sleep, 0.01)
        pool.waitall()
    finally:
        rec.uninstall()
    events = rec.take()
    first = events[0][1]
    late = [(kind, ts - first + 2**60, *rest) for kind, ts, *rest in events]
    moved = [(kind, ts - first, *rest) for kind, ts, *rest in events]
    client = page_client(app)
    data = MAGIC + encode_frame(HELLO, {"schema": describe(), "process": PROCESS}) + encode_frame(EVENTS, late)
    sid = client.post("/api/recordings", data=data + encode_frame(END, {"dropped": 0})).json["id"]
    assert client.get(f"/api/sessions/{sid}").json["origin"] == str(2**60)
    report = client.get(f"/api/sessions/{sid}/analysis").json
    assert report == json.loads(json.dumps(analyse(moved)))
    assert report["findings"][0]["kind"] == "pool" and report["findings"][0]["at"] < 10**9
    start, stop = moved[len(moved) // 3][1], moved[2 * len(moved) // 3][1]
    ranged = client.get(f"/api/sessions/{sid}/analysis?start={start}&stop={stop}").json
    assert ranged == json.loads(json.dumps(analyse(moved, start, stop))) and ranged["span"] == [start, stop]
    for query, field in (("start=5&stop=4", "stop"), ("start=-1", "start"), ("sort=size", "sort")):
        r = client.get(f"/api/sessions/{sid}/analysis?{query}")
        assert r.status_code == 400 and r.json["field"] == field

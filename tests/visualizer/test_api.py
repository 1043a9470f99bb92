"""The REST API with Flask's test client: workloads, sessions (real child processes), recordings, errors, token."""

from __future__ import annotations

import io
import json

import pytest
from flask import Flask

from runtime.trace.codec import read_recording
from runtime.trace.states import check
from tests.visualizer.conftest import alive, wait_until
from tests.visualizer.test_sessions import PROCESS, sample
from visualizer.sessions import Store

FINAL = ("ended", "crashed", "stopped")


def finished(client, sid: str) -> dict:
    return wait_until(
        lambda: (s := client.get(f"/api/sessions/{sid}").json)["state"] in FINAL and s, what=f"session {sid} to end"
    )


def recording_bytes(n: int = 50, complete: bool = True) -> bytes:
    session = Store().create(source="agent")
    session.hello = {"schema": {"version": 1, "kinds": {}}, "process": PROCESS}
    session.append(sample(n))
    session.complete = complete
    return b"".join(session.frames())


def test_workloads_list_their_parameters(app: Flask):
    workloads = {w["name"]: w for w in app.test_client().get("/api/workloads").json}
    pages = next(p for p in workloads["crawler"]["params"] if p["name"] == "pages")
    assert pages["type"] == "int" and pages["min"] == 1 and pages["default"] == 200 and pages["description"]


def test_launch_run_record_and_export_a_workload(app: Flask):
    client = app.test_client()
    r = client.post("/api/sessions", json={"workload": "pipeline", "params": {"items": 20, "maxsize": 2}})
    assert r.status_code == 201
    assert r.json["state"] == "starting" and r.json["workload"] == "pipeline" and r.json["params"]["items"] == 20
    session = finished(client, r.json["id"])
    assert session["state"] == "ended" and session["exit_code"] == 0 and session["program"] == "pipeline.py"
    assert not alive(session["pid"])
    assert session in client.get("/api/sessions").json
    wait_until(lambda: client.get(f"/api/sessions/{session['id']}").json["complete"])
    process, events, complete = read_recording(client.get(f"/api/sessions/{session['id']}/recording").data)
    assert complete and process["pid"] == session["pid"] and len(events) == session["events"]
    assert check(events) == []
    r = client.get(f"/api/sessions/{session['id']}/export?format=chrome")
    assert r.status_code == 200 and r.headers["Content-Disposition"].endswith('.json"')
    assert {"X", "C"} <= {e["ph"] for e in json.loads(r.data)["traceEvents"]}


def test_stopping_a_session_ends_its_child_within_two_seconds(app: Flask):
    client = app.test_client()
    sid = client.post("/api/sessions", json={"workload": "saturation", "params": {"duration": 60.0}}).json["id"]
    pid = wait_until(lambda: (s := client.get(f"/api/sessions/{sid}").json)["state"] == "running" and s["pid"])
    r = client.delete(f"/api/sessions/{sid}")
    assert r.status_code == 200 and r.json["state"] == "stopped"
    assert not alive(pid)


def test_stopping_a_child_that_has_not_connected_yet(app: Flask):
    client = app.test_client()
    session = client.post("/api/sessions", json={"workload": "echo"}).json
    assert client.delete(f"/api/sessions/{session['id']}").json["state"] == "stopped"
    assert not alive(session["pid"])


def test_a_workload_runs_on_when_its_dashboard_is_gone(app: Flask):
    app.extensions["greenscope"].launcher.agent_address = "127.0.0.1:1"  # nobody listens there
    client = app.test_client()
    sid = client.post("/api/sessions", json={"workload": "pipeline", "params": {"items": 5}}).json["id"]
    session = finished(client, sid)
    assert session["state"] == "ended" and session["events"] == 0


def test_a_workload_that_blocks_its_hub_shows_as_stalled(app: Flask):
    client = app.test_client()
    params = {"stalls": 1, "block": 30.0, "every": 0.05}
    sid = client.post("/api/sessions", json={"workload": "blocker", "params": params}).json["id"]
    wait_until(lambda: client.get(f"/api/sessions/{sid}").json["stalled"], what="the stall")
    assert client.delete(f"/api/sessions/{sid}").json["state"] == "stopped"


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
    r = app.test_client().post("/api/sessions", json=body)
    assert r.status_code == 400
    assert r.json["field"] == field and message in r.json["error"]
    assert app.extensions["greenscope"].store.all() == []


def test_external_crawl_when_allowed(make_app):
    client = make_app(allow_external_crawl=True).test_client()
    r = client.post("/api/sessions", json={"workload": "crawler", "params": {"target": "http://127.0.0.1:1/"}})
    assert r.status_code == 201 and r.json["params"]["target"] == "http://127.0.0.1:1/"
    session = finished(client, r.json["id"])  # nothing there: urlopen fails
    assert session["state"] == "crashed" and session["exit_code"] == 1 and "Connection refused" in session["error"]


def test_unknown_things_are_404_in_json(app: Flask):
    client = app.test_client()
    for r in (client.get("/api/sessions/99"), client.delete("/api/sessions/99"), client.get("/api/nothing")):
        assert r.status_code == 404 and r.json["error"]
    assert client.put("/api/workloads").status_code == 405


def test_export_formats(app: Flask):
    client = app.test_client()
    sid = client.post("/api/recordings", data=recording_bytes()).json["id"]
    r = client.get(f"/api/sessions/{sid}/export?format=pdf")
    assert r.status_code == 400 and r.json["field"] == "format"


def test_upload_a_recording_as_a_session(app: Flask):
    client = app.test_client()
    r = client.post("/api/recordings", data=recording_bytes(complete=False))
    assert r.status_code == 201
    assert r.json["source"] == "recording" and r.json["state"] == "crashed" and r.json["events"] == 50
    r = client.post("/api/recordings", data={"file": (io.BytesIO(recording_bytes()), "t.gsc")})
    assert r.status_code == 201 and r.json["state"] == "ended"
    assert read_recording(client.get(f"/api/sessions/{r.json['id']}/recording").data)[1] == sample(50)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "no recording"),
        (b"PK\x03\x04 a zip file", "bad magic"),
        (recording_bytes()[:-5], "truncated"),
        (recording_bytes()[:8], "holds no frame"),
    ],
)
def test_bad_uploads_get_400_with_the_reason(app: Flask, data: bytes, message: str):
    r = app.test_client().post("/api/recordings", data=data)
    assert r.status_code == 400 and message in r.json["error"]


def test_uploads_are_size_limited(make_app):
    r = make_app(max_upload=1000).test_client().post("/api/recordings", data=recording_bytes(2000))
    assert r.status_code == 413 and r.json["error"]


def test_a_token_guards_every_request(make_app):
    client = make_app(token="s3cret").test_client()
    assert client.get("/api/sessions").status_code == 401
    assert client.get("/api/sessions", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/sessions", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/?token=s3cret").status_code == 200
    assert client.get("/api/workloads").status_code == 200  # the cookie the URL with the token left


def test_a_host_other_than_loopback_needs_a_token(make_app):
    with pytest.raises(ValueError, match="needs a token"):
        make_app(host="0.0.0.0")
    with pytest.raises(ValueError, match="unknown dashboard settings"):
        make_app(colour="green")

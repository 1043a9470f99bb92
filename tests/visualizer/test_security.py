"""Who may talk to the dashboard, with Flask's and Flask-SocketIO's test clients: Host, Origin, the page's
own header, the token (never in a URL but the first page load's)."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.support.dashboard import page_client
from visualizer.security import CSRF_HEADER, TOKEN_COOKIE, host_of


def test_a_host_name_the_server_does_not_serve_is_421(app: Flask):
    """DNS rebinding: once, a request with ``Host: evil.example:5181`` was served."""
    client = app.test_client()
    assert client.get("/api/sessions", headers={"Host": "evil.example:5181"}).status_code == 421
    assert client.get("/socket.io/?EIO=4&transport=polling", headers={"Host": "evil.example"}).status_code == 421
    for host in ("127.0.0.1:5000", "localhost:5000", "LOCALHOST"):
        assert client.get("/api/sessions", headers={"Host": host}).status_code == 200, host


def test_allowed_hosts_and_wildcard_binds(make_app):
    client = make_app(allowed_hosts=["box.lan"]).test_client()
    assert client.get("/api/workloads", headers={"Host": "box.lan:5000"}).status_code == 200
    assert client.get("/api/workloads", headers={"Host": "other.lan"}).status_code == 421
    everywhere = make_app(host="0.0.0.0", token="t").test_client()  # every name: the token guards it
    assert (
        everywhere.get("/api/workloads", headers={"Host": "any.name", "Authorization": "Bearer t"}).status_code == 200
    )


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("127.0.0.1:5000", "127.0.0.1"),
        ("[::1]:80", "::1"),
        ("Example.COM", "example.com"),
        ("evil.example:5181", "evil.example"),
    ],
)
def test_host_of(header: str, host: str):
    assert host_of(header) == host


def test_a_cross_origin_post_is_refused(app: Flask):
    """Once: a cross-origin ``text/plain`` POST to /api/recordings (from another local port, or a file:// page)
    uploaded a bomb."""
    client = app.test_client()
    for origin in ("http://127.0.0.1:8000", "null", "http://evil.example"):
        r = client.post("/api/recordings", data=b"x", content_type="text/plain", headers={"Origin": origin})
        assert r.status_code == 403 and r.json["field"] == "Origin", origin
    assert app.extensions["greenscope"].store.all() == []


def test_a_request_that_changes_something_must_say_it_is_the_pages_own(app: Flask):
    client = app.test_client()
    body = {"workload": "nope"}
    r = client.post("/api/sessions", json=body)  # no Origin (not a browser), no header
    assert r.status_code == 403 and r.json["field"] == CSRF_HEADER
    assert client.delete("/api/sessions/1").status_code == 403
    same = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}  # what Chromium sends from the page
    assert client.post("/api/sessions", json=body, headers=same).status_code == 400  # past the check
    assert client.post("/api/sessions", json=body, headers={CSRF_HEADER: "1"}).status_code == 400
    cross = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-site"}
    assert client.post("/api/sessions", json=body, headers=cross).status_code == 403
    assert client.get("/api/sessions").status_code == 200  # reading needs neither


def test_the_token_rides_in_a_header_or_the_cookie_never_in_an_api_url(make_app):
    """Once: the token rode in download URLs (``?token=``), into logs and history."""
    client = make_app(token="s3cret").test_client()
    assert client.get("/api/sessions").status_code == 401
    assert client.get("/api/sessions", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/sessions", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/api/sessions?token=s3cret").status_code == 401
    assert client.get("/?token=wrong").status_code == 401
    first = client.get("/?token=s3cret&session=3")  # the URL `serve` prints: once
    assert first.status_code == 303 and first.headers["Location"] == "/?session=3"
    cookie = first.headers["Set-Cookie"]
    assert f"{TOKEN_COOKIE}=s3cret" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/api/sessions").status_code == 200  # the cookie
    assert client.get("/?session=3").status_code == 200


def test_socketio_needs_the_token(make_app):
    app = make_app(token="s3cret")
    socketio = app.extensions["socketio"]
    assert not socketio.test_client(app).is_connected()
    assert not socketio.test_client(app, auth={"token": "nope"}).is_connected()
    viewer = socketio.test_client(app, auth={"token": "s3cret"})
    assert viewer.is_connected()
    viewer.disconnect()
    viewer = socketio.test_client(app, headers={"Authorization": "Bearer s3cret"})
    assert viewer.is_connected()
    viewer.disconnect()


def test_engineio_handshakes_need_the_token_before_they_cost_anything(make_app):
    """Once: 3,000 unauthenticated Engine.IO handshakes on a token server cost 70 MB."""
    app = make_app(token="s3cret")
    client = app.test_client()
    eio = app.extensions["socketio"].server.eio
    for _ in range(50):
        assert client.get("/socket.io/?EIO=4&transport=polling").status_code == 401
    assert len(eio.sockets) == 0
    client.set_cookie(TOKEN_COOKIE, "s3cret")
    assert client.get("/socket.io/?EIO=4&transport=polling").status_code == 200
    assert len(eio.sockets) == 1


def test_engineio_handshakes_are_bounded(make_app):
    app = make_app(max_viewers=3)
    client = app.test_client()
    statuses = [client.get("/socket.io/?EIO=4&transport=polling").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 503, 503]


def test_page_client_is_accepted(app: Flask):
    assert page_client(app).delete("/api/sessions/7").status_code == 404

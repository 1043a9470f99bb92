"""The dashboard server: `create_app(config)` builds a Flask app with its Socket.IO, sessions,
agent listener, launcher and streamer. Nothing lives at module level.

    app = create_app({"window": 1_000_000})
    socketio = app.extensions["socketio"]     # SocketIO(app, async_mode="threading")
    dashboard = app.extensions["greenscope"]  # store, listener, launcher, streamer; close() it
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, render_template, request
from flask_socketio import SocketIO

from runtime.trace.states import schema
from visualizer import ROOT, streaming
from visualizer.agents import AgentListener
from visualizer.api import api, error_response
from visualizer.launcher import Launcher
from visualizer.sessions import DEFAULT_WINDOW, Store

__all__ = ["DEFAULTS", "Dashboard", "create_app", "is_loopback", "needs_token"]

DEFAULTS: dict[str, Any] = {
    "host": "127.0.0.1",  # where `greenscope serve` binds the dashboard
    "port": 5000,
    "agent_host": "127.0.0.1",  # where agents connect: loopback only
    "agent_port": 0,  # 0: any free port (see ``dashboard.listener.address``)
    "token": None,  # required of every request when set; required on any host but 127.0.0.1
    "window": DEFAULT_WINDOW,  # events kept per session
    "allow_external_crawl": False,  # may the crawler workload crawl other hosts
    "max_upload": 256 << 20,  # bytes, for an uploaded recording
    "interval": 0.05,  # seconds between two batches to one viewer
}
TOKEN_COOKIE = "greenscope_token"
_DEFAULT_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})  # served without a token


def needs_token(host: str) -> bool:
    """Whether serving on `host` requires a token: any host but 127.0.0.1 (localhost, ::1) does."""
    return host not in _DEFAULT_HOSTS


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address) is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Dashboard:
    """What a dashboard app holds (``app.extensions["greenscope"]``)."""

    config: dict[str, Any]
    store: Store
    listener: AgentListener
    launcher: Launcher
    streamer: streaming.Streamer

    def authorized(self, token: Any) -> bool:
        expected = self.config["token"]
        return expected is None or (isinstance(token, str) and hmac.compare_digest(token, expected))

    def request_authorized(self, auth: Any = None) -> bool:
        """Whether the current request (HTTP, or a Socket.IO connect with its `auth`) carries the token:
        ``{"token": ...}`` as Socket.IO auth, ``Authorization: Bearer ...``, ``?token=...`` or the cookie."""
        header = request.headers.get("Authorization", "")
        token = auth.get("token") if isinstance(auth, dict) else None
        token = token or (header.removeprefix("Bearer ") if header.startswith("Bearer ") else None)
        return self.authorized(token or request.args.get("token") or request.cookies.get(TOKEN_COOKIE))

    def close(self) -> None:
        """Stop streaming, stop every workload (reaping it) and close the agent listener."""
        self.streamer.close()
        self.launcher.close()
        self.listener.close()


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """A dashboard app; `config` overrides `DEFAULTS` (unknown keys are an error)."""
    unknown = set(config or {}) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown dashboard settings: {', '.join(sorted(unknown))}")
    settings = {**DEFAULTS, **(config or {})}
    if needs_token(settings["host"]) and not settings["token"]:
        raise ValueError(f"serving on {settings['host']} (not 127.0.0.1) needs a token")
    if not is_loopback(settings["agent_host"]):
        raise ValueError(f"the agent listener must be on loopback, not {settings['agent_host']}")

    app = Flask(__name__, static_folder=str(ROOT / "static"), template_folder=str(ROOT / "templates"))
    app.config["MAX_CONTENT_LENGTH"] = settings["max_upload"]
    socketio = SocketIO(app, async_mode="threading")  # not eventlet or gevent, though installed
    store = Store(settings["window"])
    listener = AgentListener(store, settings["agent_host"], settings["agent_port"])
    launcher = Launcher(store, listener.address, settings["allow_external_crawl"])
    streamer = streaming.Streamer(socketio, store, settings["interval"])
    dashboard = app.extensions["greenscope"] = Dashboard(settings, store, listener, launcher, streamer)
    streaming.register(socketio, store, streamer, dashboard.request_authorized)
    app.register_blueprint(api)

    @app.before_request
    def check_token() -> tuple[Response, int] | None:
        if not dashboard.request_authorized():
            return error_response(401, "a valid token is required (?token=..., or Authorization: Bearer ...)")
        return None

    @app.after_request
    def keep_token(response: Response) -> Response:
        token = request.args.get("token")
        if token and dashboard.authorized(token):  # the URL printed by `serve` carries it once
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
        return response

    @app.get("/")
    def index() -> str:
        return render_template("index.html", schema=schema())

    return app

"""The dashboard server: `create_app(config)` builds a Flask app with its Socket.IO, sessions,
agent listener, launcher and streamer. Nothing lives at module level.

    app = create_app({"window": 1_000_000, "data_dir": "/tmp/gs"})
    socketio = app.extensions["socketio"]     # SocketIO(app, async_mode="threading")
    dashboard = app.extensions["greenscope"]  # store, listener, launcher, streamer, policy; close() it
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask, render_template
from flask_socketio import SocketIO

from runtime.trace.states import schema
from visualizer import ROOT
from visualizer.agents import AgentListener
from visualizer.api import api
from visualizer.archive import Archive, default_data_dir
from visualizer.dashboard import Dashboard, error_response
from visualizer.launcher import Launcher
from visualizer.security import HostGuard, Policy, is_loopback, needs_token
from visualizer.sessions import DEFAULT_WINDOW
from visualizer.store import Store
from visualizer.streaming import Streamer, Viewers, whole_packets

__all__ = ["DEFAULTS", "create_app"]

DEFAULTS: dict[str, Any] = {
    "host": "127.0.0.1",  # where `greenscope serve` binds the dashboard
    "port": 5000,
    "allowed_hosts": (),  # names the dashboard is also served under (its Host header), besides `host`
    "agent_host": "127.0.0.1",  # where agents connect: loopback only
    "agent_port": 0,  # 0: any free port (see ``dashboard.listener.address``)
    "token": None,  # required of every request when set; required on any host but 127.0.0.1
    "data_dir": None,  # where sessions are recorded (None: the user's cache directory)
    "memory_budget": None,  # bytes all sessions' windows hold together (None: a quarter of the RAM)
    "window": DEFAULT_WINDOW,  # events kept in memory per session
    "allow_external_crawl": False,  # may the crawler workload crawl other hosts
    "max_upload": 256 << 20,  # bytes, for an uploaded recording
    "max_recording_events": 20_000_000,  # events, in an uploaded recording
    "max_export": 1_000_000,  # events, in a Chrome trace the server builds
    "max_json": 64 << 10,  # bytes, in a JSON request body
    "max_children": 32,  # workloads running at once
    "max_viewers": 64,  # Socket.IO connections at once
    "interval": 0.05,  # seconds between two batches to one viewer
}


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """A dashboard app; `config` overrides `DEFAULTS` (unknown keys are an error, and so is a
    data directory that cannot be written: ValueError)."""
    unknown = set(config or {}) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown dashboard settings: {', '.join(sorted(unknown))}")
    settings = {**DEFAULTS, **(config or {})}
    if needs_token(settings["host"]) and not settings["token"]:
        raise ValueError(f"serving on {settings['host']} (not 127.0.0.1) needs a token")
    if not is_loopback(settings["agent_host"]):
        raise ValueError(f"the agent listener must be on loopback, not {settings['agent_host']}")
    data_dir = Path(settings["data_dir"] or default_data_dir())
    try:
        archive = Archive(data_dir)
    except OSError as e:
        raise ValueError(f"cannot keep sessions in {data_dir}: {e.strerror or e}") from None

    app = Flask(__name__, static_folder=str(ROOT / "static"), template_folder=str(ROOT / "templates"))
    app.config["MAX_CONTENT_LENGTH"] = settings["max_upload"]
    socketio = SocketIO(app, async_mode="threading")  # not eventlet or gevent, though installed
    whole_packets(socketio.server)
    store = Store(settings["window"], archive, settings["memory_budget"])
    listener = AgentListener(
        store, settings["agent_host"], settings["agent_port"], key=secrets.token_urlsafe(24), token=settings["token"]
    )
    launcher = Launcher(
        store, listener.launch_address, settings["allow_external_crawl"], max_children=settings["max_children"]
    )
    streamer = Streamer(socketio, store, settings["interval"])
    policy = Policy(settings["host"], settings["token"], settings["allowed_hosts"])
    dashboard = app.extensions["greenscope"] = Dashboard(settings, store, listener, launcher, streamer, policy)
    socketio.on_namespace(Viewers(store, streamer, dashboard.socket_authorized))
    policy.install(app, error_response)
    app.register_blueprint(api)
    app.wsgi_app = HostGuard(  # outermost: Socket.IO's requests pass it too
        app.wsgi_app, policy, lambda: len(socketio.server.eio.sockets), settings["max_viewers"]
    )

    @app.get("/")
    def index() -> str:
        return render_template("index.html", schema=schema())

    return app

"""What a dashboard app holds (``app.extensions["greenscope"]``), and the JSON errors it answers with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Response, jsonify, request

from visualizer.agents import AgentListener
from visualizer.analyses import Analyses
from visualizer.launcher import Launcher
from visualizer.security import Policy
from visualizer.store import Store
from visualizer.streaming import Streamer

__all__ = ["ApiError", "Dashboard", "error_response"]


class ApiError(Exception):
    """An error answered as JSON with `status`; `field` names the bad part of the request, if one is."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


def error_response(status: int, message: str, field: str | None = None) -> tuple[Response, int]:
    return jsonify({"error": message, "field": field}), status


@dataclass
class Dashboard:
    """The parts of a dashboard: its settings, sessions, agent listener, launcher, streamer, rules and analyses."""

    config: dict[str, Any]
    store: Store
    listener: AgentListener
    launcher: Launcher
    streamer: Streamer
    policy: Policy
    analyses: Analyses = field(default_factory=Analyses)

    def socket_authorized(self, auth: Any = None) -> bool:
        """Whether a Socket.IO connect carries the token: as its `auth` (``{"token": ...}``), its
        Authorization header or the page's cookie."""
        token = auth.get("token") if isinstance(auth, dict) else None
        return self.policy.authorized(token or self.policy.presented(request.headers, request.cookies))

    def close(self) -> None:
        """Stop streaming, stop every workload (reaping it) and close the agent listener."""
        self.streamer.close()
        self.launcher.close()
        self.listener.close()

"""The REST API (``/api``): workloads, sessions, recordings. Errors are JSON: ``{"error": message, "field": ...}``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from runtime.trace.chrome import to_chrome
from runtime.trace.codec import FormatError
from visualizer.sessions import Session
from visualizer.workloads import workloads
from visualizer.workloads.schema import ParamError

if TYPE_CHECKING:
    from visualizer.app import Dashboard

__all__ = ["ApiError", "api"]

api = Blueprint("api", __name__, url_prefix="/api")


class ApiError(Exception):
    """An error answered as JSON with `status`; `field` names the bad part of the request, if one is."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


def error_response(status: int, message: str, field: str | None = None) -> tuple[Response, int]:
    return jsonify({"error": message, "field": field}), status


@api.app_errorhandler(ApiError)
def _api_error(e: ApiError) -> tuple[Response, int]:
    return error_response(e.status, str(e), e.field)


@api.app_errorhandler(ParamError)
def _param_error(e: ParamError) -> tuple[Response, int]:
    return error_response(400, str(e), e.field)


@api.app_errorhandler(HTTPException)
def _http_error(e: HTTPException) -> tuple[Response, int]:
    return error_response(e.code or 500, e.description or e.name)


def _dashboard() -> Dashboard:
    return current_app.extensions["greenscope"]


def _session(sid: str) -> Session:
    session = _dashboard().store.get(sid)
    if session is None:
        raise ApiError(404, f"no such session: {sid}")
    return session


@api.get("/workloads")
def list_workloads() -> Response:
    return jsonify([w.to_dict() for w in workloads().values()])


@api.get("/server")
def server() -> Response:
    """What `greenscope run` needs to find: where agents connect."""
    return jsonify({"agent": _dashboard().listener.address})


@api.get("/sessions")
def list_sessions() -> Response:
    return jsonify([s.to_dict() for s in _dashboard().store.all()])


@api.post("/sessions")
def create_session() -> tuple[Response, int]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, 'the body must be a JSON object: {"workload": name, "params": {...}}', "body")
    session = _dashboard().launcher.launch(body.get("workload"), body.get("params"))
    return jsonify(session.to_dict()), 201


@api.get("/sessions/<sid>")
def get_session(sid: str) -> Response:
    return jsonify(_session(sid).to_dict())


@api.delete("/sessions/<sid>")
def stop_session(sid: str) -> Response:
    session = _session(sid)
    _dashboard().launcher.stop(session)
    return jsonify(session.to_dict())


@api.get("/sessions/<sid>/recording")
def recording(sid: str) -> Response:
    session = _session(sid)
    headers = {"Content-Disposition": f'attachment; filename="session-{session.id}.gsc"'}
    return Response(session.frames(), mimetype="application/octet-stream", headers=headers)


@api.get("/sessions/<sid>/export")
def export(sid: str) -> Response:
    session = _session(sid)
    fmt = request.args.get("format", "chrome")
    if fmt != "chrome":
        raise ApiError(400, f"unknown export format {fmt!r} (there is: chrome)", "format")
    trace = to_chrome(session.process, session.events())
    headers = {"Content-Disposition": f'attachment; filename="session-{session.id}.json"'}
    return Response(json.dumps(trace), mimetype="application/json", headers=headers)


@api.post("/recordings")
def upload_recording() -> tuple[Response, int]:
    upload = request.files.get("file")
    data = upload.read() if upload is not None else request.get_data()
    if not data:
        raise ApiError(400, "no recording: send its bytes as the body, or as the form field 'file'", "file")
    try:
        session = _dashboard().store.load(data)
    except FormatError as e:
        raise ApiError(400, f"not a readable recording: {e}", "file") from None
    return jsonify(session.to_dict()), 201

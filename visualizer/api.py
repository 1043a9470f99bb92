"""The REST API (``/api``): workloads, sessions, recordings. Errors are JSON: ``{"error": message, "field": ...}``.

Every body is bounded: a JSON body by ``max_json`` bytes and `_MAX_DEPTH` levels of
nesting, an uploaded recording by ``max_upload`` bytes and ``max_recording_events``
events (read as it arrives, frame by frame, into the session's window and its file on
disk). A Chrome trace is built by one request at a time, of at most ``max_export`` events.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from runtime.hubs.control import CommandError, command_of
from runtime.trace.analysis import TASK_SORTS, relative
from runtime.trace.chrome import to_chrome
from runtime.trace.codec import LIMITS, FormatError, read_recording
from visualizer.dashboard import ApiError, Dashboard, error_response
from visualizer.launcher import Busy
from visualizer.sessions import FINAL, Session
from visualizer.source import read_source
from visualizer.workloads import workloads
from visualizer.workloads.schema import ParamError

__all__ = ["api"]

api = Blueprint("api", __name__, url_prefix="/api")
_MAX_DEPTH = 16  # levels of nesting in a JSON body
_exporting = threading.Lock()  # one Chrome trace built at a time: each holds every event in memory


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
        raise ApiError(404, f"no such session: {sid[:100]}")
    return session


def _json_body() -> Any:
    """The request's JSON body, read up to ``max_json`` bytes and checked for depth."""
    most = _dashboard().config["max_json"]
    if (request.content_length or 0) > most:
        raise ApiError(413, f"the body is larger than {most} bytes", "body")
    data = request.stream.read(most + 1)
    if len(data) > most:
        raise ApiError(413, f"the body is larger than {most} bytes", "body")
    try:
        body = json.loads(data)
    except RecursionError:
        raise ApiError(400, f"the body is nested deeper than {_MAX_DEPTH} levels", "body") from None
    except ValueError:
        raise ApiError(400, "the body is not JSON", "body") from None
    if _depth(body) > _MAX_DEPTH:
        raise ApiError(400, f"the body is nested deeper than {_MAX_DEPTH} levels", "body")
    return body


def _depth(value: Any, level: int = 1) -> int:
    if level > _MAX_DEPTH:
        return level
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return max((_depth(v, level + 1) for v in children), default=level)


@api.get("/workloads")
def list_workloads() -> Response:
    return jsonify([w.to_dict() for w in workloads().values()])


@api.get("/server")
def server() -> Response:
    """The dashboard's own state: where agents connect, the memory sessions hold under their budget,
    how often they had to leave it, and the agent connections refused (broken rules, full doors)."""
    dashboard = _dashboard()
    store, listener = dashboard.store, dashboard.listener
    return jsonify(
        {
            "agent": listener.address,
            "memory": {"budget": store.budget, "used": store.nbytes, "evictions": store.evicted},
            "refused": listener.refused,
            "sessions": len(store.all()),
        }
    )


@api.get("/sessions")
def list_sessions() -> Response:
    return jsonify([s.to_dict() for s in _dashboard().store.all()])


@api.post("/sessions")
def create_session() -> tuple[Response, int]:
    body = _json_body()
    if not isinstance(body, dict):
        raise ApiError(400, 'the body must be a JSON object: {"workload": name, "params": {...}}', "body")
    try:
        session = _dashboard().launcher.launch(body.get("workload"), body.get("params"))
    except Busy as e:
        raise ApiError(429, str(e), "workload") from None
    return jsonify(session.to_dict()), 201


@api.get("/sessions/<sid>")
def get_session(sid: str) -> Response:
    return jsonify(_session(sid).to_dict())


@api.delete("/sessions/<sid>")
def delete_session(sid: str) -> Response:
    """A running session is stopped (within 2 s); one that has ended is removed, with its recording."""
    session = _session(sid)
    dashboard = _dashboard()
    if session.state not in FINAL:
        dashboard.launcher.stop(session)
        return jsonify(session.to_dict())
    dashboard.store.remove(session)
    dashboard.analyses.forget(session.id)
    return jsonify({"id": session.id, "deleted": True})


@api.post("/sessions/<sid>/control")
def control(sid: str) -> tuple[Response, int]:
    """Set the pace of a running program (live control): ``{"action": "pause" | "step" | "step_thread" |
    "speed" | "resume", "speed": 0.1}`` (speed with the action speed only). Sent to its agent as a COMMAND;
    the program says what its hub did with ``control`` events."""
    session = _session(sid)
    body = _json_body()
    if not isinstance(body, dict):
        raise ApiError(400, 'the body must be a JSON object: {"action": ..., "speed": ...}', "body")
    for key in body:
        if key not in ("action", "speed"):
            raise ApiError(400, f"unknown field {key[:100]!r} (there are: action, speed)", key[:100])
    try:
        command = command_of(body.get("action"), body.get("speed"))
    except CommandError as e:
        raise ApiError(400, str(e), e.field) from None
    runtime = (session.process or {}).get("runtime") or "greenscope"
    if not runtime.startswith("greenscope"):  # an eventlet or gevent program: its hub is not ours to pace
        why = f"session {session.id} runs on {runtime}: the live control paces greenscope's runtime only"
        raise ApiError(409, why, "session")
    agent = session.agent
    if session.source == "recording" or session.state in FINAL or agent is None or not agent.send(command):
        raise ApiError(409, f"session {session.id} is not a running program", "session")
    return jsonify({"id": session.id, "command": command}), 202


@api.get("/sessions/<sid>/source")
def source(sid: str) -> Response:
    """A source file of the session's program (``path``: as its events name it; none: its script):
    ``{"path", "file", "text"}``. Only the program's own files, read-only (see `visualizer.source`)."""
    session = _session(sid)
    path = request.args.get("path")
    if path is not None:
        _dashboard().store.resident(session)  # its events say which files are its
    return jsonify(read_source(session, path))


@api.get("/sessions/<sid>/recording")
def recording(sid: str) -> Response:
    session = _session(sid)
    path, size = _recording(session)
    headers = {"Content-Disposition": f'attachment; filename="session-{session.id}.gsc"', "Content-Length": str(size)}
    return Response(_chunks(path, size), mimetype="application/octet-stream", headers=headers)


def _recording(session: Session) -> tuple[Path, int]:
    """Its recording, and how much of it is whole frames (the file grows a frame at a time)."""
    writing, path = session.recording, session.path
    if path is None or not path.exists():
        raise ApiError(404, f"session {session.id} has no recording: {session.error or 'it was not written'}")
    return path, writing.size if writing is not None else path.stat().st_size


def _chunks(path: Path, size: int) -> Iterator[bytes]:
    with _Upto(path.open("rb"), size) as f:
        while data := f.read(1 << 20):
            yield data


class _Upto:
    """A binary file read up to `size` bytes."""

    def __init__(self, f: BinaryIO, size: int) -> None:
        self._f = f
        self._left = size

    def read(self, n: int) -> bytes:
        data = self._f.read(min(n, self._left))
        self._left -= len(data)
        return data

    def __enter__(self) -> _Upto:
        return self

    def __exit__(self, *_: object) -> None:
        self._f.close()


@api.get("/sessions/<sid>/overview")
def overview(sid: str) -> Response:
    """The whole of the session's recording at a glance: ``buckets`` (1 to 10000) equal spans of time from its
    first event to its last, the events in each (a frame's spread evenly over its span: shares of one where it has
    fewer than buckets): ``{"span": ns, "counts": [...], "events": n}``. The page draws it
    above the timeline, and loads the span picked there (a ``range`` subscription) when memory holds less."""
    session = _session(sid)
    buckets = _int_arg("buckets", 1000, 1, 10_000)
    if not session.timed():
        raise ApiError(404, f"session {session.id} has no recording: {session.error or 'it was not written'}")
    return jsonify(session.overview(buckets))


@api.get("/sessions/<sid>/analysis")
def analysis(sid: str) -> Response:
    """The analysis of the session (runtime/trace/analysis/): of its whole run, or with ``start`` and
    ``stop`` of that range; ``tasks`` rows per greenthread (0 to 5000) in the order ``sort`` names. Moments,
    ``start`` and ``stop`` included, are ns since the session's first event (its ``origin``), as on the page."""
    session = _session(sid)
    args = request.args
    sort = args.get("sort", "blocked")
    if sort not in TASK_SORTS:
        raise ApiError(400, f"sort must be one of {', '.join(TASK_SORTS)}", "sort")
    tasks = _int_arg("tasks", 500, 0, 5000)
    start, stop = _int_arg("start", None, 0, 2**63), _int_arg("stop", None, 0, 2**63)
    if start is not None and stop is not None and stop < start:
        raise ApiError(400, "stop is before start", "stop")
    path, size = _recording(session)
    origin = session.origin or 0
    start, stop = (None if t is None else t + origin for t in (start, stop))
    try:
        report = _dashboard().analyses.report(session.id, path, size, start=start, stop=stop, tasks=tasks, sort=sort)
    except FormatError as e:
        raise ApiError(500, f"cannot analyse session {sid}: {e}") from None
    return jsonify(relative(report, origin))


def _int_arg(name: str, default: int | None, lo: int, hi: int) -> int | None:
    """Query argument `name` as an integer in [lo, hi], or `default` if absent."""
    text = request.args.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer", name) from None
    if not lo <= value <= hi:
        raise ApiError(400, f"{name} must be between {lo} and {hi}", name)
    return value


@api.get("/sessions/<sid>/export")
def export(sid: str) -> Response:
    session = _session(sid)
    fmt = request.args.get("format", "chrome")
    if fmt != "chrome":
        raise ApiError(400, f"unknown export format {fmt!r} (there is: chrome)", "format")
    most = _dashboard().config["max_export"]
    if session.total > most:
        raise ApiError(413, _too_many(session.total, most), "format")
    path, size = _recording(session)
    with _exporting:
        try:
            with _Upto(path.open("rb"), size) as f:
                process, events, _ = read_recording(f, replace(LIMITS, events_total=most))
        except FormatError as e:
            raise ApiError(
                413 if "more than" in str(e) else 500, f"cannot export session {sid}: {e}", "format"
            ) from None
        trace = json.dumps(to_chrome(process, events))
    headers = {"Content-Disposition": f'attachment; filename="session-{session.id}.json"'}
    return Response(trace, mimetype="application/json", headers=headers)


def _too_many(events: int, most: int) -> str:
    return f"{events} events: the server exports {most} at most (download the recording; `greenscope export` it)"


@api.post("/recordings")
def upload_recording() -> tuple[Response, int]:
    dashboard = _dashboard()
    upload = request.files.get("file") if request.mimetype == "multipart/form-data" else None
    stream = upload.stream if upload is not None else request.stream
    limits = replace(LIMITS, events_total=dashboard.config["max_recording_events"])
    try:
        session = dashboard.store.load(stream, limits)
    except FormatError as e:
        message = (
            "no recording: send its bytes as the body, or as the form field 'file'" if "too short" in str(e) else e
        )
        raise ApiError(400, f"not a readable recording: {message}", "file") from None
    return jsonify(session.to_dict()), 201

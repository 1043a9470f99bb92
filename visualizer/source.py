"""The source of a traced program, read-only (``GET /api/sessions/<id>/source?path=...``).

Only the program's own files are served: its script — a launched workload's file as the launcher
ran it, or the ``argv[0]`` of a program that connected by itself, in the directory it ran in —
and the files its events name (spawn sites, the lines greenthreads wait on, stall stacks), by
the very name they use. Only regular ``.py`` files, at most `MAX_SOURCE` bytes; nothing for a
loaded recording, whose events could name any file.
"""

from __future__ import annotations

import os
import stat
from typing import Any

from runtime.trace.events import BLOCK, FIELDS, SPAWN, STALL
from visualizer.dashboard import ApiError
from visualizer.sessions import Session
from visualizer.workloads import workloads

__all__ = ["MAX_PATH", "MAX_SOURCE", "read_source"]

MAX_SOURCE = 1 << 20  # bytes of a file served
MAX_PATH = 4096  # characters of a path asked for
# the fields that name a file ("file:line", "file:line in function"): (kind, its column; ts is 0)
_NAMING = ((SPAWN, 1 + FIELDS[SPAWN].index("site")), (BLOCK, 1 + FIELDS[BLOCK].index("where")))
_STACK = 1 + FIELDS[STALL].index("stack")


def read_source(session: Session, path: str | None) -> dict[str, Any]:
    """The file `path` (a name the session's events use; None: its script), as ``{"path", "file",
    "text"}``; `ApiError` (404, 413, 400) naming ``path`` if it is not one of the program's."""
    if path is not None and (len(path) > MAX_PATH or "\0" in path or not path):
        raise ApiError(400, f"path must be a file name of at most {MAX_PATH} characters", "path")
    if session.source not in ("launched", "agent"):
        raise ApiError(404, "the files of a loaded recording's program are not served", "path")
    script = _script(session)
    if path is None:
        if script is None:
            raise ApiError(404, f"session {session.id} does not say which program it runs", "path")
        path = script
    elif path != script and not _named(session, path):
        raise ApiError(404, f"{path[:200]} is not a source file of session {session.id}'s program", "path")
    return {"path": path, **_read(session, path)}


def _script(session: Session) -> str | None:
    """The program's script, as its events name it (what it was run as)."""
    if session.source == "launched":
        workload = workloads().get(session.workload or "")
        return None if workload is None else str(workload.path)
    argv = session.process.get("argv")
    return argv[0] if isinstance(argv, list) and argv and isinstance(argv[0], str) else None


def _named(session: Session, path: str) -> bool:
    """Whether the events in the session's window name the file `path` (``path:line...``)."""
    prefix = path + ":"
    for chunk in session.chunks():
        for kind, column in _NAMING:
            if kind in chunk.columns and any(
                isinstance(v, str) and v.startswith(prefix) for v in set(chunk.columns[kind][column])
            ):
                return True
        if STALL in chunk.columns:
            if any(line.startswith(prefix) for stack in chunk.columns[STALL][_STACK] for line in stack):
                return True
    return False


def _read(session: Session, path: str) -> dict[str, Any]:
    """The file, resolved from the directory the program ran in: a regular .py file, whole, bounded."""
    cwd = session.process.get("cwd")
    full = os.path.realpath(os.path.join(cwd if isinstance(cwd, str) else "/", path))
    refused = ApiError(404, f"{path[:200]} is not a readable Python source file", "path")
    if not full.endswith(".py"):
        raise refused
    try:
        fd = os.open(full, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        raise refused from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise refused
        if info.st_size > MAX_SOURCE:
            raise ApiError(413, f"{path[:200]} is larger than {MAX_SOURCE} bytes", "path")
        data = f.read(MAX_SOURCE + 1)
    if len(data) > MAX_SOURCE:
        raise ApiError(413, f"{path[:200]} is larger than {MAX_SOURCE} bytes", "path")
    return {"file": full, "text": data.decode("utf-8", errors="replace")}

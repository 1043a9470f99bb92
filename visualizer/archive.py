"""Sessions on disk: in the data directory, each session is an append-only recording
(``<id>.gsc``, frames written as they arrive, each in one write) and a description
(``<id>.json``, rewritten whole on each change of state). A server killed at any moment
leaves every frame it wrote readable; a restarted one lists the sessions again.

A write that fails (a full disk, a file-size limit) cuts the recording back to its last
whole frame and stops it there (`runtime.sinks.FrameFile`): the file stays readable, the
session says why it stopped.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import sys
import zlib
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.sinks import FrameFile
from runtime.trace.codec import END, EVENTS, FRAME_NAMES, HELLO, LIMITS, MAGIC, FormatError, decode_batch
from runtime.trace.events import DROPPED, Batch

__all__ = ["Archive", "Scan", "default_data_dir", "scan", "ts_bounds"]

log = logging.getLogger(__name__)
_HEADER = struct.Struct(">IB")


def default_data_dir() -> Path:
    """The user's cache directory for greenscope: ``$XDG_CACHE_HOME/greenscope`` (``~/.cache``;
    ``~/Library/Caches`` on macOS)."""
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "greenscope"


@dataclass
class Scan:
    """What a recording file holds, read from its frames' headers: the offset and first event
    of each EVENTS frame, the events, the loss its ``dropped`` events and END report, its HELLO."""

    hello: dict | None = None
    offsets: array = field(default_factory=lambda: array("q"))  # file offset of each EVENTS frame
    firsts: array = field(default_factory=lambda: array("q"))  # index of its first event
    starts: array | None = None  # with `times`: its first ts and its last (`ts_bounds`)
    ends: array | None = None
    total: int = 0
    lost: int = 0
    complete: bool = False
    size: int = 0  # bytes up to the end of its last whole frame


class Archive:
    """The data directory: a recording and a description per session."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        probe = self.root / ".writable"
        probe.write_bytes(b"")  # OSError now, rather than at the first session
        probe.unlink()

    def recording_path(self, sid: str) -> Path:
        return self.root / f"{sid}.gsc"

    def fallback_path(self, sid: str) -> Path:
        """Where a launched program's agent puts what it could not send at exit."""
        return self.root / f"{sid}.unsent.gsc"

    def open(self, sid: str, fresh: bool = True) -> FrameFile:
        return FrameFile(self.recording_path(sid), fresh, 0o600)

    def save(self, description: dict[str, Any]) -> None:
        """Write a session's description (atomically: a crash leaves the old one or the new one)."""
        path = self.root / f"{description['id']}.json"
        tmp = path.with_suffix(".json.tmp")
        try:
            tmp.write_text(json.dumps(description))
            os.replace(tmp, path)
        except OSError as e:
            log.warning("cannot save session %s: %s", description["id"], e)

    def descriptions(self) -> list[dict[str, Any]]:
        """Every saved session's description, oldest first (by id); unreadable ones are skipped."""
        found = []
        for path in self.root.glob("*.json"):
            if not path.stem.isdigit():
                continue
            try:
                description = json.loads(path.read_text())
            except (OSError, ValueError):
                log.warning("skipping %s: not a session description", path)
                continue
            if isinstance(description, dict) and description.get("id") == path.stem:
                found.append(description)
        return sorted(found, key=lambda d: int(d["id"]))

    def cut(self, sid: str, size: int) -> None:
        """Cut a recording back to `size` bytes (the end of its last whole frame)."""
        try:
            os.truncate(self.recording_path(sid), size)
        except FileNotFoundError:  # it never said HELLO
            pass
        except OSError as e:
            log.warning("cannot cut %s back to its whole frames: %s", self.recording_path(sid), e)

    def remove(self, sid: str) -> None:
        for path in (self.recording_path(sid), self.root / f"{sid}.json", self.fallback_path(sid)):
            path.unlink(missing_ok=True)


def ts_bounds(batch: Batch) -> tuple[int, int]:
    """The first and the last ts of (non-empty) `batch`: of its events, in order, those of the kinds that come
    first and last (the events of two OS threads may interleave by a little: an index, not a sort)."""
    columns = [cols[0] for cols in batch.columns.values()]
    return min(col[0] for col in columns), max(col[-1] for col in columns)


def scan(path: Path, times: bool = False) -> Scan:
    """Read `path`'s frame headers (and the events of frames that report a loss; of every frame
    with `times`, for its first and last ts). Stops quietly at the first damaged or cut frame:
    what comes before it is what the file holds."""
    found = Scan()
    if times:
        found.starts, found.ends = array("q"), array("q")
    try:
        with path.open("rb") as f:
            if f.read(len(MAGIC)) != MAGIC:
                return found
            offset = found.size = len(MAGIC)
            while len(head := f.read(_HEADER.size)) == _HEADER.size:
                length, frame_type = _HEADER.unpack(head)
                if not 1 <= length <= LIMITS.frame or frame_type not in FRAME_NAMES:
                    break
                body = f.read(length - 1)
                if len(body) != length - 1:
                    break
                _scan_frame(found, frame_type, body, offset)
                offset += _HEADER.size + len(body)
                found.size = offset
    except (OSError, FormatError, zlib.error, ValueError) as e:
        log.info("%s: read up to a bad frame (%s)", path, e)
    return found


def _scan_frame(found: Scan, frame_type: int, body: bytes, offset: int) -> None:
    d = zlib.decompressobj()
    if frame_type == EVENTS:
        raw = d.decompress(body, 4)
        (hlen,) = struct.unpack(">I", raw)
        raw += d.decompress(d.unconsumed_tail, hlen)
        header = json.loads(raw[4:])
        n = header["n"]
        lossy = any(column[0] == DROPPED for column in header["columns"])  # rare: decode it for its count
        if lossy or found.starts is not None:
            batch = decode_batch(zlib.decompress(body, bufsize=LIMITS.expanded), coded=True)
            if lossy:
                found.lost += sum(batch.columns[DROPPED][1])
            if found.starts is not None and found.ends is not None:
                first, last = ts_bounds(batch)
                found.starts.append(first)
                found.ends.append(last)
        found.offsets.append(offset)
        found.firsts.append(found.total)
        found.total += n
    elif frame_type == HELLO and found.hello is None:
        found.hello = json.loads(d.decompress(body, LIMITS.control))
    elif frame_type == END:
        found.complete = True
        end = json.loads(d.decompress(body, LIMITS.control))
        dropped = end.get("dropped") if isinstance(end, dict) else None
        found.lost += dropped if type(dropped) is int and dropped > 0 else 0

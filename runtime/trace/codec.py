"""Frames: how events travel (agent -> dashboard) and rest (recording files). Bytes only, no I/O.

A stream starts with `MAGIC` (8 bytes: ``GSCOPE``, 0, the format version), then frames:

    length   4 bytes, big-endian: the size of what follows (type + payload)
    type     1 byte: HELLO, EVENTS, END, COMMAND
    payload  zlib-compressed UTF-8 JSON

HELLO (first): ``{"schema": events.describe(), "process": {pid, argv, program, version}}``.
EVENTS: ``{"events": [[kind, ts, field, ...], ...]}``. END (last, on a clean stop):
``{"dropped": n}``. COMMAND (dashboard -> agent): ``{"command": "stop"}``.

Each frame is written whole, so a program that crashes leaves every frame it wrote
readable; a file cut inside a frame, or anything that is not such a stream, is refused
with a `FormatError` naming the problem. See docs/protocol.md.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from typing import Any

from runtime.trace.events import FIELDS, VERSION

__all__ = ["COMMAND", "END", "EVENTS", "HELLO", "MAGIC", "Decoder", "FormatError", "encode_frame", "read_recording"]

FORMAT = 1
MAGIC = b"GSCOPE\x00" + bytes([FORMAT])
HELLO, EVENTS, END, COMMAND = 1, 2, 3, 4
FRAME_NAMES = {HELLO: "hello", EVENTS: "events", END: "end", COMMAND: "command"}
MAX_FRAME = 64 << 20  # bytes, compressed; a larger length field is damage, not data
MAX_EXPANDED = 256 << 20  # bytes, once decompressed
_HEADER = struct.Struct(">IB")


class FormatError(ValueError):
    """The bytes are not a greenscope stream, or are damaged; the message says where and how."""


def encode_frame(frame_type: int, payload: Any) -> bytes:
    """One frame: `payload` as compact JSON, compressed."""
    body = zlib.compress(json.dumps(payload, separators=(",", ":")).encode(), 1)
    return _HEADER.pack(len(body) + 1, frame_type) + body


class Decoder:
    """Incremental: `feed` bytes as they come, get whole frames back as ``(type, payload)``."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._magic_seen = False
        self.frames = 0

    def feed(self, data: bytes) -> Iterator[tuple[int, Any]]:
        self._buf += data
        if not self._magic_seen:
            if len(self._buf) < len(MAGIC):
                if not MAGIC.startswith(bytes(self._buf)):
                    raise FormatError("not a greenscope stream (bad magic bytes)")
                return
            if not self._buf.startswith(MAGIC[:7]):
                raise FormatError("not a greenscope stream (bad magic bytes)")
            if self._buf[7] != FORMAT:
                raise FormatError(f"stream format {self._buf[7]} is not supported (this greenscope reads {FORMAT})")
            del self._buf[: len(MAGIC)]
            self._magic_seen = True
        while len(self._buf) >= _HEADER.size:
            length, frame_type = _HEADER.unpack_from(self._buf)
            if not 1 <= length <= MAX_FRAME:
                raise FormatError(f"frame {self.frames + 1}: impossible length {length}")
            if frame_type not in FRAME_NAMES:
                raise FormatError(f"frame {self.frames + 1}: unknown frame type {frame_type}")
            if len(self._buf) < 4 + length:
                return
            body = bytes(self._buf[_HEADER.size : 4 + length])
            del self._buf[: 4 + length]
            self.frames += 1
            yield frame_type, self._payload(body)

    @property
    def pending(self) -> int:
        """Bytes received that do not make a whole frame yet."""
        return len(self._buf)

    def _payload(self, body: bytes) -> Any:
        where = f"frame {self.frames}"
        try:
            d = zlib.decompressobj()
            raw = d.decompress(body, MAX_EXPANDED)
            if d.unconsumed_tail:
                raise FormatError(f"{where}: expands past {MAX_EXPANDED} bytes")
            return json.loads(raw)
        except zlib.error as e:
            raise FormatError(f"{where}: damaged compressed data ({e})") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise FormatError(f"{where}: not JSON ({e})") from None


def check_hello(payload: Any) -> dict:
    """The HELLO payload's process description, or FormatError if it is not one we can read."""
    if not isinstance(payload, dict) or not isinstance(payload.get("schema"), dict):
        raise FormatError("the first frame does not describe the stream")
    version = payload["schema"].get("version")
    if version != VERSION:
        raise FormatError(f"event version {version!r} is not supported (this greenscope reads {VERSION})")
    process = payload.get("process")
    if not isinstance(process, dict):
        raise FormatError("the first frame does not say which process was traced")
    return process


def check_events(payload: Any) -> list[tuple]:
    """The events of an EVENTS payload as tuples, each checked against the schema."""
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list):
        raise FormatError("an events frame holds no event list")
    out = []
    for ev in events:
        if not isinstance(ev, list) or len(ev) < 2 or not isinstance(ev[1], int):
            raise FormatError(f"not an event: {str(ev)[:80]}")
        fields = FIELDS.get(ev[0])
        if fields is None or len(ev) != 2 + len(fields):
            raise FormatError(f"an event of unknown kind or shape: {str(ev)[:80]}")
        out.append(tuple(ev))
    return out


def read_recording(data: bytes) -> tuple[dict, list[tuple], bool]:
    """A whole recording: (process, events, complete). `complete` is False when the program
    stopped without writing END (it crashed); the frames it wrote are all there."""
    decoder = Decoder()
    process: dict | None = None
    events: list[tuple] = []
    complete = False
    for frame_type, payload in decoder.feed(data):
        if process is None:
            if frame_type != HELLO:
                raise FormatError("the recording does not start with a hello frame")
            process = check_hello(payload)
        elif frame_type == EVENTS:
            events.extend(check_events(payload))
        elif frame_type == END:
            complete = True
    if not decoder._magic_seen:
        raise FormatError("not a greenscope recording (too short)")
    if decoder.pending:
        raise FormatError(f"truncated: the file ends inside frame {decoder.frames + 1} ({decoder.pending} bytes)")
    if process is None:
        raise FormatError("the recording holds no frame")
    return process, events, complete

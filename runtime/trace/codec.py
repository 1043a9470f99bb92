"""Frames: how events travel (agent -> dashboard) and rest (recording files). Bytes only, no I/O.

A stream starts with `MAGIC` (8 bytes: ``GSCOPE``, 0, the format version), then frames:

    length   4 bytes, big-endian: the size of what follows (type + payload)
    type     1 byte: HELLO, EVENTS, END, COMMAND
    payload  zlib-compressed UTF-8 JSON

HELLO (first): ``{"schema": events.describe(), "process": {pid, argv, program, version}}``.
END (last, on a clean stop): ``{"dropped": n}``. COMMAND (dashboard -> agent):
``{"command": "stop"}``. EVENTS is columnar (compressed too): a 4-byte header length, a
JSON header ``{"n": N, "columns": [[kind, field, "i" | "j", nbytes], ...]}``, the N kind
codes (one byte each, in event order), then the columns in header order: "i" columns
little-endian int64 arrays, "j" columns JSON lists; each kind's columns hold its events'
values (``ts`` first, field 0) in event order. The recorder hands its events out by
column (`Batch`), so encoding one is a few C calls: the agent's work costs the program little.

Each frame is written whole, so a program that crashes leaves every frame it wrote
readable; a file cut inside a frame, or anything that is not such a stream, is refused
with a `FormatError` naming the problem. See docs/protocol.md.
"""

from __future__ import annotations

import json
import struct
import sys
import zlib
from array import array
from collections.abc import Iterator
from typing import Any

from runtime.trace.events import FIELDS, VERSION, Batch, from_columns

__all__ = [
    "COMMAND",
    "END",
    "EVENTS",
    "HELLO",
    "MAGIC",
    "Decoder",
    "FormatError",
    "decode_events",
    "encode_frame",
    "read_recording",
]

FORMAT = 1
MAGIC = b"GSCOPE\x00" + bytes([FORMAT])
HELLO, EVENTS, END, COMMAND = 1, 2, 3, 4
FRAME_NAMES = {HELLO: "hello", EVENTS: "events", END: "end", COMMAND: "command"}
MAX_FRAME = 64 << 20  # bytes, compressed; a larger length field is damage, not data
MAX_EXPANDED = 256 << 20  # bytes, once decompressed
_HEADER = struct.Struct(">IB")
_LITTLE = sys.byteorder == "little"
_U64 = "L" if array("L").itemsize == 8 else "Q"  # array() converts ints to these 2-4x faster than to "q"
_PLAIN = bytes(c for c in range(32, 128) if c not in b'"\\')  # ASCII a JSON string holds unescaped


class FormatError(ValueError):
    """The bytes are not a greenscope stream, or are damaged; the message says where and how."""


def encode_frame(frame_type: int, payload: Any) -> bytes:
    """One frame, compressed: `payload` as compact JSON, or for EVENTS a `Batch` (or a list
    of event tuples) in the columnar layout."""
    if frame_type == EVENTS:
        raw = _encode_batch(payload if isinstance(payload, Batch) else Batch.of(payload))
    else:
        raw = json.dumps(payload, separators=(",", ":")).encode()
    body = zlib.compress(raw, 1)  # releases the GIL: on another core, the program goes on
    return _HEADER.pack(len(body) + 1, frame_type) + body


def _encode_batch(batch: Batch) -> bytes:
    columns: list[list] = []
    blobs: list[bytes] = []
    for kind in sorted(batch.columns):
        for field, values in enumerate(batch.columns[kind]):
            blob = _int64s(values)
            kind_of = "i"
            if blob is None:  # None, floats, strings
                blob, kind_of = _json_list(values), "j"
            columns.append([kind, field, kind_of, len(blob)])
            blobs.append(blob)
    head = json.dumps({"n": len(batch.kinds), "columns": columns}, separators=(",", ":")).encode()
    return b"".join((struct.pack(">I", len(head)), head, batch.kinds, *blobs))


def _int64s(values: list) -> bytes | None:
    """`values` as little-endian int64s, or None unless they are all ints that fit."""
    try:
        try:
            packed, signed = array(_U64, values), False  # the fast conversion, for ints >= 0...
        except OverflowError:  # ...then the slow one
            packed, signed = array("q", values), True
    except (TypeError, OverflowError):  # None, floats, strings; ints past 64 bits
        return None
    if not _LITTLE:
        packed.byteswap()
    raw = packed.tobytes()
    if not signed and not raw[7::8].isascii():  # 2**63 or more: no int64
        return None
    return raw


def _json_list(values: list) -> bytes:
    """`values` as a JSON list. The usual ones, all strings with nothing to escape or all
    None, are joined whole instead of encoded value by value."""
    try:
        text = '","'.join(values)
    except TypeError:  # not all strings
        if values.count(None) == len(values):
            return b"[" + b",".join([b"null"] * len(values)) + b"]"
    else:
        if text.isascii():
            raw = text.encode()
            if len(raw.translate(None, _PLAIN)) == 2 * len(values) - 2:  # just the separators' quotes
                return b'["' + raw + b'"]'
    return json.dumps(values, separators=(",", ":")).encode()


def decode_events(raw: bytes) -> list[tuple]:
    """The event tuples of a decompressed EVENTS payload, each checked against the schema."""
    try:
        (hlen,) = struct.unpack_from(">I", raw)
        header = json.loads(raw[4 : 4 + hlen])
        n, columns = header["n"], header["columns"]
    except (struct.error, ValueError, KeyError, TypeError):
        raise FormatError("an events frame with a damaged header") from None
    if not isinstance(n, int) or not isinstance(columns, list) or n < 0:
        raise FormatError("an events frame with a damaged header")
    pos = 4 + hlen
    kinds = raw[pos : pos + n]
    pos += n
    if len(kinds) != n:
        raise FormatError("an events frame shorter than its header says")
    counts = {k: kinds.count(k) for k in set(kinds)}
    cols: dict[int, list[list]] = {}
    for entry in columns:
        try:
            kind, field, kind_of, size = entry
        except (TypeError, ValueError):
            raise FormatError("an events frame with a damaged column list") from None
        if not isinstance(size, int) or size < 0:
            raise FormatError("an events frame with a damaged column list")
        blob = raw[pos : pos + size]
        pos += size
        if len(blob) != size or kind not in counts or kind not in FIELDS or field != len(cols.get(kind, ())):
            raise FormatError(f"an events frame with a bad column for kind {kind!r}")
        if kind_of == "i":
            if size != 8 * counts[kind]:
                raise FormatError(f"an events frame whose kind {kind} column {field} has the wrong length")
            values = array("q")
            values.frombytes(blob)
            if not _LITTLE:
                values.byteswap()
            column = values.tolist()
        else:
            try:
                column = json.loads(blob)
            except ValueError:
                raise FormatError(f"an events frame whose kind {kind} column {field} is not JSON") from None
            if not isinstance(column, list) or len(column) != counts[kind]:
                raise FormatError(f"an events frame whose kind {kind} column {field} has the wrong length")
        cols.setdefault(kind, []).append(column)
    if pos != len(raw):
        raise FormatError("an events frame longer than its header says")
    for kind in counts:
        if kind not in FIELDS or len(cols.get(kind, ())) != 1 + len(FIELDS[kind]):
            raise FormatError(f"an events frame with missing columns for kind {kind}")
    return from_columns(kinds, cols)


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
            body = bytes(self._buf[4 : 4 + length])  # the type byte, then the payload
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
            raw = d.decompress(body[1:], MAX_EXPANDED)
            if d.unconsumed_tail:
                raise FormatError(f"{where}: expands past {MAX_EXPANDED} bytes")
            return decode_events(raw) if body[0] == EVENTS else json.loads(raw)
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
            events.extend(payload)
        elif frame_type == END:
            complete = True
    if not decoder._magic_seen:
        raise FormatError("not a greenscope recording (too short)")
    if decoder.pending:
        raise FormatError(f"truncated: the file ends inside frame {decoder.frames + 1} ({decoder.pending} bytes)")
    if process is None:
        raise FormatError("the recording holds no frame")
    return process, events, complete

"""Frames: how events travel (agent -> dashboard) and rest (recording files). Bytes only, no I/O.

A stream starts with `MAGIC` (8 bytes: ``GSCOPE``, 0, the format version), then frames:

    length   4 bytes, big-endian: the size of what follows (type + payload)
    type     1 byte: HELLO, EVENTS, END, COMMAND
    payload  zlib-compressed UTF-8 JSON

HELLO (first): ``{"schema": events.describe(), "process": {pid, argv, program, version}}``
(and ``"auth"``, the secret an agent shows its dashboard). END (last, on a clean stop):
``{"dropped": n}``. COMMAND (dashboard -> agent): ``{"command": "stop"}``. EVENTS is
columnar (compressed too): a 4-byte header length, a JSON header ``{"n": N, "columns":
[[kind, field, "n" | "i" | "d" | "j", nbytes], ...]}``, the N kind codes (one byte each, in
event order), then the columns in header order: "n" columns int64s narrowed (a mode byte,
``s`` or ``o``, a width byte, 1, 2, 4 or 8, a little-endian int64 base, then each value as a
little-endian unsigned int of that width: in steps, each value minus the one before — the
first minus the base, itself —, for a column that never goes down, as times do; else its
offset from the base, the smallest), "i" columns little-endian int64 arrays (what agents
before "n" wrote), "d" columns coded by dictionary (a column that names the same few things
over and over: a 4-byte little-endian length, a JSON list of the distinct values, then each
value's index in it, a little-endian unsigned int of 1, 2 or 4 bytes: the fewest that hold
them all), "j" columns JSON lists; each kind's columns hold its events' values (``ts``
first, field 0) in event order. The recorder hands its events out by column (`Batch`), and
frames decode back into columns (int64 columns stay `array("q")`), so neither side builds a
tuple per event.

Everything a reader takes is bounded by its `Limits` (bytes per frame, compressed and
expanded, events per frame, characters per string) and checked against the schema, the
type of every value included (`FIELD_TYPES`): what does not fit is a `FormatError` naming
the frame and the problem, never a crash later. Each frame is written whole, so a program
that crashes leaves every frame it wrote readable. See docs/protocol.md.
"""

from __future__ import annotations

import io
import itertools
import json
import operator
import os
import struct
import sys
import zlib
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from runtime.trace.events import FIELD_TYPES, KIND_NAMES, VERSION, VERSIONS, Batch, Coded, upgrade

__all__ = [
    "AGENT_LIMITS",
    "COMMAND",
    "END",
    "EVENTS",
    "FIELD_TYPES",
    "HELLO",
    "LIMITS",
    "MAGIC",
    "Decoder",
    "FormatError",
    "Limits",
    "check_hello",
    "decode_batch",
    "encode_frame",
    "encode_frames",
    "read_frames",
    "read_recording",
    "slice_batch",
]

FORMAT = 1
MAGIC = b"GSCOPE\x00" + bytes([FORMAT])
HELLO, EVENTS, END, COMMAND = 1, 2, 3, 4
FRAME_NAMES = {HELLO: "hello", EVENTS: "events", END: "end", COMMAND: "command"}
FRAME_EVENTS = 1 << 16  # events per frame an agent writes (it splits bigger batches)
HELLO_FIELD = 1 << 15  # characters in a HELLO's process field (argv: all its arguments together)
_HEADER = struct.Struct(">IB")
_LITTLE = sys.byteorder == "little"
_U64 = "L" if array("L").itemsize == 8 else "Q"  # array() converts ints to these 2-4x faster than to "q"
_PLAIN = bytes(c for c in range(32, 128) if c not in b'"\\')  # ASCII a JSON string holds unescaped
_NONE = type(None)
_CODABLE = {str, int, _NONE}  # what a "d" column holds (exact types: True or 1.0 would be taken for 1)
_IDS = {1: "B", 2: "H", 4: "I" if array("I").itemsize == 4 else "L"}  # id width -> array typecode
_UNSIGNED = {**_IDS, 8: "Q"}  # an "n" column's width -> array typecode
_NARROW = struct.Struct("<cBq")  # an "n" column's mode, width and base


@dataclass(frozen=True)
class Limits:
    """What a reader takes at most. Every limit is per frame but `events_total` (per stream)."""

    frame: int = 64 << 20  # bytes, compressed (the length field); a larger one is damage, not data
    expanded: int = 64 << 20  # bytes, once decompressed
    events: int = 1 << 20  # events (the recorder's whole buffer, 1M, fits in one)
    string: int = 1 << 16  # characters in one string value
    control: int = 1 << 16  # bytes of a HELLO, END or COMMAND payload, once decompressed
    events_total: int | None = None  # events in a whole stream (None: no limit)


#: What recording files and uploads may hold.
LIMITS = Limits(events_total=50_000_000)
#: What a dashboard takes from an agent's connection (agents write frames of `FRAME_EVENTS`).
AGENT_LIMITS = Limits(frame=8 << 20, expanded=16 << 20, events=4 * FRAME_EVENTS)


class FormatError(ValueError):
    """The bytes are not a greenscope stream, are damaged, or exceed a limit; the message says where and how."""


# ---------------------------------------------------------------- encoding


def encode_frame(frame_type: int, payload: Any) -> bytes:
    """One frame, compressed: `payload` as compact JSON, or for EVENTS a `Batch` (or a list
    of event tuples) in the columnar layout."""
    if frame_type == EVENTS:
        raw = _encode_batch(payload if isinstance(payload, Batch) else Batch.of(payload))
    else:
        raw = json.dumps(payload, separators=(",", ":")).encode()
    body = zlib.compress(raw, 1)  # releases the GIL: on another core, the program goes on
    return _HEADER.pack(len(body) + 1, frame_type) + body


def encode_frames(batch: Batch, max_events: int = FRAME_EVENTS) -> list[bytes]:
    """`batch` as EVENTS frames of at most `max_events` events each, in order."""
    n = len(batch.kinds)
    if n <= max_events:
        return [encode_frame(EVENTS, batch)]
    return [encode_frame(EVENTS, slice_batch(batch, lo, min(lo + max_events, n))) for lo in range(0, n, max_events)]


def slice_batch(batch: Batch, lo: int, hi: int) -> Batch:
    """Events `lo` to `hi` (exclusive) of `batch`: each kind's columns cut where its events fall."""
    kinds = batch.kinds
    columns = {}
    for kind, cols in batch.columns.items():
        start = kinds.count(kind, 0, lo)
        end = start + kinds.count(kind, lo, hi)
        if end > start:
            columns[kind] = [col[start:end] for col in cols]
    return Batch(kinds[lo:hi], columns)


def _encode_batch(batch: Batch) -> bytes:
    columns: list[list] = []
    blobs: list[bytes] = []
    for kind in sorted(batch.columns):
        for field, values in enumerate(batch.columns[kind]):
            blob = _int64s(values)
            kind_of = "n"
            if blob is not None:
                blob = _narrow(blob)
            else:  # None, floats, strings: by dictionary where they repeat, else JSON
                blob, kind_of = _coded(values), "d"
                if blob is None:
                    blob, kind_of = _json_list(values), "j"
            columns.append([kind, field, kind_of, len(blob)])
            blobs.append(blob)
    head = json.dumps({"n": len(batch.kinds), "columns": columns}, separators=(",", ":")).encode()
    return b"".join((struct.pack(">I", len(head)), head, batch.kinds, *blobs))


def _dictionary_in_python(values: list) -> tuple[list, bytes] | None:
    """`runtime.trace._columns.dictionary` in Python: (each distinct value once, in order of first
    appearance; each value's index in that table as little-endian unsigned ints of 1, 2 or 4 bytes),
    or None for a value other than a str, an int or None, or when more than half are distinct."""
    if not set(map(type, values)) <= _CODABLE:
        return None
    table = dict.fromkeys(values)
    if 2 * len(table) > len(values):
        return None
    index = {value: i for i, value in enumerate(table)}
    ids = array(_IDS[_width(len(table))], map(index.__getitem__, values))
    if not _LITTLE:
        ids.byteswap()
    return list(table), ids.tobytes()


def _width(distinct: int) -> int:
    """Bytes per index into a table of `distinct` values."""
    return 1 if distinct <= 0x100 else 2 if distinct <= 0x10000 else 4


def _narrow_in_python(raw: bytes | array) -> bytes:
    """`runtime.trace._columns.narrow` in Python: little-endian int64s (any bytes-like) as an "n"
    column (in steps where they never go down, else as offsets from the smallest)."""
    values = array("q")
    values.frombytes(memoryview(raw).cast("B"))
    if not _LITTLE:
        values.byteswap()
    if all(map(operator.le, values, values[1:])):
        mode, base = b"S", values[0] if values else 0
        parts = list(map(operator.sub, values, itertools.chain((base,), values)))
    else:
        mode, base = b"O", min(values)
        parts = [v - base for v in values]
    top = max(parts, default=0)
    width = 1 if top <= 0xFF else 2 if top <= 0xFFFF else 4 if top <= 0xFFFFFFFF else 8
    packed = array(_UNSIGNED[width], parts)
    if not _LITTLE:
        packed.byteswap()
    raw = packed.tobytes()
    return _NARROW.pack(mode, width, base) + b"".join(raw[b::width] for b in range(width))  # in byte planes


def _widen_in_python(blob: bytes, count: int) -> bytes:
    """`runtime.trace._columns.widen` in Python: an "n" column's `count` values as native int64s
    (ValueError for a damaged column or a value past int64)."""
    if len(blob) < _NARROW.size:
        raise ValueError("a damaged narrowed column")
    mode, width, base = _NARROW.unpack_from(blob)
    if mode not in (b"S", b"O", b"s", b"o") or width not in _UNSIGNED or len(blob) - _NARROW.size != width * count:
        raise ValueError("a damaged narrowed column")
    body = blob[_NARROW.size :]
    if mode in (b"S", b"O"):  # byte planes (lowercase: interleaved, as agents wrote before the planes)
        interleaved = bytearray(len(body))
        for b in range(width):
            interleaved[b::width] = body[b * count : (b + 1) * count]
        body = interleaved
    parts = array(_UNSIGNED[width])
    parts.frombytes(body)
    if not _LITTLE:
        parts.byteswap()
    if mode in (b"S", b"s"):
        values = list(itertools.accumulate(parts, initial=base))[1:]
    else:
        values = [base + p for p in parts]
    try:
        return array("q", values).tobytes()
    except OverflowError:
        raise ValueError("a narrowed column with a value past int64") from None


try:
    if os.environ.get("GREENSCOPE_PURE_PYTHON"):
        raise ImportError("the coding in Python was asked for")
    from runtime.trace._columns import dictionary as _dictionary
    from runtime.trace._columns import narrow as _narrow
    from runtime.trace._columns import widen as _widen
except ImportError:  # not built here (no compiler, another interpreter): the coding in Python
    _dictionary = _dictionary_in_python
    _narrow = _narrow_in_python
    _widen = _widen_in_python


def _coded(values: Any) -> bytes | None:
    """`values` as a "d" column, or None where that does not pay (or cannot be)."""
    if type(values) is Coded:
        found = _coded_as_is(values)
    else:
        found = _dictionary(values) if type(values) is list else None
    if found is None:
        return None
    table, ids = found
    head = json.dumps(table, separators=(",", ":")).encode()
    return b"".join((struct.pack("<I", len(head)), head, ids))


def _coded_as_is(column: Coded) -> tuple[list, bytes] | None:
    """A `Coded` column's table and little-endian indexes, as a "d" column holds them (None if its table holds
    a float: a "d" column does not)."""
    if not set(map(type, column.table)) <= _CODABLE:
        return None
    ids = column.ids
    if not _LITTLE and ids.itemsize > 1:
        ids = array(ids.typecode, ids)
        ids.byteswap()
    return column.table, ids.tobytes()


def _int64s(values: Any) -> bytes | array | None:
    """`values` as little-endian int64s (bytes, or an `array("q")` already so: no copy), or None unless
    they are all ints that fit."""
    if isinstance(values, array) and values.typecode == "q":
        if _LITTLE:
            return values
        packed = array("q", values)
        packed.byteswap()
        return packed.tobytes()
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


# ---------------------------------------------------------------- decoding


def decode_batch(raw: bytes, limits: Limits = LIMITS, version: int = VERSION, coded: bool = False) -> Batch:
    """The events of a decompressed EVENTS payload written by schema `version`, in columns, each value
    checked against that schema, then as this version has them (`events.upgrade`). With `coded`, a column
    coded by dictionary stays so (a `Coded`, its table and indexes as they came) where its table fits
    2-byte indexes, instead of a list of its values."""
    fields_of = VERSIONS[version]
    try:
        (hlen,) = struct.unpack_from(">I", raw)
        if hlen > limits.control:
            raise ValueError
        header = json.loads(raw[4 : 4 + hlen])
        n, columns = header["n"], header["columns"]
    except (struct.error, ValueError, KeyError, TypeError, RecursionError):
        raise FormatError("an events frame with a damaged header") from None
    if type(n) is not int or not isinstance(columns, list) or n < 0:
        raise FormatError("an events frame with a damaged header")
    if n > limits.events:
        raise FormatError(f"an events frame of {n} events (the limit is {limits.events})")
    pos = 4 + hlen
    kinds = raw[pos : pos + n]
    pos += n
    if len(kinds) != n:
        raise FormatError("an events frame shorter than its header says")
    counts = {k: c for k in fields_of if (c := kinds.count(k))}  # (counting the known kinds: C speed)
    if sum(counts.values()) != n:
        unknown = sorted(set(kinds) - set(fields_of))
        raise FormatError(f"an events frame with events of unknown kind {unknown[0]}")
    cols: dict[int, list] = {}
    for entry in columns:
        try:
            kind, field, kind_of, size = entry
        except (TypeError, ValueError):
            raise FormatError("an events frame with a damaged column list") from None
        if type(size) is not int or size < 0:
            raise FormatError("an events frame with a damaged column list")
        blob = raw[pos : pos + size]
        pos += size
        if type(kind) is not int or len(blob) != size or kind not in counts or kind not in fields_of:
            raise FormatError(f"an events frame with a bad column for kind {kind!r}")
        if type(field) is not int or field != len(cols.get(kind, ())) or field > len(fields_of[kind]):
            raise FormatError(f"an events frame with a bad column for kind {kind!r}")
        name = "ts" if field == 0 else fields_of[kind][field - 1]
        where = f"kind {KIND_NAMES[kind]} field {name}"
        cols.setdefault(kind, []).append(_column(blob, kind_of, counts[kind], name, where, limits, coded))
    if pos != len(raw):
        raise FormatError("an events frame longer than its header says")
    for kind in counts:
        if kind not in fields_of or len(cols.get(kind, ())) != 1 + len(fields_of[kind]):
            raise FormatError(f"an events frame with missing columns for kind {kind}")
    return Batch(bytes(kinds), {kind: upgrade(kind, columns, version) for kind, columns in cols.items()})


def _column(blob: bytes, kind_of: Any, count: int, name: str, where: str, limits: Limits, coded: bool) -> Any:
    allowed = FIELD_TYPES[name]
    if kind_of == "n" or kind_of == "i":
        if int not in allowed:
            raise FormatError(f"an events frame whose {where} holds ints, not {_names(allowed)}")
        values = array("q")
        if kind_of == "n":
            try:
                values.frombytes(_widen(blob, count))
            except ValueError as e:
                raise FormatError(f"an events frame whose {where} column is not whole: {e}") from None
            return values
        if len(blob) != 8 * count:
            raise FormatError(f"an events frame whose {where} column has the wrong length")
        values.frombytes(blob)
        if not _LITTLE:
            values.byteswap()
        return values
    if kind_of == "d":
        return _decoded(blob, count, where, allowed, limits, coded)
    if kind_of != "j":
        raise FormatError(f"an events frame whose {where} column has an unknown type {kind_of!r}")
    column = _strings(blob)
    if column is None:
        try:
            column = json.loads(blob)
        except (ValueError, RecursionError):
            raise FormatError(f"an events frame whose {where} column is not JSON") from None
    if not isinstance(column, list) or len(column) != count:
        raise FormatError(f"an events frame whose {where} column has the wrong length")
    return _checked(column, len(blob), where, allowed, limits)


def _decoded(blob: bytes, count: int, where: str, allowed: set[type], limits: Limits, coded: bool) -> list | Coded:
    """A "d" column's values: its table, checked like a "j" column, then looked up by index (or, if `coded`
    and its indexes are of 1 or 2 bytes, left as they are: a `Coded`)."""
    try:
        (size,) = struct.unpack_from("<I", blob)
        table = json.loads(blob[4 : 4 + size]) if size <= len(blob) - 4 else None
    except (struct.error, ValueError, RecursionError):
        table = None
    if not isinstance(table, list) or (not table and count):
        raise FormatError(f"an events frame whose {where} column has a damaged table")
    if not allowed & _CODABLE:  # lists (argv, a stack): never coded by dictionary
        raise FormatError(f"an events frame whose {where} column is coded by dictionary (it takes lists)")
    table = _checked(table, size, where, allowed & _CODABLE, limits)
    table = [sys.intern(v) if type(v) is str else v for v in table]
    ids = array(_IDS[_width(len(table))])
    if len(blob) - 4 - size != ids.itemsize * count:
        raise FormatError(f"an events frame whose {where} column has the wrong length")
    ids.frombytes(blob[4 + size :])
    if not _LITTLE:
        ids.byteswap()
    if count and max(ids) >= len(table):
        raise FormatError(f"an events frame whose {where} column points past its table")
    if coded and ids.itemsize <= 2:
        return Coded(table, ids)
    return list(map(table.__getitem__, ids))


def _checked(column: list, size: int, where: str, allowed: set[type], limits: Limits) -> list:
    """`column` (of `size` bytes as JSON) if its values are of the `allowed` types and within `limits`."""
    types = set(map(type, column))
    if not types <= allowed:
        bad = ", ".join(sorted(t.__name__ for t in types - allowed))
        raise FormatError(f"an events frame whose {where} holds {bad} (it takes {_names(allowed)})")
    if str in types and size > limits.string and _longest(column, types) > limits.string:
        raise FormatError(f"an events frame whose {where} holds a string over {limits.string} characters")
    if list in types:  # argv: lists of strings
        for value in column:
            if not all(type(v) is str for v in value) or sum(map(len, value)) > limits.string:
                raise FormatError(f"an events frame whose {where} is not a short list of strings")
    return column


def _longest(column: list, types: set[type]) -> int:
    """The length of the longest string in `column` (at C speed when it holds strings and None only)."""
    if types <= {str, _NONE}:
        return max(map(len, filter(None, column)), default=0)
    return max((len(v) for v in column if type(v) is str), default=0)


def _strings(blob: bytes) -> list[str] | None:
    """A JSON list of plain ASCII strings (the common case, and what `_json_list` writes whole),
    split without a JSON parse, each string interned: a column names the same few things
    ("io_read", "timer") over and over. None if the list is anything else."""
    if not (blob.startswith(b'["') and blob.endswith(b'"]')):
        return None
    quotes = blob.translate(None, _PLAIN)  # what is not plain ASCII: only the quotes, if this is such a list
    if quotes.strip(b'"'):
        return None
    parts = blob[2:-2].decode("ascii").split('","')
    if len(quotes) != 2 * len(parts):  # a quote the split did not explain: not that list
        return None
    return list(map(sys.intern, parts))


def _names(types: Iterable[type]) -> str:
    return " or ".join(sorted("null" if t is _NONE else t.__name__ for t in types))


class Decoder:
    """Incremental: `feed` bytes as they come, get whole frames back as ``(type, payload)``
    (an EVENTS payload is a `Batch`, in this version's schema whatever version wrote it).
    `frame` is the last frame's bytes, as they came; `current` says whether they are in this
    version's schema (else write `encode_frame` of the payload where they are kept). With `coded`, the
    columns coded by dictionary stay so (`decode_batch`)."""

    def __init__(self, limits: Limits = LIMITS, coded: bool = False) -> None:
        self.limits = limits
        self.coded = coded
        self._buf = bytearray()
        self.magic_seen = False
        self.frames = 0
        self.events = 0  # decoded so far
        self.frame = b""
        self.version = VERSION  # the stream's schema version, as its HELLO says

    @property
    def current(self) -> bool:
        return self.version == VERSION

    def feed(self, data: bytes) -> Iterator[tuple[int, Any]]:
        self._buf += data
        if not self.magic_seen:
            if len(self._buf) < len(MAGIC):
                if not MAGIC.startswith(bytes(self._buf)):
                    raise FormatError("not a greenscope stream (bad magic bytes)")
                return
            if not self._buf.startswith(MAGIC[:7]):
                raise FormatError("not a greenscope stream (bad magic bytes)")
            if self._buf[7] != FORMAT:
                raise FormatError(f"stream format {self._buf[7]} is not supported (this greenscope reads {FORMAT})")
            del self._buf[: len(MAGIC)]
            self.magic_seen = True
        while len(self._buf) >= _HEADER.size:
            length, frame_type = self.next_length()
            if len(self._buf) < 4 + length:
                return
            self.frame = bytes(self._buf[: 4 + length])
            del self._buf[: 4 + length]
            self.frames += 1
            yield frame_type, self._payload(frame_type, self.frame)

    def next_length(self) -> tuple[int, int]:
        """The length and type of the frame that starts the buffer (checked); call with 5 bytes buffered."""
        length, frame_type = _HEADER.unpack_from(self._buf)
        if not 1 <= length <= self.limits.frame:
            raise FormatError(f"frame {self.frames + 1}: impossible length {length} (the limit is {self.limits.frame})")
        if frame_type not in FRAME_NAMES:
            raise FormatError(f"frame {self.frames + 1}: unknown frame type {frame_type}")
        return length, frame_type

    @property
    def pending(self) -> int:
        """Bytes received that do not make a whole frame yet."""
        return len(self._buf)

    def _payload(self, frame_type: int, frame: bytes) -> Any:
        where = f"frame {self.frames}"
        most = self.limits.expanded if frame_type == EVENTS else self.limits.control
        try:
            d = zlib.decompressobj()
            raw = d.decompress(memoryview(frame)[5:], most)
            if d.unconsumed_tail:
                raise FormatError(f"{where}: expands past {most} bytes (the limit)")
            if not d.eof or d.unused_data:
                raise FormatError(f"{where}: damaged compressed data (cut short, or more after its end)")
            if frame_type != EVENTS:
                payload = json.loads(raw)
                if frame_type == HELLO:
                    self.version = _version(payload)
                return payload
            batch = decode_batch(raw, self.limits, self.version, self.coded)
        except zlib.error as e:
            raise FormatError(f"{where}: damaged compressed data ({e})") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise FormatError(f"{where}: not JSON ({e})") from None
        except RecursionError:
            raise FormatError(f"{where}: JSON nested too deep") from None
        except FormatError as e:
            raise FormatError(f"{where}: {e}") from None
        self.events += len(batch.kinds)
        total = self.limits.events_total
        if total is not None and self.events > total:
            raise FormatError(f"{where}: more than {total} events in the stream (the limit)")
        return batch


def _version(hello: Any) -> int:
    """The schema version a HELLO payload declares, if this greenscope reads it (else this one's: the
    payload is refused by `check_hello`)."""
    schema = hello.get("schema") if isinstance(hello, dict) else None
    version = schema.get("version") if isinstance(schema, dict) else None
    return version if type(version) is int and version in VERSIONS else VERSION


def check_hello(payload: Any) -> dict:
    """The HELLO payload's process description, or FormatError if it is not one we can read."""
    if not isinstance(payload, dict) or not isinstance(payload.get("schema"), dict):
        raise FormatError("the first frame does not describe the stream")
    version = payload["schema"].get("version")
    if type(version) is not int or version not in VERSIONS:
        known = ", ".join(map(str, VERSIONS))
        raise FormatError(f"event version {version!r} is not supported (this greenscope reads {known})")
    process = payload.get("process")
    if not isinstance(process, dict):
        raise FormatError("the first frame does not say which process was traced")
    for name, value in process.items():
        allowed = FIELD_TYPES.get(name, frozenset({str, int, _NONE}))
        if type(value) not in allowed or (type(value) is list and not all(type(v) is str for v in value)):
            raise FormatError(f"the first frame's process {name} is not {_names(allowed)}")
        size = sum(map(len, value)) if type(value) is list else len(value) if type(value) is str else 0
        if size > HELLO_FIELD:
            raise FormatError(f"the first frame's process {name} is longer than {HELLO_FIELD} characters")
    return process


def read_frames(
    stream: IO[bytes], limits: Limits = LIMITS, chunk: int = 1 << 20, coded: bool = False
) -> Iterator[tuple[int, Any, bytes]]:
    """The frames of a recording read from `stream` a chunk at a time, as ``(type, payload, the
    frame's bytes)``; FormatError if it is cut inside a frame. `coded`: as `Decoder` takes it."""
    decoder = Decoder(limits, coded)
    while data := stream.read(chunk):
        for frame_type, payload in decoder.feed(data):
            yield frame_type, payload, decoder.frame if decoder.current else encode_frame(frame_type, payload)
    if not decoder.magic_seen:
        raise FormatError("not a greenscope recording (too short)")
    if decoder.pending:
        raise FormatError(f"truncated: the file ends inside frame {decoder.frames + 1} ({decoder.pending} bytes)")


def read_recording(source: bytes | IO[bytes], limits: Limits = LIMITS) -> tuple[dict, list[tuple], bool]:
    """A whole recording (its bytes, or a binary file): (process, events, complete). `complete` is
    False when the program stopped without writing END (it crashed); the frames it wrote are all there."""
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    process: dict | None = None
    events: list[tuple] = []
    complete = False
    for frame_type, payload, _ in read_frames(stream, limits):
        if process is None:
            if frame_type != HELLO:
                raise FormatError("the recording does not start with a hello frame")
            process = check_hello(payload)
        elif frame_type == EVENTS:
            events += payload.events()
        elif frame_type == END:
            complete = True
    if process is None:
        raise FormatError("the recording holds no frame")
    return process, events, complete

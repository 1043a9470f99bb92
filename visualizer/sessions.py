"""Sessions: one per traced program (or loaded recording), each with a bounded window of its events.

Events are kept in columns, as they arrive and as they travel to browsers: a `Chunk` per
frame received holds the kind code of each event in order and, per kind present, one
column per field (``ts`` first; int64 arrays where the values are ints, a byte or two per
event where they name a few values over and over: `Coded`). Every frame also
goes, as it came, to the session's recording on disk (`visualizer.archive`): memory holds
only the window viewers are shown. When a session holds more than its window (or the
store needs the memory back), its oldest events leave memory, and the count of what went
(`Session.trimmed`) is what viewers see in its place — loss is never silent, and the
recording on disk still has them.

A session's life: ``starting`` (launched, its agent has not said HELLO yet), ``running``,
then ``ended`` (it exited cleanly), ``crashed`` (it failed, or its stream broke off) or
``stopped`` (on request).
"""

from __future__ import annotations

import bisect
import itertools
import logging
import sys
import threading
import time
from array import array
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from runtime.sinks import FrameFile
from runtime.trace.codec import END, EVENTS, HELLO, LIMITS, MAGIC, FormatError, encode_frame, read_frames, slice_batch
from runtime.trace.events import (
    CLOCK,
    CONTROL,
    DROPPED,
    FIELDS,
    HUB_WAIT,
    KIND_NAMES,
    Batch,
    Coded,
    describe,
    from_columns,
)
from visualizer.archive import Scan, scan, ts_bounds

__all__ = [
    "CRASHED",
    "DEFAULT_WINDOW",
    "ENDED",
    "FINAL",
    "RUNNING",
    "STARTING",
    "STOPPED",
    "Chunk",
    "Coded",
    "Session",
]

log = logging.getLogger(__name__)

STARTING, RUNNING, ENDED, CRASHED, STOPPED = "starting", "running", "ended", "crashed", "stopped"
FINAL = frozenset({ENDED, CRASHED, STOPPED})
DEFAULT_WINDOW = 4_000_000  # events kept in memory per session
STALL_SECONDS = 1.0  # no event for this long, and the hub was not waiting on its poller: it is stalled
_OVERHEAD = 200  # bytes a chunk costs besides its columns (objects, dict, deque slot)


class Chunk:
    """A run of consecutive events, columnar. `first` is the index of its first event in the session."""

    __slots__ = ("columns", "first", "kinds", "nbytes")

    def __init__(self, first: int, kinds: bytes, columns: dict[int, list[Any]]) -> None:
        self.first = first
        self.kinds = kinds
        self.columns = columns  # kind code -> [ts column, then one column per field]
        self.nbytes = _OVERHEAD + len(kinds) + sum(_size(col) for cols in columns.values() for col in cols)

    @classmethod
    def of(cls, first: int, events: Batch | list[tuple]) -> Chunk:
        batch = events if isinstance(events, Batch) else Batch.of(events)
        return cls(first, batch.kinds, {kind: [_int64(col) for col in cols] for kind, cols in batch.columns.items()})

    def __len__(self) -> int:
        return len(self.kinds)

    def events(self) -> list[tuple]:
        """The events as tuples, in order."""
        return from_columns(self.kinds, self.columns)

    def slice(self, lo: int, hi: int) -> Chunk:
        """Its events `lo` to `hi` (indices within the chunk)."""
        part = slice_batch(Batch(self.kinds, self.columns), lo, hi)
        return Chunk(self.first + lo, part.kinds, part.columns)


def _within(chunk: Chunk, lo: int, hi: int) -> Chunk:
    """The part of `chunk` between session indexes `lo` and `hi`."""
    a, b = max(lo - chunk.first, 0), min(hi - chunk.first, len(chunk))
    return chunk if (a, b) == (0, len(chunk)) else chunk.slice(a, b)


def _first_ts(events: Batch | Chunk) -> int:
    """The ts of the first of (non-empty) `events`."""
    return events.columns[events.kinds[0]][0][0]


def wire(chunks: list[Chunk]) -> dict:
    """Consecutive chunks as one batch for the page, its numbers and indexes in one binary block (Socket.IO sends
    it as a single attachment, which the page reads without parsing)::

        {"events": 3, "data": b"...",                   # data[:events]: the kind code of each event, in order
         "columns": {"switch": {"n": 2, "ts": 8, "from": 24, "to": 40},     # n events; byte offsets in data
                     "block": {"n": 1, "ts": 56, ..., "reason": {"table": ["io_read"], "ids": 64},
                               "detail": ["10.0.0.1:80"]}}}                   # neither: a list

    A column of ints is `n` little-endian int64s at its offset (a multiple of 8), as the chunks hold them
    (timestamps on the program's clock: the page subtracts the session's origin, exactly). A column the chunks
    hold coded (`Coded`: a few values over and over) goes coded: its `table` of distinct values, and at offset
    `ids` each event's index in it, `n` little-endian unsigned ints of 1 byte (a table of at most 256 values) or
    2 (aligned). Any other column (mostly distinct values, lists) is a list. So no value is sent one by one in
    JSON, which Socket.IO would walk looking for attachments and the page would parse: the block is made by
    copying arrays, and read in place."""
    kinds = b"".join(c.kinds for c in chunks)
    data = bytearray(kinds)
    columns: dict[str, dict[str, Any]] = {}
    for kind in sorted({k for c in chunks for k in c.columns}):
        parts = [c.columns[kind] for c in chunks if kind in c.columns]
        fields: dict[str, Any] = {"n": sum(len(cols[0]) for cols in parts)}
        for i, name in enumerate(("ts", *FIELDS[kind])):
            cols = [cols[i] for cols in parts]
            if all(isinstance(col, array) and col.typecode == "q" for col in cols):
                fields[name] = _put(data, cols)
            elif (coded := _joined(cols)) is not None:
                fields[name] = {"table": coded.table, "ids": _put(data, [coded.ids])}
            else:
                fields[name] = [v for col in cols for v in (col.tolist() if isinstance(col, array) else col)]
        columns[KIND_NAMES[kind]] = fields
    return {"events": len(kinds), "data": bytes(data), "columns": columns}


def _put(data: bytearray, arrays: list[array]) -> int:
    """Append `arrays` (of one type) to `data`, little-endian, aligned to their item size; the offset they start at."""
    data += bytes(-len(data) % arrays[0].itemsize)
    offset = len(data)
    for values in arrays:
        if sys.byteorder != "little" and values.itemsize > 1:
            values = array(values.typecode, values)
            values.byteswap()
        data += values
    return offset


def _joined(cols: list) -> Coded | None:
    """The columns of a field in consecutive chunks as one `Coded` column, their tables merged; or None where a
    chunk did not code it (its values mostly distinct), or the merged table would not fit 2-byte indexes."""
    if any(not isinstance(col, (Coded, array)) for col in cols):
        return None
    if not all(isinstance(col, Coded) for col in cols):  # ints in one chunk, some None in another: code them all
        return Coded.of([v for col in cols for v in col])
    if len(cols) == 1:
        return cols[0]
    index: dict[tuple[type, Any], int] = {}  # keyed by type too: a chunk's 1 and another's 1.0 stay two values
    for col in cols:
        for value in col.table:
            index.setdefault((type(value), value), len(index))
    if len(index) > 0x10000:
        return None
    ids = array("B" if len(index) <= 0x100 else "H")
    for col in cols:
        to = [index[type(value), value] for value in col.table]
        if col.ids.typecode == ids.typecode and to == list(range(len(to))):
            ids += col.ids
        elif ids.typecode == "B":  # byte to byte, in C
            ids.frombytes(col.ids.tobytes().translate(bytes(to).ljust(256, b"\0")))
        else:
            ids.extend(map(to.__getitem__, col.ids))
    return Coded([value for _, value in index], ids)


def _int64(column: Any) -> Any:
    """An int64 array if every value is an int that fits; else the column coded (`Coded`) if it names a few
    values over and over; else the column as it is."""
    if isinstance(column, (array, Coded)):  # (a frame's "d" column arrives coded)
        return column
    try:
        return array("q", column)
    except (TypeError, OverflowError):  # None, floats, strings
        return Coded.of(column) or column


def _size(column: Any) -> int:
    if isinstance(column, array):
        return column.itemsize * len(column) + 64
    if isinstance(column, Coded):
        return column.nbytes
    return 8 * len(column) + 56  # the pointers; strings are shared (interned), numbers small


class Session:
    """One traced program: who it is, its state, a bounded window of its events, its recording."""

    def __init__(
        self, sid: str, window: int, *, source: str, workload: str | None = None, params: dict | None = None
    ) -> None:
        self.id = sid
        self.source = source  # "launched" (a workload), "agent" (connected by itself) or "recording"
        self.workload = workload
        self.params = params or {}
        self.window = window
        self.hello: dict | None = None  # the HELLO payload: schema and process
        self.pid: int | None = None  # the launcher's child, or what HELLO said
        self.secret: str | None = None  # what a launched program's HELLO must carry
        self.agent: Any = None  # the agent connection streaming it now (`visualizer.agents`)
        self.recording: FrameFile | None = None  # its file on disk, while it is being written
        self.path: Path | None = None  # where its recording is
        self.state = STARTING
        self.started = time.time()
        self.ended: float | None = None
        self.exit_code: int | None = None
        self.error: str | None = None
        self.complete = False  # the stream said END
        self.total = 0  # events received
        self.origin: int | None = None  # its first event's ts: the page's times are from it
        self.trimmed = 0  # oldest events no longer in memory (they are on disk)
        self.lost = 0  # events the program's agent could not send (its `dropped` events and END)
        self.pace: dict[str, Any] | None = None  # the last `control` event: {"action", "speed"}
        self.viewers = 0  # subscribed viewers (the streamer counts them)
        self.used = time.monotonic()  # when it last got events or a viewer
        self.nbytes = 0  # memory its chunks hold
        self.resident = True  # its window is in memory (else: on disk only, read back for a viewer)
        self._chunks: deque[Chunk] = deque()
        self._retained = 0
        self._offsets = array("q")  # file offset of each EVENTS frame in its recording...
        self._firsts = array("q")  # ...the index of its first event...
        self._starts: array | None = array("q")  # ...its first ts and its last (`ts_bounds`; None: not known yet,
        self._ends = array("q")  # for a recording read back: `timed` reads them)
        self._written = 0  # events in its recording
        self._last_kind = 0
        self._last_at = time.monotonic()
        self._lock = threading.Lock()

    @property
    def process(self) -> dict:
        return (self.hello or {}).get("process") or {}

    @property
    def stalled(self) -> bool:
        """Running, silent for `STALL_SECONDS` (but for its clock), and its hub was not waiting on its
        poller: a greenthread holds the hub (blocking code). A hub paused or slowed on purpose is not."""
        silent = time.monotonic() - self._last_at > STALL_SECONDS
        paced = self.pace is not None and self.pace["action"] != "resumed"
        return self.state == RUNNING and self.total > 0 and self._last_kind != HUB_WAIT and silent and not paced

    # ---------------------------------------------------------------- events in

    def start_recording(self, recording: FrameFile, hello: dict) -> None:
        """Write to `recording` from now on, starting with `hello` (schema and process)."""
        self.hello = hello
        self.recording = recording
        self.path = Path(recording.path)
        recording.write(encode_frame(HELLO, hello))

    def append(self, batch: Batch, frame: bytes | None = None) -> int:
        """Add a batch of events (and write `frame`, its EVENTS frame, or one made of it, to the
        recording); the oldest leave memory when the window is full. Returns the change in `nbytes`."""
        if not batch.kinds:
            return 0
        with self._lock:
            if self.origin is None:
                self.origin = _first_ts(batch)
            if self.recording is not None:
                offset = self.recording.size
                if self.recording.write(frame or encode_frame(EVENTS, batch)):
                    self._offsets.append(offset)
                    self._firsts.append(self.total)
                    if self._starts is not None:
                        first, last = ts_bounds(batch)
                        self._starts.append(first)
                        self._ends.append(last)
                    self._written = self.total + len(batch.kinds)
                else:
                    self._recording_failed()
            if DROPPED in batch.columns:
                self.lost += sum(batch.columns[DROPPED][1])
            if CONTROL in batch.columns:
                _, actions, speeds = batch.columns[CONTROL]
                self.pace = {"action": actions[-1], "speed": speeds[-1]}
            said = batch.kinds.rstrip(bytes([CLOCK]))  # the clock says time passed, not that the hub ran
            if said:
                self._last_kind = said[-1]
                self._last_at = time.monotonic()
            self.used = time.monotonic()
            before = self.nbytes
            self._add(Chunk.of(self.total, batch))
            self.total += len(batch.kinds)
            return self.nbytes - before

    def end(self, dropped: int, note: str | None = None) -> None:
        """The stream's END: it says `dropped` events were lost since its last report, and perhaps
        something the user must know (why nothing was traced): that is shown as the session's error."""
        with self._lock:
            self.lost += dropped
            self.complete = True
            if note:
                self.error = self.error or note
            end = {"dropped": dropped} if note is None else {"dropped": dropped, "note": note}
            if self.recording is not None and not self.recording.write(encode_frame(END, end)):
                self._recording_failed()

    def close_recording(self) -> None:
        with self._lock:
            if self.recording is not None:
                self.recording.close()
                self.recording = None

    def _recording_failed(self) -> None:
        self.error = self.error or f"recorded to disk up to event {self.total}: {self.recording.error}"
        log.warning("session %s: %s", self.id, self.error)
        self.recording = None

    def _add(self, chunk: Chunk) -> None:
        self._chunks.append(chunk)
        self._retained += len(chunk)
        self.nbytes += chunk.nbytes
        while self._retained > self.window:
            excess = self._retained - self.window
            oldest = self._chunks[0]
            if len(oldest) <= excess:
                self._drop_oldest()
            else:
                self._chunks[0] = oldest.slice(excess, len(oldest))
                self.nbytes += self._chunks[0].nbytes - oldest.nbytes
                self._retained -= excess
                self.trimmed += excess

    def _drop_oldest(self) -> int:
        oldest = self._chunks.popleft()
        self._retained -= len(oldest)
        self.trimmed += len(oldest)
        self.nbytes -= oldest.nbytes
        return oldest.nbytes

    # ---------------------------------------------------------------- memory

    def shed(self, nbytes: int, keep: int = 1) -> int:
        """Let go of the oldest chunks, at least `nbytes` if it can, keeping `keep` chunks; the bytes freed."""
        freed = 0
        with self._lock:
            while freed < nbytes and len(self._chunks) > keep:
                freed += self._drop_oldest()
            if not self._chunks:
                self.resident = False
        return freed

    def reload(self) -> None:
        """Read its window back from its recording (after `shed` emptied memory, or after a restart)."""
        with self._lock:
            if self.resident or self.path is None:
                return
            if not self._offsets:
                self._index(scan(self.path))
            start = max(self.total - self.window, 0)
            at = max(bisect.bisect_right(self._firsts, start) - 1, 0)
            if not self._offsets:
                self.resident = True
                return
            for chunk in _chunks_from(self.path, self._offsets[at], self._firsts[at]):
                self._add(chunk)
            if self.origin is None and self._chunks:  # (a description from before origins were kept)
                self.origin = _first_ts(self._chunks[0])
            self.trimmed = self.total - self._retained
            self.resident = True
            self.used = time.monotonic()

    def _index(self, found: Scan) -> None:
        self._offsets, self._firsts, self._written = found.offsets, found.firsts, found.total
        self._starts, self._ends = found.starts, found.ends or array("q")

    def restore(self, description: dict[str, Any], found: Scan | None = None) -> None:
        """What it was (after a restart), not in memory: as its `description` says, or as its
        recording says (`found`) if it was being written."""
        process = description.get("process")
        self.hello = {"schema": describe(), "process": process} if isinstance(process, dict) else None
        origin = description.get("origin")
        self.origin = int(origin) if isinstance(origin, str) and origin.isdigit() else None
        if found is None:
            self._starts = None  # its frames are read when it is needed (`reload`, `timed`)
            self.total, self.lost = int(description.get("events") or 0), int(description.get("lost") or 0)
            self.complete = bool(description.get("complete"))
        else:
            self._index(found)
            self.hello = found.hello or self.hello
            self.total, self.lost, self.complete = found.total, found.lost, found.complete
        self.trimmed = self.total
        self.resident = False

    # ---------------------------------------------------------------- its recording, by time

    def timed(self) -> bool:
        """Make sure the index knows the times of every frame of its recording (reading a recording that was read
        back once, the first time); False if it has no recording."""
        with self._lock:
            path, known = self.path, self._starts is not None
        if path is None or known:
            return path is not None
        found = scan(path, times=True)  # (unlocked: the recording of a session read back is not written to)
        with self._lock:
            if self._starts is None:
                self._index(found)
        return True

    def _frames(self) -> tuple[array, array, array, int, int]:
        """Its recording's index by time as it is now (`timed`): each frame's first ts, last ts and first event,
        the events written, and its origin."""
        self.timed()
        with self._lock:
            return self._starts or array("q"), self._ends, self._firsts, self._written, self.origin or 0

    def overview(self, buckets: int) -> dict[str, Any]:
        """Its recording as `buckets` equal spans of time from its first event to its last: the events in each
        (each frame's spread evenly over its span: a share of one where a few are spread over many buckets),
        ``{"span": ns, "counts": [...], "events": n}``."""
        starts, ends, firsts, written, origin = self._frames()
        counts = [0.0] * (buckets + 1)  # (the last: a frame's end at the very end)
        steps = [0.0] * (buckets + 1)  # what each frame adds to every bucket it covers whole, as steps up and down
        span = max(max(ends, default=origin) - origin, 1)
        scale = buckets / span
        sizes = [b - a for a, b in itertools.pairwise(itertools.chain(firsts, (written,)))]
        for a, b, n in zip(starts, ends, sizes, strict=True):  # (frames + buckets: one step a frame)
            x0, x1 = (a - origin) * scale, (b - origin) * scale
            lo, hi = int(x0), int(x1)
            if lo == hi or lo < 0 or hi > buckets or hi < lo:  # within one bucket (or out of order, or out of the span)
                counts[min(max(lo, 0), buckets - 1)] += n
                continue
            per = n / (x1 - x0)  # events per bucket
            counts[lo] += per * (lo + 1 - x0)
            counts[hi] += per * (x1 - hi)
            steps[lo + 1] += per
            steps[hi] -= per
        counts[buckets - 1] += counts.pop()
        counts = [c + d for c, d in zip(counts, itertools.accumulate(steps), strict=False)]
        whole = [round(c, 2) for c in itertools.accumulate(counts, initial=0.0)]  # rounded as they add up: the sum
        return {"span": span, "counts": [round(b - a, 2) for a, b in itertools.pairwise(whole)], "events": written}

    def locate(self, start: int, stop: int, most: int) -> tuple[int, int]:
        """The events of its recording's frames that reach into [start, stop] (ns since its first event), as
        indexes ``(lo, hi)``: at most `most` of them, from the first (lo == hi: none there)."""
        starts, ends, firsts, written, origin = self._frames()
        i = bisect.bisect_left(ends, start + origin)
        j = bisect.bisect_right(starts, stop + origin)
        if i >= j:
            return (firsts[i], firsts[i]) if i < len(firsts) else (written, written)
        lo, hi = firsts[i], firsts[j] if j < len(firsts) else written
        return lo, min(hi, lo + most)

    def read(self, lo: int, hi: int) -> list[Chunk]:
        """Its events `lo` to `hi`: from memory if it holds them all, else from its recording (as much of them as
        it holds: fewer if the file was cut, or cannot be read)."""
        with self._lock:
            if self._chunks and self._chunks[0].first <= lo:
                return [_within(c, lo, hi) for c in self._chunks if c.first < hi and c.first + len(c) > lo]
            at = bisect.bisect_right(self._firsts, lo) - 1
            if self.path is None or at < 0:
                return []
            offset, first = self._offsets[at], self._firsts[at]
        out = []
        try:
            for chunk in _chunks_from(self.path, offset, first):
                if chunk.first + len(chunk) > lo:
                    out.append(_within(chunk, lo, hi))
                if chunk.first + len(chunk) >= hi:
                    break
        except OSError as e:
            log.warning("session %s: cannot read events %d to %d back: %s", self.id, lo, hi, e)
        return out

    # ---------------------------------------------------------------- events out

    def since(self, index: int) -> tuple[int, list[Chunk]]:
        """The chunks holding events from `index` on, and how many events from `index` are not
        in memory before them. A chunk may start before `index`, never after it."""
        with self._lock:
            oldest = self._chunks[0].first if self._chunks else self.total
            skipped = max(oldest - index, 0)
            chunks = [c for c in self._chunks if c.first + len(c) > index]
        return skipped, chunks

    def chunks(self) -> list[Chunk]:
        with self._lock:
            return list(self._chunks)

    def events(self) -> list[tuple]:
        """The events in memory, in order."""
        return [ev for c in self.chunks() for ev in c.events()]

    def description(self) -> dict[str, Any]:
        """What the data directory keeps of it besides its recording: `to_dict`, and its process."""
        return {**self.to_dict(), "process": self.process}

    def to_dict(self) -> dict[str, Any]:
        process = self.process
        return {
            "id": self.id,
            "source": self.source,
            "workload": self.workload,
            "params": self.params,
            "pid": self.pid,
            "program": process.get("program"),
            "argv": process.get("argv"),
            "runtime": process.get("runtime"),  # what the program ran on, and its version
            "state": self.state,
            "stalled": self.stalled,
            "started": self.started,
            "ended": self.ended,
            "exit_code": self.exit_code,
            "error": self.error,
            "complete": self.complete,
            "events": self.total,
            "origin": None if self.origin is None else str(self.origin),  # a string: past 2**53 ns of uptime
            "retained": self._retained,
            "trimmed": self.trimmed,
            "lost": self.lost,
            "pace": self.pace,
            "poller": process.get("poller"),
        }


def _chunks_from(path: Path, offset: int, first: int) -> Iterator[Chunk]:
    """The EVENTS frames of the recording at `path` from the one at `offset` (its first event: session index
    `first`) on, a chunk each; to a frame cut short (a server killed as it wrote): what came before is there."""
    with path.open("rb") as f:
        f.seek(offset)
        try:
            for frame_type, batch, _ in read_frames(_Prefixed(MAGIC, f), LIMITS, coded=True):
                if frame_type == EVENTS:
                    yield Chunk.of(first, batch)
                    first += len(batch.kinds)
        except FormatError:
            return


class _Prefixed:
    """A binary stream that reads `prefix` first, then `f` (a recording read from one of its frames on)."""

    def __init__(self, prefix: bytes, f: Any) -> None:
        self._prefix = prefix
        self._f = f

    def read(self, n: int) -> bytes:
        if self._prefix:
            head, self._prefix = self._prefix, b""
            return head
        return self._f.read(n)

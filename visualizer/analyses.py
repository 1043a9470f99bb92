"""The analysis of sessions (`runtime.trace.analysis`), served to the page.

A session's whole-run analysis is kept up to date lazily: each request reads, from the
session's recording on disk, only the frames written since the last one, and feeds them
to its `Analyzer` — nothing is analysed unless someone looks, and a live session costs
what came since. A range (the page's shift-drag) is analysed afresh from the start of the
recording up to the range's end. At most `keep` sessions' analyzers stay in memory (the
least recently asked for go first), and one analysis runs at a time per session.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from runtime.trace.analysis import Analyzer
from runtime.trace.codec import EVENTS, LIMITS, Decoder, FormatError

__all__ = ["Analyses"]

_READ = 1 << 20  # bytes read from a recording at a time


@dataclass
class _Kept:
    analyzer: Analyzer = field(default_factory=Analyzer)
    decoder: Decoder = field(default_factory=lambda: Decoder(LIMITS))
    offset: int = 0  # bytes of the recording read so far
    lock: threading.Lock = field(default_factory=threading.Lock)


class Analyses:
    """Per session, its analysis; `report(...)` is what ``GET /api/sessions/<id>/analysis`` answers."""

    def __init__(self, keep: int = 8) -> None:
        self.keep = keep
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._lock = threading.Lock()

    def report(self, sid: str, path: Path, size: int, *, start: int | None, stop: int | None, tasks: int, sort: str):
        """The analysis of the recording at `path` (its first `size` bytes are whole frames): of the whole
        run, brought up to date, or of [start, stop) only. FormatError if the recording cannot be read."""
        if start is not None or stop is not None:
            analyzer = Analyzer(start, stop)
            _feed(analyzer, Decoder(LIMITS), path, 0, size, stop)
            return analyzer.report(tasks, sort)
        kept = self._kept_for(sid)
        with kept.lock:
            kept.offset = _feed(kept.analyzer, kept.decoder, path, kept.offset, size, None)
            return kept.analyzer.report(tasks, sort)

    def forget(self, sid: str) -> None:
        """Drop a session's analysis (it was deleted)."""
        with self._lock:
            self._kept.pop(sid, None)

    def _kept_for(self, sid: str) -> _Kept:
        with self._lock:
            kept = self._kept.pop(sid, None) or _Kept()
            self._kept[sid] = kept  # the most recently asked for, last
            while len(self._kept) > self.keep:
                self._kept.popitem(last=False)
            return kept


def _feed(analyzer: Analyzer, decoder: Decoder, path: Path, offset: int, size: int, stop: int | None) -> int:
    """Feed the events of `path` from byte `offset` to `size` (whole frames); stop early past `stop` (ns). Where
    it got to."""
    with path.open("rb") as f:
        f.seek(offset)
        while offset < size:
            data = f.read(min(_READ, size - offset))
            if not data:
                break
            offset += len(data)
            for frame_type, payload in decoder.feed(data):
                if frame_type != EVENTS:
                    continue
                events = payload.events()
                analyzer.feed(events)
                if stop is not None and events and min(ev[1] for ev in events) > stop:
                    return offset  # a frame wholly after the range: the rest is too
    if decoder.pending and offset >= size:
        raise FormatError(f"the recording ends inside a frame at byte {size}")
    return offset

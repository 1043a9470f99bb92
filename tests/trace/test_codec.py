"""EVENTS frames: every value comes back as it went in, in the column type it fits."""

from __future__ import annotations

import json
import struct
import zlib

import pytest

from runtime.trace.codec import EVENTS, MAGIC, Decoder, encode_frame
from runtime.trace.events import BLOCK, EXIT, HUB_WAIT, SPAWN, SWITCH, Batch


def roundtrip(events: list[tuple]) -> tuple[list[tuple], dict[tuple[int, int], str]]:
    """The events decoded from their frame, and each column's type ("i" or "j") by (kind, field)."""
    frame = encode_frame(EVENTS, events)
    raw = zlib.decompress(frame[5:])
    (hlen,) = struct.unpack_from(">I", raw)
    types = {(kind, field): kind_of for kind, field, kind_of, _ in json.loads(raw[4 : 4 + hlen])["columns"]}
    [(frame_type, decoded)] = Decoder().feed(MAGIC + frame)
    assert frame_type == EVENTS
    return decoded, types


@pytest.mark.parametrize(
    ("values", "kind_of"),
    [
        ([0, 1, 2**63 - 1], "i"),
        ([-5, 3], "i"),  # negative: the signed conversion
        ([1, 2**63], "j"),  # past int64: JSON
        ([1, 2**64 + 1], "j"),
        ([1, None], "j"),
        ([-1, None], "j"),
        ([-1, 2**64], "j"),
        ([1, 2.5], "j"),
    ],
)
def test_int_columns(values, kind_of):
    events = [(SWITCH, ts, ts, 0) for ts in values]
    decoded, types = roundtrip(events)
    assert decoded == events
    assert types[(SWITCH, 0)] == kind_of and types[(SWITCH, 1)] == kind_of and types[(SWITCH, 2)] == "i"


@pytest.mark.parametrize(
    "texts",
    [
        ["io_read", "sleep", ""],
        ['say "hi"', "a\\b", "tab\there", "new\nline", "\x00", "\x7f"],
        ["café", "日本", "\udc80"],  # non-ASCII, and a lone surrogate (from a file name)
        [None, None],
        ["x", None],
        ['", "', '","'],  # the separator itself, inside values
    ],
)
def test_string_columns(texts):
    events = [(EXIT, i, 2, text, None) for i, text in enumerate(texts)]
    decoded, types = roundtrip(events)
    assert decoded == events
    assert types[(EXIT, 2)] == "j" and types[(EXIT, 3)] == "j"


def test_mixed_kinds_keep_their_order():
    events = [
        (SPAWN, 1, 2, 1, "main.<locals>.f", "main.py:3", None),
        (SWITCH, 2, 1, 2),
        (BLOCK, 3, 2, "sleep", None, 0.5),
        (HUB_WAIT, 4, 0.5),
        (SWITCH, 5, 2, 0),
    ]
    assert roundtrip(events)[0] == events
    assert Batch.of(events).events() == events
    assert Batch.of(events).column(SWITCH, 2) == [2, 0]

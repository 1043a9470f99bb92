"""Frames: every value comes back as it went in, in the column type it fits; and nothing else comes
back at all — damaged, crafted, type-confused or oversized input is a `FormatError`, never a crash later."""

from __future__ import annotations

import io
import json
import struct
import sys
import zlib
from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.trace import codec
from runtime.trace.chrome import to_chrome
from runtime.trace.codec import (
    END,
    EVENTS,
    FIELD_TYPES,
    HELLO,
    LIMITS,
    MAGIC,
    Decoder,
    FormatError,
    Limits,
    check_hello,
    encode_frame,
    encode_frames,
    read_frames,
    read_recording,
)
from runtime.trace.events import (
    BLOCK,
    EXIT,
    FIELDS,
    HUB_WAIT,
    HUB_WAKE,
    KIND_NAMES,
    SPAWN,
    STALL,
    SWITCH,
    Batch,
    Coded,
    describe,
)
from tests.support.fuzz import FUZZ

PROCESS = {"pid": 1, "argv": ["p.py"], "program": "p.py", "version": "0"}


def roundtrip(events: list[tuple]) -> tuple[list[tuple], dict[tuple[int, int], str]]:
    """The events decoded from their frame, and each column's type ("n", "d" or "j") by (kind, field)."""
    decoded, columns = roundtrip_columns(events)
    return decoded, {key: kind_of for key, (kind_of, _) in columns.items()}


def roundtrip_columns(events: list[tuple]) -> tuple[list[tuple], dict[tuple[int, int], tuple[str, bytes]]]:
    """The events decoded from their frame, and each column's type and bytes by (kind, field)."""
    frame = encode_frame(EVENTS, events)
    raw = zlib.decompress(frame[5:])
    (hlen,) = struct.unpack_from(">I", raw)
    header = json.loads(raw[4 : 4 + hlen])
    columns, pos = {}, 4 + hlen + header["n"]
    for kind, field, kind_of, size in header["columns"]:
        columns[(kind, field)] = (kind_of, raw[pos : pos + size])
        pos += size
    [(frame_type, decoded)] = Decoder().feed(MAGIC + frame)
    assert frame_type == EVENTS
    return decoded.events(), columns


def events_frame(n: int, columns: list, blobs: list[bytes], kinds: bytes) -> bytes:
    """An EVENTS frame made by hand: header, kind codes, column blobs."""
    head = json.dumps({"n": n, "columns": columns}).encode()
    raw = struct.pack(">I", len(head)) + head + kinds + b"".join(blobs)
    body = zlib.compress(raw)
    return struct.pack(">IB", len(body) + 1, EVENTS) + body


def recording(*frames: bytes) -> bytes:
    return MAGIC + encode_frame(HELLO, {"schema": describe(), "process": PROCESS}) + b"".join(frames)


@pytest.mark.parametrize(
    ("values", "kind_of"),
    [
        ([0, 1, 2**63 - 1], "n"),
        ([-5, 3], "n"),  # negative: the signed conversion
        ([1, 2**63], "j"),  # past int64: JSON
        ([1, 2**64 + 1], "j"),
    ],
)
def test_int_columns(values, kind_of):
    events = [(SWITCH, ts, ts, 0) for ts in values]
    decoded, types = roundtrip(events)
    assert decoded == events
    assert types[(SWITCH, 0)] == kind_of and types[(SWITCH, 1)] == kind_of and types[(SWITCH, 2)] == "n"


@pytest.mark.parametrize(
    ("values", "mode", "width"),
    [
        ([10**15 + 3000 * i for i in range(100)], b"S", 2),  # times: in steps, each 3,000 ns after the one before
        ([10**15, 10**15 + 70_000], b"S", 4),
        ([7, 9, 8, 300], b"O", 2),  # down and up: offsets from the smallest
        ([-(2**63), 2**63 - 1], b"S", 8),
        ([2**63 - 1, -(2**63)], b"O", 8),
        ([5], b"S", 1),
    ],
)
def test_int_columns_are_narrowed_in_steps_or_offsets(values, mode, width):
    """An int column travels as its base and each value's step (or offset) in the fewest bytes that hold them."""
    events = [(SWITCH, ts, 1, 2) for ts in values]
    decoded, columns = roundtrip_columns(events)
    assert decoded == events
    kind_of, blob = columns[(SWITCH, 0)]
    assert (kind_of, blob[:2], len(blob)) == ("n", mode + bytes([width]), 10 + width * len(values))


int64s = st.lists(st.integers(-(2**63), 2**63 - 1), max_size=40)


@given(st.one_of(int64s, int64s.map(sorted)))
def test_narrowing_round_trips_in_c_and_in_python(values):
    raw = array("q", values).tobytes() if sys.byteorder == "little" else _little(values)
    blob = codec._narrow_in_python(raw)
    assert codec._narrow(raw) == blob
    if sys.byteorder == "little":  # (the encoder hands an array("q") over as it is there)
        assert codec._narrow_in_python(array("q", values)) == codec._narrow(array("q", values)) == blob
    assert array("q", codec._widen(blob, len(values))) == array("q", values)
    assert codec._widen_in_python(blob, len(values)) == codec._widen(blob, len(values))


def _little(values: list[int]) -> bytes:
    packed = array("q", values)
    packed.byteswap()
    return packed.tobytes()


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (struct.pack("<cBq", b"s", 1, 2**63 - 2) + bytes([0, 1, 1]), "past int64"),
        (struct.pack("<cBq", b"o", 8, -1) + struct.pack("<Q", 2**64 - 1) * 3, "past int64"),
        (struct.pack("<cBq", b"o", 2, 0) + bytes(5), "damaged"),  # 5 bytes for 3 values of 2
        (struct.pack("<cBq", b"x", 1, 0) + bytes(3), "damaged"),
        (struct.pack("<cBq", b"s", 3, 0) + bytes(9), "damaged"),
        (struct.pack("<cBq", b"S", 1, 2**63 - 2) + bytes([0, 1, 1]), "past int64"),
        (struct.pack("<cBq", b"O", 4, 0) + bytes(11), "damaged"),
        (b"s\x01", "damaged"),
    ],
)
def test_a_damaged_narrowed_column_is_refused(blob: bytes, message: str):
    fine = struct.pack("<cBq", b"o", 1, 0) + bytes(3)
    columns = [[HUB_WAKE, 0, "n", len(blob)], [HUB_WAKE, 1, "n", len(fine)], [HUB_WAKE, 2, "n", len(fine)]]
    frame = events_frame(3, columns, [blob, fine, fine], bytes([HUB_WAKE]) * 3)
    for widen in {codec._widen, codec._widen_in_python}:
        with pytest.raises(ValueError, match=message):
            widen(blob, 3)
    with pytest.raises(FormatError, match=f"field ts column is not whole: .*{message}"):
        list(Decoder().feed(MAGIC + frame))


def test_narrowed_values_travel_in_byte_planes():
    """Every value's lowest byte, then every value's next: the high planes of times (steps of a few µs in
    4 bytes) are nearly all zeros, which zlib compresses for next to nothing."""
    blob = codec._narrow(array("q", [10**15, 10**15 + 70_000, 10**15 + 70_001]).tobytes())
    steps = [0, 70_000, 1]  # 0x11170 in 4 bytes: 70 11 01 00
    planes = bytes(s >> (8 * b) & 0xFF for b in range(4) for s in steps)
    assert blob == struct.pack("<cBq", b"S", 4, 10**15) + planes
    assert planes == bytes([0, 0x70, 1, 0, 0x11, 0, 0, 1, 0, 0, 0, 0])


@pytest.mark.parametrize("mode", [b"s", b"o"])
def test_columns_narrowed_before_the_byte_planes_still_decode(mode: bytes):
    """Agents before the planes wrote each value's bytes together (modes `s` and `o`)."""
    values = [1000, 1300, 70_000]
    parts = [1000 - 1000, 300, 70_000 - 1300] if mode == b"s" else [0, 300, 69_000]
    column = struct.pack("<cBq", mode, 4, 1000) + struct.pack("<3I", *parts)
    frame = events_frame(3, [[SWITCH, f, "n", len(column)] for f in range(3)], [column] * 3, bytes([SWITCH]) * 3)
    for widen in {codec._widen, codec._widen_in_python}:
        assert array("q", widen(column, 3)).tolist() == values
    [(_, batch)] = Decoder().feed(MAGIC + frame)
    assert batch.events() == [(SWITCH, v, v, v) for v in values]


def test_int64_columns_from_before_narrowing_still_decode():
    column = array("q", [5, 9]).tobytes() if sys.byteorder == "little" else _little([5, 9])
    frame = events_frame(2, [[SWITCH, f, "i", 16] for f in range(3)], [column] * 3, bytes([SWITCH]) * 2)
    [(_, batch)] = Decoder().feed(MAGIC + frame)
    assert batch.events() == [(SWITCH, 5, 5, 5), (SWITCH, 9, 9, 9)]


@pytest.mark.parametrize(
    "texts",
    [
        ["io_read", "sleep", ""],
        ['say "hi"', "a\\b", "tab\there", "new\nline", "\x00", "\x7f"],
        ["café", "日本", "\udc80"],  # non-ASCII, and a lone surrogate (from a file name)
        ['", "', '","'],  # the separator itself, inside values
    ],
)
def test_string_columns(texts):
    events = [(EXIT, i, 2, text, None) for i, text in enumerate(texts)]
    decoded, types = roundtrip(events)
    assert decoded == events
    assert types[(EXIT, 2)] == "j" and types[(EXIT, 3)] == "d"  # all different: JSON; all None: by dictionary


@pytest.mark.parametrize("texts", [["io_read", "sleep"], ['say "hi"', "new\nline", "café", "\udc80", '","', ""]])
def test_repeated_values_are_coded_by_dictionary_and_come_back_the_same_objects(texts):
    where = [None, 7, *texts]
    events = [(BLOCK, i, 2, texts[i % len(texts)], None, where[i % len(where)], texts[0]) for i in range(60)]
    decoded, types = roundtrip(events)
    assert decoded == events
    assert {types[(BLOCK, f)] for f in (2, 3, 4, 5)} == {"d"}  # reason; obj (all None); detail (str, int, None)
    assert len({id(ev[3]) for ev in decoded}) == len(texts)  # one object per distinct string


@pytest.mark.parametrize(
    "details",
    [
        ["a", 0, 0.0] * 4,  # a float is not its int (as a key it would be)
        [f"peer {i}" for i in range(8)],  # more than half distinct: no gain
    ],
)
def test_what_a_dictionary_would_confuse_or_not_shrink_stays_json(details):
    events = [(BLOCK, i, 2, "sleep", None, d, None) for i, d in enumerate(details)]
    decoded, types = roundtrip(events)
    assert decoded == events and [type(ev[5]) for ev in decoded] == [type(d) for d in details]
    assert types[(BLOCK, 4)] == "j"


@pytest.mark.parametrize("distinct", [256, 257, 65537])
def test_the_index_width_grows_with_the_table(distinct):
    """1-byte indexes up to 256 distinct values, 2 bytes up to 65,536, then 4."""
    events = [(EXIT, i, 2, "ok", f"e{i % distinct}") for i in range(2 * distinct)]
    decoded, types = roundtrip(events)
    assert decoded == events and types[(EXIT, 3)] == "d"


@pytest.mark.skipif(codec._dictionary is codec._dictionary_in_python, reason="runtime.trace._columns is not built")
@pytest.mark.parametrize(
    "values",
    [
        ["a", "b", "a", None, 3, 3, "a", None],
        ["x"] * 300 + [str(i) for i in range(299)],
        [1, True, 1, 1],
        [0.5, 0.5],
        [[], []],
        ["one"],
        [],
    ],
)
def test_the_c_coding_is_the_python_one(values):
    assert codec._dictionary(values) == codec._dictionary_in_python(values)


def _d_column(table: list, ids: bytes) -> bytes:
    head = json.dumps(table).encode()
    return struct.pack("<I", len(head)) + head + ids


def test_a_stack_coded_by_dictionary_is_refused():
    """A stall's stack is a list of strings: a "d" column of it is not one this codec writes."""
    blob = _d_column(["a"], bytes([0]))
    columns = [[STALL, 0, "i", 8], [STALL, 1, "i", 8], [STALL, 2, "i", 8], [STALL, 3, "d", len(blob)]]
    frame = events_frame(1, columns, [bytes(8), bytes(8), bytes(8), blob], bytes([STALL]))
    with pytest.raises(FormatError, match="field stack column is coded by dictionary"):
        read_recording(recording(frame), LIMITS)


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (_d_column(["a", "b"], bytes([0, 2, 1])), "points past its table"),
        (_d_column(["a", "b"], bytes([0, 1])), "wrong length"),
        (_d_column(["a", "b"], bytes([0, 1, 1, 0])), "wrong length"),
        (_d_column(["a", True], bytes([0, 1, 1])), "holds bool"),
        (_d_column(["a", 0.5], bytes([0, 1, 1])), "holds float"),
        (_d_column([], bytes([0, 0, 0])), "damaged table"),
        (struct.pack("<I", 99) + b'["a"]' + bytes(3), "damaged table"),
        (struct.pack("<I", 3) + b'["a' + bytes(3), "damaged table"),
        (b"\x01", "damaged table"),
    ],
)
@pytest.mark.parametrize("coded", [False, True])
def test_a_damaged_dictionary_column_is_refused(blob: bytes, message: str, coded: bool):
    outcomes = b'["a","b","c"]'
    columns = [[EXIT, 0, "i", 24], [EXIT, 1, "i", 24], [EXIT, 2, "j", len(outcomes)], [EXIT, 3, "d", len(blob)]]
    frame = events_frame(3, columns, [bytes(24), bytes(24), outcomes, blob], bytes([EXIT]) * 3)
    with pytest.raises(FormatError, match=message):
        list(read_frames(io.BytesIO(recording(frame)), LIMITS, coded=coded))


@pytest.mark.parametrize("distinct", [3, 256, 257, 65536, 65537])
def test_a_reader_may_keep_dictionary_columns_coded_and_they_are_written_back_the_same(distinct):
    """`coded`: a "d" column comes as a `Coded` (its table and indexes as they came, no list of values) where
    its indexes are 1 or 2 bytes; written again, it is the same "d" column, byte for byte."""
    events = [(EXIT, i, 2, "ok", f"e{i % distinct}") for i in range(2 * distinct)]
    frame = encode_frame(EVENTS, events)
    [(_, plain)] = Decoder().feed(MAGIC + frame)
    [(_, kept)] = Decoder(coded=True).feed(MAGIC + frame)
    column = kept.columns[EXIT][3]
    assert isinstance(column, Coded) == (distinct <= 0x10000)
    assert not isinstance(plain.columns[EXIT][3], Coded)
    assert kept.events() == plain.events() == events
    assert encode_frame(EVENTS, kept) == frame


def test_mixed_kinds_keep_their_order():
    events = [
        (SPAWN, 1, 2, 1, "main.<locals>.f", "main.py:3", None),
        (SWITCH, 2, 1, 2),
        (BLOCK, 3, 2, "sleep", None, 0.5, "main.py:4 in f"),
        (HUB_WAIT, 4, 0, 0.5),
        (SWITCH, 5, 2, 0),
        (HUB_WAIT, 6, 0, None),
    ]
    assert roundtrip(events)[0] == events
    assert Batch.of(events).events() == events
    assert Batch.of(events).column(SWITCH, 2) == [2, 0]


def test_big_batches_go_in_frames_of_a_bounded_size():
    events = [(SWITCH, i, i % 7, 0) for i in range(10)] + [(HUB_WAKE, 99, 0, 3)]
    frames = encode_frames(Batch.of(events), max_events=4)
    assert len(frames) == 3
    decoded = [e for _, batch in Decoder().feed(MAGIC + b"".join(frames)) for e in batch.events()]
    assert decoded == events


def test_every_field_of_every_kind_has_a_type():
    assert {name for fields in FIELDS.values() for name in fields} <= set(FIELD_TYPES)


# ---------------------------------------------------------------- limits


def test_a_decompression_bomb_is_refused_by_its_event_count():
    """15M zeroed hub_wake events in one 250 KB frame once took the server to 1.8 GB."""
    n = 15_000_000
    bomb = events_frame(
        n, [[HUB_WAKE, 0, "i", 8 * n], [HUB_WAKE, 1, "i", 8 * n]], [bytes(16 * n)], bytes([HUB_WAKE]) * n
    )
    assert len(bomb) < 400_000
    with pytest.raises(FormatError, match=r"expands past|events \(the limit"):
        read_recording(recording(bomb))
    with pytest.raises(FormatError, match=r"frame 2: an events frame of 15000 events \(the limit is 10000\)"):
        read_recording(recording(events_frame(15000, [], [], b"")), Limits(events=10_000))


def test_a_stream_holds_a_bounded_number_of_events():
    frame = encode_frame(EVENTS, [(SWITCH, i, 1, 0) for i in range(1000)])
    with pytest.raises(FormatError, match="more than 2500 events in the stream"):
        read_recording(recording(frame, frame, frame), Limits(events_total=2500))


def test_a_frame_larger_than_the_limit_is_refused_before_it_arrives():
    decoder = Decoder(Limits(frame=1000))
    with pytest.raises(FormatError, match="impossible length 1001"):
        list(decoder.feed(MAGIC + struct.pack(">IB", 1001, EVENTS)))


def test_a_huge_hello_is_refused():
    """A 600 KB HELLO whose argv expanded to 100 MB once made every session list 100 MB long."""
    hello = encode_frame(HELLO, {"schema": describe(), "process": {**PROCESS, "argv": ["x" * 1000] * 100_000}})
    with pytest.raises(FormatError, match="expands past 65536 bytes"):
        list(Decoder().feed(MAGIC + hello))


@pytest.mark.parametrize(
    ("process", "message"),
    [
        ({**PROCESS, "pid": "1"}, "pid is not int"),
        ({**PROCESS, "argv": [1, 2]}, "argv is not list"),
        ({**PROCESS, "program": ["a"]}, "program is not str"),
        ({**PROCESS, "extra": {"nested": 1}}, "extra is not"),
        ({**PROCESS, "argv": ["x" * 1000] * 40}, "argv is longer than 32768 characters"),
        ({**PROCESS, "program": "p" * 40_000}, "program is longer than"),
    ],
)
def test_a_hello_with_the_wrong_types_is_refused(process, message):
    with pytest.raises(FormatError, match=message):
        check_hello({"schema": describe(), "process": process})


def test_json_nested_too_deep_is_a_format_error():
    deep = zlib.compress(b"[" * 100_000 + b"]" * 100_000)
    frame = struct.pack(">IB", len(deep) + 1, END) + deep
    with pytest.raises(FormatError, match="frame 1"):
        list(Decoder(Limits(control=1 << 20)).feed(MAGIC + frame))


# ---------------------------------------------------------------- crafted types


def _column_of(kind: int, field: int, values: list) -> tuple[list, bytes]:
    blob = json.dumps(values).encode()
    return [kind, field, "j", len(blob)], blob


@pytest.mark.parametrize(
    ("kind", "bad_field", "values", "message"),
    [
        (SWITCH, 1, [["a"]], "switch field from holds list"),  # once a dict key in the Chrome export: crash
        (SWITCH, 2, ["2"], "switch field to holds str"),
        (SWITCH, 0, [1.5], "switch field ts holds float"),
        (SWITCH, 1, [True], "switch field from holds bool"),
        (EXIT, 2, [None], "exit field outcome holds NoneType"),
        (SPAWN, 3, [{"x": 1}], "spawn field func holds dict"),
        (BLOCK, 3, [[1, 2]], "block field obj holds list"),
    ],
)
def test_crafted_field_types_are_a_format_error(kind, bad_field, values, message):
    good = Batch.of([{SWITCH: (SWITCH, 1, 2, 3), EXIT: (EXIT, 1, 2, "ok", None)}.get(kind) or _one(kind)])
    columns, blobs = [], []
    for field, col in enumerate(good.columns[kind]):
        entry, blob = _column_of(kind, field, values if field == bad_field else list(col))
        columns.append(entry)
        blobs.append(blob)
    with pytest.raises(FormatError, match=message):
        read_recording(recording(events_frame(1, columns, blobs, bytes([kind]))))


def test_events_of_a_kind_the_schema_lacks_are_a_format_error():
    columns = [[SWITCH, f, "i", 8] for f in range(3)]
    with pytest.raises(FormatError, match="events of unknown kind 200"):
        read_recording(recording(events_frame(2, columns, [bytes(24)], bytes([SWITCH, 200]))))


def test_ints_where_strings_belong_are_a_format_error():
    with pytest.raises(FormatError, match="spawn field func holds ints"):
        read_recording(
            recording(
                events_frame(
                    1,
                    [[SPAWN, 0, "i", 8], [SPAWN, 1, "i", 8], [SPAWN, 2, "i", 8], [SPAWN, 3, "i", 8]],
                    [bytes(32)],
                    bytes([SPAWN]),
                )
            )
        )


def _one(kind: int) -> tuple:
    return {SPAWN: (SPAWN, 1, 2, 1, "f", "p.py:1", None), BLOCK: (BLOCK, 1, 2, "sleep", None, 0.1, None)}[kind]


# ---------------------------------------------------------------- fuzz


def _value(name: str) -> st.SearchStrategy:
    simple = {int: st.integers(-(2**64), 2**64), str: st.text(max_size=8), float: st.floats(), type(None): st.none()}
    options = [simple[t] for t in sorted(FIELD_TYPES[name], key=lambda t: t.__name__) if t in simple]
    if list in FIELD_TYPES[name]:
        options.append(st.lists(st.text(max_size=5), max_size=3))
    return st.one_of(options)


@st.composite
def events(draw: st.DrawFn) -> list[tuple]:
    """Events of every kind, each field any value its type allows (in any order: nothing promises sense)."""
    out = []
    for _ in range(draw(st.integers(0, 30))):
        kind = draw(st.sampled_from(sorted(FIELDS)))
        out.append((kind, draw(st.integers(0, 2**62)), *(draw(_value(f)) for f in FIELDS[kind])))
    return out


@FUZZ
@given(events())
def test_any_events_of_the_right_types_round_trip_and_export(evs: list[tuple]):
    frame = encode_frame(EVENTS, evs)
    process, decoded, complete = read_recording(recording(frame, encode_frame(END, {"dropped": 0})))
    assert decoded == [tuple(e) for e in evs] or _nan_equal(decoded, evs)
    assert complete and process == PROCESS
    to_chrome(process, decoded)  # whatever they say, the export does not crash


def _nan_equal(a: list[tuple], b: list[tuple]) -> bool:
    return json.dumps(a) == json.dumps(b)


@FUZZ
@given(events(), st.data())
def test_mutated_recordings_are_read_or_refused_in_one_line(evs: list[tuple], data: st.DataObject):
    good = bytearray(recording(encode_frame(EVENTS, evs), encode_frame(END, {"dropped": 0})))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(good) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        if action == "flip":
            good[at] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "cut":
            del good[at:]
            break
        elif action == "insert":
            good[at:at] = data.draw(st.binary(min_size=1, max_size=8))
        else:
            del good[at : at + data.draw(st.integers(1, 8))]
    try:
        process, decoded, _ = read_recording(io.BytesIO(bytes(good)))
    except FormatError as e:
        assert "\n" not in str(e)
        return
    to_chrome(process, decoded)
    for ev in decoded:
        assert type(ev[1]) is int and all(type(v) in FIELD_TYPES[f] for f, v in zip(FIELDS[ev[0]], ev[2:], strict=True))


@st.composite
def confused_frames(draw: st.DrawFn) -> bytes:
    """An EVENTS frame whose columns hold anything JSON holds, as "i", "n", "d" or "j", of any length."""
    kinds = draw(st.lists(st.sampled_from(sorted(KIND_NAMES)), min_size=1, max_size=5))
    columns, blobs = [], []
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=4),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
        max_leaves=6,
    )
    for kind in sorted(set(kinds)):
        count = kinds.count(kind) + draw(st.sampled_from([0, 0, 0, 1, -1]))
        for field in range(1 + len(FIELDS[kind])):
            shape = draw(st.sampled_from(["i", "n", "d", "j"]))
            if shape == "i":
                blob, kind_of = bytes(8 * max(count, 0)), draw(st.sampled_from(["i", "i", "x"]))
            elif shape == "n":  # any mode and width byte, any base, steps of any size (that may pass int64)
                head = struct.pack(
                    "<BBq",
                    *draw(
                        st.tuples(
                            st.sampled_from(b"so?"), st.sampled_from([1, 2, 4, 8, 3]), st.integers(-(2**63), 2**63 - 1)
                        )
                    ),
                )
                blob, kind_of = head + draw(st.binary(max_size=8 * max(count, 0) + 1)), "n"
            elif shape == "d":  # a table of anything, indexes of any width that may point past it
                table = json.dumps(draw(st.lists(json_values, max_size=4))).encode()
                ids = draw(st.binary(min_size=max(count, 0), max_size=max(count, 0) * 2 + 1))
                blob, kind_of = struct.pack("<I", len(table)) + table + ids, "d"
            else:
                blob, kind_of = json.dumps(draw(st.lists(json_values, min_size=count, max_size=count))).encode(), "j"
            columns.append([kind, field, kind_of, len(blob)])
            blobs.append(blob)
    return events_frame(len(kinds), columns, blobs, bytes(kinds))


@FUZZ
@given(confused_frames())
def test_type_confused_columns_decode_to_the_right_types_or_not_at_all(frame: bytes):
    try:
        _, decoded, _ = read_recording(recording(frame), LIMITS)
    except FormatError:
        return
    for ev in decoded:
        assert type(ev[1]) is int and all(type(v) in FIELD_TYPES[f] for f, v in zip(FIELDS[ev[0]], ev[2:], strict=True))

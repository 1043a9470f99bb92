"""Sessions: columnar chunks, the bounded window and its count of trimmed events, recordings, states."""

from __future__ import annotations

import pytest

from runtime.trace.codec import FormatError, read_recording
from runtime.trace.events import DROPPED, FIELDS, KIND_NAMES, SPAWN, SWITCH, WAKE, describe
from visualizer.sessions import CRASHED, ENDED, RUNNING, STOPPED, Chunk, Store

PROCESS = {"pid": 42, "argv": ["prog.py"], "program": "prog.py", "version": "0.1.0"}


def sample(n: int, start: int = 0) -> list[tuple]:
    """n events of a few kinds, with ints, strings and None in their fields."""
    events = []
    for i in range(start, start + n):
        if i % 3 == 0:
            events.append((SWITCH, i, 0, 1 + i % 5))
        elif i % 3 == 1:
            events.append((WAKE, i, 1 + i % 5, "timer", 0))
        else:
            events.append((SPAWN, i, 100 + i, 1, "work", "prog.py:3", None))
    return events


def test_a_chunk_keeps_events_in_columns_and_gives_them_back():
    events = sample(30)
    chunk = Chunk.of(7, events)
    assert chunk.first == 7 and len(chunk) == 30
    assert chunk.events() == events
    wire = chunk.wire()
    assert wire["kinds"] == [e[0] for e in events]
    assert set(wire["columns"]) == {"switch", "wake", "spawn"}
    assert list(wire["columns"]["wake"]) == ["ts", *FIELDS[WAKE]]
    assert wire["columns"]["switch"]["to"] == [e[3] for e in events if e[0] == SWITCH]
    assert wire["columns"]["spawn"]["pool"] == [None] * 10


def test_a_chunk_keeps_one_object_per_distinct_string_and_no_wire_copy():
    events = [(WAKE, i, 1, "".join(["tim", "er"]), 0) for i in range(5)]  # five equal, distinct objects
    chunk = Chunk.of(0, events)
    causes = chunk.columns[WAKE][2]
    assert causes == ["timer"] * 5 and all(c is causes[0] for c in causes)
    assert chunk.wire() == chunk.wire() and chunk.wire() is not chunk.wire()  # made on demand, never kept
    assert not hasattr(chunk, "__dict__")


def test_a_chunk_tail_is_its_last_events():
    events = sample(30)
    tail = Chunk.of(0, events).tail(11)
    assert tail.first == 19
    assert tail.events() == events[19:]


def test_the_window_drops_the_oldest_events_and_counts_them():
    store = Store(window=100)
    session = store.create(source="agent")
    for start in range(0, 250, 25):
        session.append(sample(25, start))
    assert session.total == 250 and session.trimmed == 150
    kept = session.events()
    assert kept[0] == (DROPPED, 150, 150)  # the count of what went, where it went
    assert kept[1:] == sample(100, 150)
    skipped, chunks = session.since(0)
    assert skipped == 150 and chunks[0].first == 150


def test_a_batch_larger_than_the_window_is_cut_to_its_end():
    session = Store(window=10).create(source="agent")
    session.append(sample(35))
    assert session.trimmed == 25
    assert session.events()[1:] == sample(10, 25)


def test_losses_the_agent_reports_are_counted():
    session = Store().create(source="agent")
    session.append([(DROPPED, 5, 12), *sample(3, 6)])
    assert session.lost == 12


def test_a_session_is_a_readable_recording():
    store = Store(window=50)
    session = store.claim({"schema": describe(), "process": PROCESS}, agent=None)
    session.append(sample(80))
    session.complete = True
    process, events, complete = read_recording(b"".join(session.frames()))
    assert process == PROCESS and complete
    assert events[0] == (DROPPED, 30, 30) and events[1:] == sample(50, 30)


def test_a_recording_loads_as_an_ended_session():
    source = Store().create(source="agent")
    source.hello = {"schema": describe(), "process": PROCESS}
    source.append(sample(70000))
    store = Store()
    loaded = store.load(b"".join(source.frames()))  # no END: the program crashed
    assert loaded.source == "recording" and loaded.state == CRASHED and loaded.process == PROCESS
    assert loaded.events() == sample(70000)
    assert len(loaded.chunks()) == 2
    source.complete = True
    assert store.load(b"".join(source.frames())).state == ENDED
    with pytest.raises(FormatError, match="bad magic"):
        store.load(b"not a recording")


def test_a_hello_claims_the_launched_session_with_its_pid():
    store = Store()
    seen: list[tuple[str, str]] = []
    store.subscribe(lambda s: seen.append((s.id, s.state)))
    launched = store.create(source="launched", workload="echo")
    launched.pid = 42
    hello = {"schema": describe(), "process": PROCESS}
    assert store.claim(hello, agent="conn") is launched and launched.state == RUNNING
    other = store.claim(hello, agent="conn2")  # the first still has its stream: a new session
    assert other is not launched and other.source == "agent"
    launched.agent = None
    assert store.claim(hello, agent="conn3") is launched  # a reconnect
    store.set_state(launched, STOPPED, exit_code=-15)
    store.set_state(launched, ENDED)  # final is final
    assert launched.state == STOPPED and launched.exit_code == -15 and launched.ended is not None
    assert seen[:3] == [("1", "starting"), ("1", "running"), ("2", "starting")]


def test_kind_names_in_the_wire_form_are_the_schema_names():
    wire = Chunk.of(0, sample(3)).wire()
    assert set(wire["columns"]) <= set(KIND_NAMES.values())

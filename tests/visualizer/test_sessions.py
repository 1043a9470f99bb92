"""Sessions and the store: columnar chunks, the bounded window, recordings on disk, the memory budget,
sessions listed again after a restart."""

from __future__ import annotations

import io
from array import array
from pathlib import Path

import pytest

from runtime.trace.codec import FormatError, read_recording
from runtime.trace.events import BLOCK, FIELDS, SPAWN, SWITCH, WAKE, Batch, describe
from tests.support.events import PROCESS, batch, events_of, sample
from visualizer.archive import Archive
from visualizer.sessions import CRASHED, ENDED, RUNNING, STOPPED, Chunk, Coded, wire
from visualizer.store import Store

HELLO = {"schema": describe(), "process": PROCESS}


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    return Archive(tmp_path / "data")


def test_a_chunk_keeps_events_in_columns_and_gives_them_back():
    events = sample(30)
    chunk = Chunk.of(7, events)
    assert chunk.first == 7 and len(chunk) == 30
    assert chunk.events() == events


def test_the_wire_form_is_one_block_of_int64s_and_indexes_into_tables():
    events = sample(30)
    chunks = [Chunk.of(0, events[:13]), Chunk.of(13, events[13:])]
    batch = wire(chunks)
    data = batch["data"]
    assert batch["events"] == 30 and data[:30] == bytes(e[0] for e in events)
    assert set(batch["columns"]) == {"switch", "wake", "spawn"}
    assert list(batch["columns"]["wake"]) == ["n", "ts", *FIELDS[WAKE]]
    switch = batch["columns"]["switch"]
    switches = [e for e in events if e[0] == SWITCH]
    assert switch["n"] == len(switches) and switch["ts"] % 8 == 0 and switch["ts"] >= 30
    assert array("q", data[switch["ts"] :][: 8 * len(switches)]).tolist() == [e[1] for e in switches]
    assert array("q", data[switch["to"] :][: 8 * len(switches)]).tolist() == [e[3] for e in switches]
    pool = batch["columns"]["spawn"]["pool"]  # None, again and again: its table, and a byte an event
    assert pool["table"] == [None] and data[pool["ids"] :][:10] == bytes(10)
    assert events_of(batch) == events
    assert wire([]) == {"events": 0, "data": b"", "columns": {}}


def test_coded_columns_of_several_chunks_go_as_one_table_with_indexes_of_one_or_two_bytes():
    few = [(BLOCK, i, 2, ("io_read", "sleep")[i % 2], None, 0.5, f"a.py:{i % 3}") for i in range(40)]
    many = [(BLOCK, 40 + i, 3, "lock", 7, f"10.0.{(i * 7) % 300}.1:80", "a.py:1") for i in range(1400)]
    chunks = [Chunk.of(0, few), Chunk.of(40, many[:700]), Chunk.of(740, many[700:])]
    assert [c.columns[BLOCK][4].ids.itemsize for c in chunks] == [1, 2, 2]
    batch = wire(chunks)
    columns = batch["columns"]["block"]
    assert columns["reason"]["table"] == ["io_read", "sleep", "lock"]
    assert len(columns["detail"]["table"]) == 301 and columns["detail"]["ids"] % 2 == 0
    assert events_of(batch) == few + many
    assert events_of(wire([chunks[2].slice(5, 9), chunks[0].slice(1, 3)])) == many[705:709] + few[1:3]


def test_a_field_coded_in_one_chunk_and_ints_in_another_goes_coded_and_a_mostly_distinct_one_as_a_list():
    ints = Chunk.of(0, [(BLOCK, i, 2, "io_read", 7, 1, "a.py:1") for i in range(10)])
    nones = Chunk.of(10, [(BLOCK, i, 2, "io_read", None, 1, "a.py:1") for i in range(10, 20)])
    distinct = Chunk.of(20, [(BLOCK, i, 2, "io_read", None, 1, f"a.py:{i}") for i in range(20, 30)])
    assert isinstance(ints.columns[BLOCK][3], array) and isinstance(distinct.columns[BLOCK][5], list)
    columns = wire([ints, nones, distinct])["columns"]["block"]
    assert columns["obj"]["table"] == [7, None]
    assert columns["where"] == ["a.py:1"] * 20 + [f"a.py:{i}" for i in range(20, 30)]
    assert events_of(wire([ints, nones, distinct])) == ints.events() + nones.events() + distinct.events()


def test_a_merged_table_keeps_apart_values_one_dict_key_would_merge():
    def blocks(first: int, detail: object) -> Chunk:
        return Chunk.of(first, [(BLOCK, i, 2, "sleep", None, (detail, None)[i % 2], "a.py:1") for i in range(10)])

    chunks = [blocks(0, 1), blocks(10, 1.0)]
    assert all(isinstance(c.columns[BLOCK][4], Coded) for c in chunks)
    batch = wire(chunks)
    assert batch["columns"]["block"]["detail"]["table"] == [1, None, 1.0]
    assert [e[5] for e in events_of(batch)] == [1, None] * 5 + [1.0, None] * 5
    assert [type(e[5]) for e in events_of(batch)][8:11] == [int, type(None), float]


def test_a_column_is_coded_only_where_it_gives_back_the_same_values():
    assert Coded.of([1, 1.0] * 8) is None  # one key in a table: 1.0 would come back as 1
    assert Coded.of([0.0, -0.0] * 8) is None
    assert Coded.of([True, 1] * 8) is None  # a bool is not an int
    assert Coded.of([["argv"]] * 8) is None  # lists: unhashable
    assert Coded.of(["a", "b", "c"]) is None  # as many values as events: no gain
    assert list(Coded.of([0.5, None, "x"] * 8)) == [0.5, None, "x"] * 8


def test_a_chunk_slice_is_those_events():
    events = sample(30)
    part = Chunk.of(0, events).slice(11, 19)
    assert part.first == 11 and part.events() == events[11:19]
    assert Chunk.of(0, events).slice(19, 30).events() == events[19:]


def test_the_window_keeps_the_newest_events_and_counts_the_rest():
    session = Store(window=100).create(source="agent")
    for start in range(0, 250, 25):
        session.append(batch(25, start))
    assert session.total == 250 and session.trimmed == 150
    assert session.events() == sample(100, 150)
    skipped, chunks = session.since(0)
    assert skipped == 150 and chunks[0].first == 150


def test_a_batch_larger_than_the_window_is_cut_to_its_end():
    session = Store(window=10).create(source="agent")
    session.append(batch(35))
    assert session.trimmed == 25 and session.events() == sample(10, 25)


def test_losses_the_agent_reports_are_counted():
    session = Store().create(source="agent")
    session.append(Batch.of([(12, 5, 12), *sample(3, 6)]))
    session.end(4)
    assert session.lost == 16 and session.complete


def test_a_session_is_recorded_to_disk_as_it_arrives(archive: Archive):
    store = Store(window=50, archive=archive)
    session = store.attach(HELLO, agent="conn")
    for start in range(0, 80, 20):
        store.append(session, batch(20, start))
    process, events, complete = read_recording(session.path.read_bytes())
    assert process == PROCESS and events == sample(80) and not complete  # all of it, not just the window
    assert session.events() == sample(50, 30)
    session.end(0)
    store.set_state(session, ENDED)
    assert read_recording(session.path.read_bytes())[2]


def test_a_restarted_store_lists_the_sessions_again(archive: Archive):
    store = Store(window=50, archive=archive)
    ended = store.attach(HELLO, agent="a")
    store.append(ended, batch(30))
    ended.end(2)
    store.set_state(ended, ENDED)
    running = store.attach(HELLO, agent="b")
    store.append(running, batch(70))  # and then the server is killed: nothing more is written
    with running.path.open("ab") as f:
        f.write(b"\x00\x00\x01")  # the start of a frame it was writing
    again = Store(window=50, archive=Archive(archive.root))
    by_id = {s.id: s for s in again.all()}
    assert by_id[ended.id].state == ENDED and by_id[ended.id].total == 30 and by_id[ended.id].lost == 2
    crashed = by_id[running.id]
    assert crashed.state == CRASHED and "dashboard stopped" in crashed.error and crashed.total == 70
    assert read_recording(crashed.path.read_bytes())[1] == sample(70)  # cut back to its whole frames
    again.resident(crashed)
    assert crashed.events() == sample(50, 20) and crashed.trimmed == 20
    assert again.create(source="agent").id == str(int(running.id) + 1)  # ids go on


def test_removing_a_session_removes_its_recording(archive: Archive):
    store = Store(archive=archive)
    session = store.attach(HELLO, agent="a")
    store.append(session, batch(10))
    store.set_state(session, ENDED)
    removed = []
    store.subscribe(lambda s: None, removed.append)
    store.remove(session)
    assert removed == [session] and store.get(session.id) is None and store.nbytes == 0
    assert list(archive.root.iterdir()) == []


def test_ended_sessions_nobody_watches_leave_memory_first(archive: Archive):
    one = Chunk.of(0, batch(1000)).nbytes
    store = Store(archive=archive, budget=6 * one + one // 2)
    old, watched, live = (store.attach(HELLO, agent=str(i)) for i in range(3))
    for i in range(3):
        store.append(old, batch(1000, 1000 * i))
    store.append(watched, batch(1000))
    for session in (old, watched):
        store.set_state(session, ENDED)
    watched.viewers = 1
    store.append(live, batch(1000))
    store.append(live, batch(1000, 1000))
    assert store.nbytes <= store.budget and old.resident and store.evicted == 0
    store.append(live, batch(1000, 2000))  # past the budget: the ended session nobody watches goes
    assert not old.resident and old.nbytes == 0 and watched.resident and live.total == live._retained
    assert store.nbytes <= store.budget and store.nbytes == sum(s.nbytes for s in store.all())
    store.set_state(live, ENDED)
    store.remove(live)
    old.viewers = 1
    store.resident(old)  # a viewer comes: read back from disk
    assert old.events() == sample(3000)


def test_a_live_session_over_the_budget_keeps_its_newest_events(archive: Archive):
    one = Chunk.of(0, batch(1000)).nbytes
    store = Store(archive=archive, budget=3 * one)
    session = store.attach(HELLO, agent="a")
    for i in range(10):
        store.append(session, batch(1000, 1000 * i))
    assert store.nbytes <= store.budget
    assert session.events()[-1000:] == sample(1000, 9000) and session.trimmed >= 7000
    assert len(read_recording(session.path.read_bytes())[1]) == 10_000  # the disk has them all


def test_a_recording_loads_as_an_ended_session(archive: Archive):
    store = Store(archive=archive)
    source = store.attach(HELLO, agent="a")
    store.append(source, batch(70000))
    loaded = store.load(io.BytesIO(source.path.read_bytes()))  # no END: the program crashed
    assert loaded.source == "recording" and loaded.state == CRASHED and loaded.process == PROCESS
    assert loaded.events() == sample(70000) and loaded.path.read_bytes() == source.path.read_bytes()
    source.end(0)
    assert store.load(io.BytesIO(source.path.read_bytes())).state == ENDED
    before = len(list(archive.root.iterdir()))
    with pytest.raises(FormatError, match="bad magic"):
        store.load(io.BytesIO(b"not a recording"))
    assert len(list(archive.root.iterdir())) == before  # nothing kept of it


def test_a_hello_with_the_launch_secret_claims_that_session_only():
    store = Store()
    seen: list[tuple[str, str]] = []
    store.subscribe(lambda s: seen.append((s.id, s.state)))
    launched = store.create(source="launched", workload="echo")
    launched.pid, launched.secret = 42, "s3cret"
    assert store.claim("guess", HELLO, agent="intruder") is None
    assert store.claim("s3cret", HELLO, agent="conn") is launched and launched.state == RUNNING
    assert store.claim("s3cret", HELLO, agent="conn2") is None  # it has its stream already
    launched.agent = None
    assert store.claim("s3cret", HELLO, agent="conn3") is launched  # a reconnect
    store.set_state(launched, STOPPED, exit_code=-15)
    store.set_state(launched, ENDED)  # final is final
    assert launched.state == STOPPED and launched.exit_code == -15 and launched.ended is not None
    assert store.claim("s3cret", HELLO, agent="conn4") is None
    other = store.attach(HELLO, agent="conn5")
    assert other is not launched and other.source == "agent" and other.pid == 42
    assert seen[:2] == [("1", "starting"), ("1", "running")]


def test_the_spawn_pool_column_stays_a_list_of_none():
    chunk = Chunk.of(0, [(SPAWN, 1, 2, 1, "f", "p.py:1", None)])
    assert chunk.columns[SPAWN][5] == [None]


def test_the_recording_is_indexed_by_time_and_read_back_by_range(archive: Archive):
    """What memory no longer holds is found on disk by time: a range of frames, its events as they came."""
    store = Store(window=50, archive=archive)
    session = store.attach(HELLO, agent="a")
    for start in range(0, 1000, 100):  # ten frames of 100 events, event i at ts i
        store.append(session, batch(100, start))
    assert session.trimmed == 950
    assert session.locate(250, 420, most=10_000) == (200, 500)  # the frames that reach into [250, 420]
    assert session.locate(250, 420, most=120) == (200, 320)  # at most `most`, from the first
    assert session.locate(5000, 6000, most=10) == (1000, 1000)  # past the end: none
    assert [e for c in session.read(200, 500) for e in c.events()] == sample(300, 200)  # from disk
    assert [e for c in session.read(970, 990) for e in c.events()] == sample(20, 970)  # from memory
    assert session.overview(5) == {"span": 999, "counts": [200] * 5, "events": 1000}
    assert abs(sum(session.overview(7)["counts"]) - 1000) < 0.1 and session.overview(1)["counts"] == [1000]
    store.set_state(session, ENDED)
    again = Store(window=50, archive=Archive(archive.root)).get(session.id)  # restarted: the times are read back
    assert again.timed() and again.locate(250, 420, most=10_000) == (200, 500)
    assert [e for c in again.read(550, 650) for e in c.events()] == sample(100, 550)
    assert again.overview(5) == session.overview(5)


def test_a_frame_spread_over_the_whole_recording_counts_a_share_in_every_bucket(archive: Archive):
    """A frame's events go evenly over the span it covers: a share to each bucket, those at its ends by the part
    of them it covers."""
    store = Store(window=50, archive=archive)
    session = store.attach(HELLO, agent="a")
    store.append(
        session, Batch.of([(SWITCH, 0, 0, 1), *[(SWITCH, 500 + i, 0, 1) for i in range(98)], (SWITCH, 1000, 0, 1)])
    )
    store.append(session, batch(10, 200))  # ten more in bucket 1
    assert session.overview(5) == {"span": 1000, "counts": [20, 30, 20, 20, 20], "events": 110}


def test_a_range_of_a_session_without_a_recording_is_what_memory_holds():
    store = Store(window=50)
    session = store.attach(HELLO, agent="a")
    store.append(session, batch(100))
    assert not session.timed() and session.read(10, 20) == [] and session.read(60, 62)[0].events() == sample(2, 60)

"""Socket.IO in process (Flask-SocketIO's test client): subscribe, history then live batches, acks, budgets,
drops, and messages of any shape."""

from __future__ import annotations

from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from runtime.trace.events import describe
from tests.support.dashboard import wait_until
from tests.support.events import PROCESS, batch, events_of, sample
from tests.support.fuzz import FUZZ
from visualizer.sessions import ENDED


def received(client, name: str) -> list:
    return [m["args"][0] for m in client.get_received() if m["name"] == name]


def test_a_viewer_gets_the_history_then_live_batches_in_columns(app: Flask):
    store = app.extensions["greenscope"].store
    session = store.create(source="agent")
    store.append(session, batch(30))
    viewer = app.extensions["socketio"].test_client(app)
    assert [s["id"] for s in received(viewer, "sessions")[0]] == [session.id]
    assert viewer.emit("subscribe", {"session": session.id}, callback=True)["session"]["id"] == session.id
    events, batches = [], []

    def more(n: int) -> bool:
        for b in received(viewer, "batch"):
            batches.append(b)
            events.extend(events_of(b))
            viewer.emit("ack", {"seq": b["seq"]})
        return len(events) >= n

    wait_until(lambda: more(30))
    store.append(session, batch(20, 30))
    wait_until(lambda: more(50))
    assert events == sample(50)
    assert [b["seq"] for b in batches] == list(range(1, len(batches) + 1))
    assert all(b["dropped"] == 0 and b["session"] == session.id for b in batches)
    assert batches[0]["columns"]["switch"].keys() == {"n", "ts", "from", "to"}
    viewer.disconnect()


def test_batches_carry_the_tag_of_the_subscription_they_belong_to(app: Flask):
    store = app.extensions["greenscope"].store
    session = store.create(source="agent")
    store.append(session, batch(10))
    viewer = app.extensions["socketio"].test_client(app)
    viewer.emit("subscribe", {"session": session.id, "tag": 1}, callback=True)
    first = wait_until(lambda: received(viewer, "batch"))
    viewer.emit("subscribe", {"session": session.id, "tag": 2}, callback=True)  # again: from the start
    again = wait_until(lambda: received(viewer, "batch"))
    assert [b["tag"] for b in first + again] == [1, 2]
    assert events_of(again[0]) == sample(10)
    viewer.emit("subscribe", {"session": session.id, "tag": "x"}, callback=True)  # not an int: no tag
    assert wait_until(lambda: received(viewer, "batch"))[0]["tag"] is None
    viewer.disconnect()


def test_a_subscription_handled_after_a_later_one_does_not_replace_it(app: Flask):
    """Each message is handled in a thread of its own: a page's unsubscribe or subscribe may be handled after the
    subscribe it sent next (once, in CI, the page then waited for a session's events for ever)."""
    store = app.extensions["greenscope"].store
    old, new = store.create(source="agent"), store.create(source="agent")
    store.append(old, batch(5))
    store.append(new, batch(10))
    viewer = app.extensions["socketio"].test_client(app)
    assert viewer.emit("subscribe", {"session": new.id, "tag": 2}, callback=True)["session"]["id"] == new.id
    assert viewer.emit("subscribe", {"session": old.id, "tag": 1}, callback=True) == {"superseded": True}
    viewer.emit("unsubscribe", {"tag": 1})
    got = wait_until(lambda: received(viewer, "batch"))
    assert [(b["session"], b["tag"]) for b in got] == [(new.id, 2)] and events_of(got[0]) == sample(10)
    assert (old.viewers, new.viewers) == (0, 1)
    viewer.emit("unsubscribe", {"tag": 2})
    assert new.viewers == 0
    viewer.disconnect()


def test_session_changes_and_removals_are_pushed_to_every_viewer(app: Flask):
    store = app.extensions["greenscope"].store
    viewers = [app.extensions["socketio"].test_client(app) for _ in range(2)]
    for v in viewers:
        v.get_received()
    session = store.create(source="agent")
    store.set_state(session, ENDED)
    heard: list[list] = [[] for _ in viewers]

    def hear(name: str) -> bool:
        for v, got in zip(viewers, heard, strict=True):
            got += [(m["name"], m["args"][0]) for m in v.get_received()]
        return all(any(n == name for n, _ in got) for got in heard)

    wait_until(lambda: hear("session"))
    assert all(("session", session.to_dict() | {"stalled": False}) in got for got in heard)
    store.remove(session)
    wait_until(lambda: hear("removed"))
    assert all(("removed", {"id": session.id}) in got for got in heard)
    for v in viewers:
        v.disconnect()


def test_a_viewer_that_does_not_ack_gets_nothing_more_then_a_dropped_count(make_app):
    app = make_app(window=100)
    dashboard = app.extensions["greenscope"]
    streamer, store = dashboard.streamer, dashboard.store
    session = store.create(source="agent")
    viewer = app.extensions["socketio"].test_client(app)
    viewer.emit("subscribe", {"session": session.id})
    batches: list[dict] = []

    def sent(n: int) -> bool:
        batches.extend(received(viewer, "batch"))
        return len(batches) == n

    for n in range(1, streamer.in_flight + 1):  # a batch each, never acknowledged
        store.append(session, batch(10, 10 * (n - 1)))
        wait_until(lambda n=n: sent(n))
    store.append(session, batch(10, 40))
    streamer.tick()  # a batch would be due: it is not sent, nothing is queued for this viewer
    assert received(viewer, "batch") == []
    assert [b["seq"] for b in batches] == list(range(1, streamer.in_flight + 1))
    for start in range(50, 400, 10):
        store.append(session, batch(10, start))  # the window moves on past what it has not read
    viewer.emit("ack", {"seq": batches[-1]["seq"]})
    got = wait_until(lambda: received(viewer, "batch"))[0]
    assert got["dropped"] == 300 - 10 * streamer.in_flight and got["first"] == 300
    assert events_of(got) == sample(100, 300)
    viewer.disconnect()


def test_viewers_that_never_ack_cannot_starve_one_that_does(make_app):
    """Once: 50 viewers that never acked a 4M-event session left a healthy one 0 batches in 20 s."""
    app = make_app()
    dashboard = app.extensions["greenscope"]
    streamer, store = dashboard.streamer, dashboard.store
    streamer._stop.set()  # passes are made by hand below: each is counted
    streamer._task.join()
    streamer.tick_budget, streamer.max_unacked = 21_000, 4_000  # the defaults, scaled down 15x
    session = store.create(source="agent")
    for start in range(0, 40_000, 5_000):
        store.append(session, batch(5_000, start))
    socketio = app.extensions["socketio"]
    stalled = [socketio.test_client(app) for _ in range(20)]
    healthy = socketio.test_client(app)
    for v in [*stalled, healthy]:
        v.emit("subscribe", {"session": session.id})
    got, stalled_got = 0, [0] * len(stalled)
    for _ in range(50):
        streamer.tick()  # one pass: a bounded amount of work, whoever acks or not
        mine = received(healthy, "batch")
        theirs = [sum(b["events"] for b in received(v, "batch")) for v in stalled]
        this_pass = sum(b["events"] for b in mine) + sum(theirs)
        assert 0 < this_pass <= streamer.tick_budget
        assert sum(b["events"] for b in mine) >= min(streamer.tick_budget // 21, 40_000 - got)  # its share
        stalled_got = [a + b for a, b in zip(stalled_got, theirs, strict=True)]
        for b in mine:
            got += b["events"]
            healthy.emit("ack", {"seq": b["seq"]})
        if got == 40_000:
            break
    assert got == 40_000
    assert max(stalled_got) <= streamer.max_unacked  # each got its budget, then nothing more
    for v in [*stalled, healthy]:
        v.disconnect()


def test_a_batch_never_holds_more_than_a_viewer_may_have_unacknowledged(make_app):
    app = make_app()
    dashboard = app.extensions["greenscope"]
    store = dashboard.store
    dashboard.streamer.max_batch = 1_000
    session = store.create(source="agent")
    store.append(session, batch(3_000))  # one frame, bigger than any batch
    viewer = app.extensions["socketio"].test_client(app)
    viewer.emit("subscribe", {"session": session.id})
    batches = wait_until(lambda: received(viewer, "batch"))
    assert 0 < batches[0]["events"] <= dashboard.streamer.max_batch
    assert events_of(batches[0]) == sample(batches[0]["events"])
    viewer.disconnect()


def test_a_range_of_the_recording_comes_from_disk_where_memory_no_longer_holds_it(make_app):
    app = make_app(window=100)
    store = app.extensions["greenscope"].store
    session = store.attach({"schema": describe(), "process": PROCESS}, agent="a")
    for start in range(0, 5000, 500):  # event i at ts i, ten frames; memory keeps the last 100
        store.append(session, batch(500, start))
    viewer = app.extensions["socketio"].test_client(app)
    reply = viewer.emit("subscribe", {"session": session.id, "tag": 3, "range": [1200, 1800]}, callback=True)
    assert reply["range"] == {"first": 1000, "events": 100}  # its frames: from 1000 on, at most a window
    events = []

    def more() -> bool:
        for b in received(viewer, "batch"):
            assert b["tag"] == 3 and b["dropped"] == 0 and b["first"] == 1000 + len(events)
            events.extend(events_of(b))
            viewer.emit("ack", {"seq": b["seq"]})
        return len(events) >= 100

    wait_until(more)
    store.append(session, batch(10, 5000))  # a range does not follow the session
    app.extensions["greenscope"].streamer.tick()
    assert events == sample(100, 1000) and received(viewer, "batch") == []
    for bad in ([1, "2"], [5, 1], [-1, 3], [0], "0-9", [0, 2**63], [True, 4]):
        reply = viewer.emit("subscribe", {"session": session.id, "range": bad}, callback=True)
        assert "range must be" in reply["error"]
    bare = store.create(source="agent")  # never said HELLO: nothing on disk
    assert "no recording" in viewer.emit("subscribe", {"session": bare.id, "range": [0, 9]}, callback=True)["error"]
    viewer.disconnect()


def test_messages_without_their_payload_are_answered_not_raised(app: Flask):
    """Once: `subscribe` or `ack` without a payload raised TypeError in the server."""
    viewer = app.extensions["socketio"].test_client(app)
    assert "no such session" in viewer.emit("subscribe", callback=True)["error"]
    viewer.emit("ack")
    viewer.emit("unsubscribe")
    assert "no such session" in viewer.emit("subscribe", "junk", callback=True)["error"]
    assert "no such session" in viewer.emit("subscribe", {"session": "42"}, 1, 2, callback=True)["error"]
    assert viewer.is_connected()
    viewer.disconnect()


@FUZZ
@given(
    st.sampled_from(["subscribe", "ack", "unsubscribe", "nonsense", "connect", "disconnect"]),
    st.lists(
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=5),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.sampled_from(["session", "seq", "tag", "range"]), inner, max_size=3)
            ),
            max_leaves=8,
        ),
        max_size=3,
    ),
)
def test_socketio_messages_of_any_shape_leave_streaming_going(app: Flask, name: str, args: list):
    store = app.extensions["greenscope"].store
    session = store.get("1") or store.create(source="agent")
    viewer = app.extensions["socketio"].test_client(app)
    viewer.emit(name, *args)
    viewer.get_received()
    watcher = app.extensions["socketio"].test_client(app)
    watcher.emit("subscribe", {"session": session.id})
    store.append(session, batch(3, session.total))
    wait_until(lambda: any(b["events"] for b in received(watcher, "batch")))
    for client in (viewer, watcher):
        if client.is_connected():
            client.disconnect()


def test_a_viewer_behind_gets_its_next_batch_as_it_acks_not_at_the_next_pass(make_app):
    """The passes an hour apart: a viewer reading a session's history gets it all, a batch for each ack."""
    app = make_app(interval=3600)
    dashboard = app.extensions["greenscope"]
    streamer, store = dashboard.streamer, dashboard.store
    streamer.max_batch = 1_000
    session = store.create(source="agent")
    store.append(session, batch(5_500))
    viewer = app.extensions["socketio"].test_client(app)
    viewer.emit("subscribe", {"session": session.id})
    streamer.tick()  # the first pass
    batches: list[dict] = []

    def more() -> bool:
        for b in received(viewer, "batch"):
            batches.append(b)
            viewer.emit("ack", {"seq": b["seq"]})
        return sum(b["events"] for b in batches) >= 5_000

    wait_until(more)
    assert [b["events"] for b in batches[:5]] == [1_000] * 5
    assert [e for b in batches for e in events_of(b)] == sample(sum(b["events"] for b in batches))
    viewer.disconnect()

"""Socket.IO in process (Flask-SocketIO's test client): subscribe, history then live batches, acks, drops."""

from __future__ import annotations

from flask import Flask

from tests.visualizer.conftest import events_of, wait_until
from tests.visualizer.test_sessions import sample
from visualizer.sessions import ENDED


def received(client, name: str) -> list:
    return [m["args"][0] for m in client.get_received() if m["name"] == name]


def test_a_viewer_gets_the_history_then_live_batches_in_columns(app: Flask):
    dashboard = app.extensions["greenscope"]
    session = dashboard.store.create(source="agent")
    session.append(sample(30))
    viewer = app.extensions["socketio"].test_client(app)
    assert [s["id"] for s in received(viewer, "sessions")[0]] == [session.id]
    assert viewer.emit("subscribe", {"session": session.id}, callback=True)["session"]["id"] == session.id
    events, batches = [], []

    def more(n: int) -> bool:
        for batch in received(viewer, "batch"):
            batches.append(batch)
            events.extend(events_of(batch))
            viewer.emit("ack", {"seq": batch["seq"]})
        return len(events) >= n

    wait_until(lambda: more(30))
    session.append(sample(20, 30))
    wait_until(lambda: more(50))
    assert events == sample(50)
    assert [b["seq"] for b in batches] == list(range(1, len(batches) + 1))
    assert all(b["dropped"] == 0 and b["session"] == session.id for b in batches)
    assert batches[0]["columns"]["switch"].keys() == {"ts", "from", "to"}
    viewer.disconnect()


def test_batches_carry_the_tag_of_the_subscription_they_belong_to(app: Flask):
    session = app.extensions["greenscope"].store.create(source="agent")
    session.append(sample(10))
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


def test_session_changes_are_pushed_to_every_viewer(app: Flask):
    store = app.extensions["greenscope"].store
    viewers = [app.extensions["socketio"].test_client(app) for _ in range(2)]
    for v in viewers:
        v.get_received()
    session = store.create(source="agent")
    store.set_state(session, ENDED)
    for v in viewers:
        states: list[str] = []

        def ended(v=v, states=states) -> bool:
            states.extend(s["state"] for s in received(v, "session"))
            return "ended" in states

        wait_until(ended)
        v.disconnect()


def test_a_viewer_that_does_not_ack_gets_nothing_more_then_a_dropped_count(make_app):
    app = make_app(window=100)
    streamer = app.extensions["greenscope"].streamer
    session = app.extensions["greenscope"].store.create(source="agent")
    viewer = app.extensions["socketio"].test_client(app)
    viewer.emit("subscribe", {"session": session.id})
    batches: list[dict] = []

    def sent(n: int) -> bool:
        batches.extend(received(viewer, "batch"))
        return len(batches) == n

    for n in range(1, streamer.in_flight + 1):  # a batch each, never acknowledged
        session.append(sample(10, 10 * (n - 1)))
        wait_until(lambda n=n: sent(n))
    session.append(sample(10, 40))
    streamer.tick()  # a batch would be due: it is not sent, nothing is queued for this viewer
    assert received(viewer, "batch") == []
    assert [b["seq"] for b in batches] == list(range(1, streamer.in_flight + 1))
    for start in range(50, 400, 10):
        session.append(sample(10, start))  # the window moves on past what it has not read
    viewer.emit("ack", {"seq": batches[-1]["seq"]})
    got = wait_until(lambda: received(viewer, "batch"))[0]
    assert got["dropped"] == 300 - 10 * streamer.in_flight and got["first"] == 300
    assert events_of(got) == sample(100, 300)
    viewer.disconnect()


def test_subscribing_to_nothing_is_an_error(app: Flask):
    viewer = app.extensions["socketio"].test_client(app)
    assert "no such session" in viewer.emit("subscribe", {"session": "42"}, callback=True)["error"]
    assert "no such session" in viewer.emit("subscribe", "junk", callback=True)["error"]
    viewer.disconnect()


def test_socketio_needs_the_token(make_app):
    app = make_app(token="s3cret")
    socketio = app.extensions["socketio"]
    assert not socketio.test_client(app).is_connected()
    assert not socketio.test_client(app, auth={"token": "nope"}).is_connected()
    viewer = socketio.test_client(app, auth={"token": "s3cret"})
    assert viewer.is_connected()
    viewer.disconnect()
    viewer = socketio.test_client(app, query_string="token=s3cret")
    assert viewer.is_connected()
    viewer.disconnect()

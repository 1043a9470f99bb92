"""The recorder's events, exactly, for small scenarios on virtual time; and the state intervals."""

from __future__ import annotations

import itertools
import socket
import sys
import threading
from types import SimpleNamespace

import pytest

import runtime
from runtime import GreenletExit
from runtime.hubs import trampoline
from runtime.trace.events import BLOCK, DROPPED, FIELDS, KIND_CODES, KIND_NAMES, SPAWN, SWITCH, WAKE, as_dict, describe
from runtime.trace.recorder import Recorder
from runtime.trace.states import Interval, check, intervals
from tests.support import code_name

MAIN = 1


@pytest.fixture
def rec(clock):
    """A recorder on the hub's virtual clock: timestamps are exact (1 s = 10**9)."""
    r = Recorder(clock=lambda: round(clock() * 1e9)).install()
    yield r
    if r in runtime.instrument.instruments():
        r.uninstall()


def named(events: list[tuple], *kinds: str) -> list[tuple]:
    """The events as (kind name, ts in seconds, fields...), only `kinds` if given; a block's code
    location (its last field) left out (test_a_block_says_where_the_users_code_waits checks it)."""
    out = []
    for ev in events:
        name = KIND_NAMES[ev[0]]
        if not kinds or name in kinds:
            out.append((name, ev[1] / 1e9, *(ev[2:-1] if ev[0] == BLOCK else ev[2:])))
    return out


def test_the_schema_is_declared_once_and_self_describing():
    schema = describe()
    assert schema["version"] == 2
    assert set(KIND_CODES) >= {"spawn", "switch", "block", "wake", "exit", "hub_wait", "resource", "pool", "queue"}
    assert schema["kinds"][str(KIND_CODES["block"])] == ["block", ["gid", "reason", "obj", "detail", "where"]]
    assert as_dict((KIND_CODES["wake"], 5, 3, "put", 2, 0)) == {
        "kind": "wake",
        "ts": 5,
        "gid": 3,
        "cause": "put",
        "waker": 2,
        "late": 0,
    }
    assert all(isinstance(f, tuple) for f in FIELDS.values())


def test_sleep0_ping_pong(rec):
    def worker():
        for _ in range(2):
            runtime.sleep(0)

    a, b = runtime.spawn(worker), runtime.spawn(worker)
    a.wait()
    b.wait()
    events = rec.take()
    A, B = a.gid, b.gid
    assert [e[:3] + e[4:5] for e in named(events, "spawn")] == [
        ("spawn", 0.0, A, "test_sleep0_ping_pong.<locals>.worker"),
        ("spawn", 0.0, B, "test_sleep0_ping_pong.<locals>.worker"),
    ]
    assert named(events, "switch", "block", "wake", "exit") == [
        ("block", 0.0, MAIN, "join", None, None),
        ("switch", 0.0, MAIN, A),  # straight from one greenthread to the next: one event
        ("switch", 0.0, A, B),
        ("switch", 0.0, B, A),
        ("switch", 0.0, A, B),
        ("switch", 0.0, B, A),
        ("exit", 0.0, A, "ok", None),
        ("wake", 0.0, MAIN, "exit", A, 0),
        ("switch", 0.0, A, B),
        ("exit", 0.0, B, "ok", None),
        ("switch", 0.0, B, MAIN),
    ]
    assert check(events) == []


def test_spawn_names_the_site_and_the_pool(rec):
    pool = runtime.GreenPool(2, name="p")
    gt = pool.spawn(len, "abc")
    line = gt.wait() and __import__("sys")._getframe().f_lineno - 1
    spawn = next(e for e in rec.take() if KIND_NAMES[e[0]] == "spawn")
    assert as_dict(spawn)["func"] == "len"
    assert as_dict(spawn)["site"] == f"{__file__}:{line}"
    assert as_dict(spawn)["pool"] == id(pool)


def test_queue_hand_off(rec):
    q = runtime.Queue(name="hand")
    getter = runtime.spawn(q.get)
    runtime.sleep(0)
    q.put("x")
    assert getter.wait() == "x"
    G, Q = getter.gid, id(q)
    assert named(rec.take(), "resource", "block", "wake", "queue") == [
        ("resource", 0.0, Q, "queue", "hand", None),
        ("block", 0.0, G, "queue_get", Q, None),
        ("queue", 0.0, Q, 0, None, 0, 1),  # a getter waits
        ("wake", 0.0, G, "put", MAIN, 0),  # main's put hands the item over
        ("queue", 0.0, Q, 0, None, 0, 0),
        ("queue", 0.0, Q, 0, None, 0, 0),  # the put's own report: nothing stays in the queue
        ("block", 0.0, MAIN, "join", None, None),
        ("wake", 0.0, MAIN, "exit", G, 0),
    ]


def test_pool_saturation(rec):
    pool = runtime.GreenPool(1, name="one")
    first = pool.spawn(runtime.sleep, 2)
    spawner = runtime.spawn(pool.spawn, runtime.sleep, 1)
    second = spawner.wait().wait()
    assert second is None
    P, S, F = id(pool), spawner.gid, first.gid
    assert named(rec.take(), "pool", "block", "wake") == [
        ("pool", 0.0, P, 1, 1, 0),
        ("block", 0.0, MAIN, "join", None, None),
        ("block", 0.0, F, "sleep", None, 2),
        ("block", 0.0, S, "pool_slot", P, None),  # the spawner waits for the one slot
        ("pool", 0.0, P, 1, 1, 1),
        ("wake", 2.0, F, "timer", 0, 0),
        ("wake", 2.0, S, "exit", F, 0),  # first's exit lets the spawner in...
        ("pool", 2.0, P, 1, 0, 0),  # (reported by the wake)
        ("pool", 2.0, P, 1, 0, 0),  # (and by the pool)
        ("pool", 2.0, P, 1, 1, 0),  # ...which spawns at once
        ("wake", 2.0, MAIN, "exit", S, 0),
        ("block", 2.0, S + 1, "sleep", None, 1),
        ("block", 2.0, MAIN, "join", None, None),
        ("wake", 3.0, S + 1, "timer", 0, 0),
        ("pool", 3.0, P, 1, 0, 0),
        ("wake", 3.0, MAIN, "exit", S + 1, 0),
    ]


def test_fd_wait(rec):
    a, b = socket.socketpair()
    try:
        reader = runtime.spawn(trampoline, a, read=True)
        runtime.sleep(0)
        b.send(b"x")
        reader.wait()
        R = reader.gid
        assert named(rec.take(), "block", "wake", "hub_wait", "hub_wake") == [
            ("block", 0.0, R, "io_read", None, a.fileno()),  # the reader runs when main yields
            ("block", 0.0, MAIN, "join", None, None),
            ("hub_wait", 0.0, 0, None),  # nothing else to do: wait for the fd, with no time limit
            ("hub_wake", 0.0, 0, 1),
            ("wake", 0.0, R, "fd_ready", 0, 0),
            ("wake", 0.0, MAIN, "exit", R, 0),
        ]
    finally:
        runtime.hubs.get_hub().notify_close(a.fileno())
        a.close()
        b.close()


def test_timeout_kill_and_exception(rec):
    runtime.debug.hub_exceptions(False)
    ev = runtime.Event(name="never")
    assert ev.wait(timeout=1.5) is None
    victim = runtime.spawn(ev.wait)
    runtime.sleep(0)
    victim.kill()
    failing = runtime.spawn(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failing.wait()
    with pytest.raises(GreenletExit):
        victim.wait()
    events = named(rec.take(), "wake", "exit")
    assert events == [
        ("wake", 1.5, MAIN, "timeout", 0, 0),
        ("wake", 1.5, victim.gid, "kill", MAIN, 0),
        ("exit", 1.5, victim.gid, "killed", "GreenletExit: "),
        ("exit", 1.5, failing.gid, "error", "ZeroDivisionError: division by zero"),
        ("wake", 1.5, MAIN, "exit", failing.gid, 0),
    ]


def test_a_full_buffer_drops_and_counts(clock):
    rec = Recorder(capacity=5).install()
    try:
        for _ in range(10):
            runtime.sleep(0)
    finally:
        rec.uninstall()
    assert rec.dropped > 0
    events = rec.take()
    assert KIND_NAMES[events[-1][0]] == "dropped" and events[-1][2] == 5  # 10 switches, room for 5
    assert len(events) == 6
    assert rec.dropped == 0 and rec.take() == []


def test_bad_capacity():
    with pytest.raises(ValueError, match="capacity"):
        Recorder(capacity=0)


def record_mixed(rec: Recorder, n: int) -> list[tuple]:
    """Call the recorder's hooks `n` times, switches among blocks and wakes; the events due."""
    a, b = SimpleNamespace(gid=7), SimpleNamespace(gid=8)
    due = []
    for i in range(n):
        if i % 3 == 2:
            rec.blocked(a, "io_read", i, i)
            where = f"{__file__}:{sys._getframe().f_lineno - 1} in record_mixed"
            due.append((BLOCK, i, 7, "io_read", None, i, where))
        elif i % 5 == 1:
            rec.woken(b, "fd_ready", a, None, 0)
            due.append((WAKE, i, 8, "fd_ready", 7, 0))
        else:
            rec.switched(a, b)
            due.append((SWITCH, i, 7, 8))
    return due


def test_a_batch_holds_the_events_in_order_by_column():
    rec = Recorder(clock=itertools.count().__next__)  # ts: the order the hooks ran in
    due = record_mixed(rec, 30)
    batch = rec.take_batch()
    assert batch.events() == due
    assert list(batch.column(SWITCH, 0)) == [e[1] for e in due if e[0] == SWITCH]  # (an array where the hooks are C)
    assert list(batch.column(BLOCK, 2)) == ["io_read"] * 10
    assert rec.take_batch().kinds == b""


def test_taking_from_another_thread_loses_and_reorders_nothing():
    rec = Recorder(clock=itertools.count().__next__)
    taken: list[tuple] = []
    done = threading.Event()

    def agent() -> None:
        while not done.is_set():
            taken.extend(rec.take_batch().events())
        taken.extend(rec.take_batch().events())

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # the threads take turns every few bytecodes
    thread = threading.Thread(target=agent)
    thread.start()
    try:
        due = record_mixed(rec, 200_000)
    finally:
        done.set()
        thread.join()
        sys.setswitchinterval(interval)
    assert taken == due


def test_a_full_buffer_keeps_the_first_events_and_counts_the_rest():
    rec = Recorder(capacity=10, clock=itertools.count().__next__)
    due = record_mixed(rec, 25)
    batch = rec.take_batch()
    events = batch.events()
    assert events[:-1] == due[:10]
    assert events[-1][0] == DROPPED and batch.column(DROPPED, 1) == [15]
    again = record_mixed(rec, 3)
    assert [e[0] for e in rec.take()] == [e[0] for e in again]  # room again, nothing dropped


# ---------------------------------------------------------------- state intervals


def test_intervals_of_a_ping_pong(rec):
    def worker():
        runtime.sleep(0)

    a = runtime.spawn(worker)
    runtime.sleep(1)
    a.wait()
    ivs = intervals(rec.take())
    assert [iv.state for iv in ivs[a.gid]] == ["ready", "running", "ready", "running", "done"]
    assert ivs[a.gid][0].detail == "spawn" and ivs[a.gid][2].detail == "yield"
    assert [(iv.state, iv.detail) for iv in ivs[MAIN]] == [
        ("running", None),
        ("sleep", "sleep"),
        ("ready", "timer"),
        ("running", None),  # switched in by the last event: zero-length, but it happened
    ]
    assert ivs[MAIN][1] == Interval(0, 10**9, "sleep", "sleep")


def test_check_finds_violations():
    sw, blk = KIND_CODES["switch"], KIND_CODES["block"]
    two_running = [(sw, 0, 0, 2), (sw, 5, 0, 3), (sw, 9, 2, 0), (sw, 10, 3, 0)]
    assert any("both run" in p for p in check(two_running))
    bad_wake = [(blk, 0, 2, "event", None, None), (KIND_CODES["wake"], 1, 2, "", None)]
    assert any("without a cause" in p for p in check(bad_wake))


def test_every_scenario_keeps_the_invariants(rec):
    q = runtime.Queue(1)
    pool = runtime.GreenPool(2)

    def producer():
        for i in range(5):
            q.put(i)

    def consumer():
        return [q.get(timeout=5) for _ in range(5)]

    def worker(n):
        runtime.sleep(0.1 * n)
        return n

    p = runtime.spawn(producer)
    c = runtime.spawn(consumer)
    assert list(pool.imap(worker, range(6))) == list(range(6))
    assert c.wait() == [0, 1, 2, 3, 4]
    p.wait()
    events = rec.take()
    assert check(events) == []


def test_imaps_calls_are_spawned_at_the_line_that_called_imap(rec):
    pool = runtime.GreenPool(2)
    assert list(pool.imap(abs, [-1, -2, -3])) == [1, 2, 3]  # its spawner runs only the runtime's code
    line = sys._getframe().f_lineno - 1
    sites = {e[4]: e[5] for e in rec.take() if e[0] == SPAWN}
    assert sites["abs"] == sites["imap_spawner"] == f"{__file__}:{line}"


def test_a_block_says_where_the_users_code_waits(rec):
    q = runtime.Queue()

    def consumer():
        return q.get()  # the line the block names

    line = sys._getframe().f_lineno - 2
    c = runtime.spawn(consumer)
    runtime.sleep(0)
    q.put(1)
    c.wait()
    blocks = [ev for ev in rec.take() if ev[0] == BLOCK]
    assert blocks[0][6] == f"{__file__}:{line} in {code_name(consumer)}"
    assert blocks[1][3] == "join" and blocks[1][6].startswith(f"{__file__}:")  # main's c.wait()


def test_io_waits_name_the_peer(rec):
    listener = runtime.listen(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    accepted = runtime.spawn(listener.accept)
    runtime.sleep(0)  # it waits for a connection
    client = runtime.connect(("127.0.0.1", port))
    server, addr = accepted.wait()
    reader = runtime.spawn(server.recv, 10)
    runtime.sleep(0)  # it waits for data
    client.send(b"x")
    assert reader.wait() == b"x"
    details = [ev[5] for ev in rec.take() if ev[0] == BLOCK and ev[3] == "io_read"]
    assert details == [f"listening 127.0.0.1:{port}", f"127.0.0.1:{addr[1]}"]
    for s in (client, server, listener):
        s.close()


def test_a_spawn_after_greenthread_sleeps_until_its_delay_is_up_not_ready(rec):
    g = runtime.spawn_after(2, lambda: None)
    g.wait()
    lane = intervals(rec.take())[g.gid]
    assert [(iv.state, iv.detail) for iv in lane] == [
        ("ready", "spawn"),
        ("sleep", "sleep"),  # its delay: waiting for a timer, as a sleep does
        ("ready", "timer"),
        ("running", None),
        ("done", "ok"),
    ]
    assert lane[1].end - lane[1].start == 2 * 10**9 and lane[0].end == lane[0].start

"""The switch trace in C (`runtime.attach._switches`) against the same trace in Python: the same eventlet
and gevent programs, traced each way in a fresh process, record the same events — the same switches,
blocks (reasons, objects, details, the program's line), wakes (causes, wakers), exits, spawns and counters.
And `local`, the rules' way to read a frame's local, reads what ``f_locals`` has."""

from __future__ import annotations

import difflib
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from runtime.attach import parking, switches

needs_c = pytest.mark.skipif(not switches.NATIVE, reason="runtime.attach._switches not built, or pure Python asked")

# Each program exercises every way to park, to be woken and to end that the adapters tell apart, in an order
# that does not depend on timing (no two timers due together, nothing racing a timer).
PROGRAMS = {
    "eventlet": """
        import eventlet, eventlet.event, eventlet.queue, eventlet.semaphore, eventlet.greenpool, greenlet
        from eventlet.green import socket
        from eventlet.timeout import Timeout

        keep = []  # what the events name stays alive: no address of one reused for another

        def handoff():
            ready = eventlet.event.Event()
            keep.append(ready)
            def waiter():
                ready.wait()
            def sender():
                eventlet.sleep(0)
                ready.send(1)
            for g in [eventlet.spawn(waiter), eventlet.spawn(sender)]:
                g.wait()

        def pipeline():
            q = eventlet.queue.Queue(1)
            keep.append(q)
            def producer():
                for i in range(4):
                    q.put(i)
            def consumer():
                for _ in range(4):
                    q.get()
                    eventlet.sleep(0)
            for g in [eventlet.spawn(producer), eventlet.spawn(consumer)]:
                g.wait()

        def locks():
            sem = eventlet.semaphore.Semaphore(1)
            keep.append(sem)
            def locker():
                with sem:
                    eventlet.sleep(0)
            for g in [eventlet.spawn(locker) for _ in range(3)]:
                g.wait()

        def pool():
            p = eventlet.greenpool.GreenPool(2)
            keep.append(p)
            def job(i):
                eventlet.sleep(0)
            for i in range(5):
                p.spawn(job, i)
            p.spawn_n(job, 5)
            p.waitall()

        def timers():
            def sleeper():
                eventlet.sleep(0.02)
            eventlet.spawn(sleeper).wait()
            never = eventlet.event.Event()
            keep.append(never)
            def timed():
                try:
                    with Timeout(0.02):
                        never.wait()
                except Timeout:
                    pass
            eventlet.spawn(timed).wait()

        def ends():
            def forever():
                e = eventlet.event.Event()
                keep.append(e)
                e.wait()
            g = eventlet.spawn(forever)
            eventlet.sleep(0)
            g.kill()  # a throw straight into it, from this greenthread
            def boom():
                raise ValueError("boom")
            g = eventlet.spawn(boom)
            try:
                g.wait()
            except ValueError:
                pass

        def sockets():
            a, b = socket.socketpair()
            def reader():
                a.recv(1)
            r = eventlet.spawn(reader)
            eventlet.sleep(0)
            b.send(b"x")
            r.wait()
            a.close()
            b.close()

        def raw():
            main = greenlet.getcurrent()
            def run():
                eventlet.sleep(0.01)  # announced by the trace (no spawn saw it), parks; the hub becomes its parent
                main.switch()  # straight back
            g = greenlet.greenlet(run)
            g.switch()
            g.parent = main
            g.throw()  # it ends, straight back here

        for step in (handoff, pipeline, locks, pool, timers, ends, sockets, raw):
            step()
            eventlet.sleep(0)
    """,
    "gevent": """
        import gevent, gevent.event, gevent.queue, gevent.lock, gevent.pool, gevent.socket, greenlet

        keep = []  # what the events name stays alive: no address of one reused for another

        def handoff():
            ready = gevent.event.Event()
            keep.append(ready)
            def waiter():
                ready.wait()
            def sender():
                gevent.sleep(0)
                ready.set()
            gevent.joinall([gevent.spawn(waiter), gevent.spawn(sender)])

        def pipeline():
            q = gevent.queue.Queue(1)
            keep.append(q)
            def producer():
                for i in range(4):
                    q.put(i)
            def consumer():
                for _ in range(4):
                    q.get()
                    gevent.sleep(0)
            gevent.joinall([gevent.spawn(producer), gevent.spawn(consumer)])

        def locks():
            sem = gevent.lock.BoundedSemaphore(1)
            keep.append(sem)
            def locker():
                with sem:
                    gevent.sleep(0)
            gevent.joinall([gevent.spawn(locker) for _ in range(3)])

        def pool():
            p = gevent.pool.Pool(2)
            keep.append(p)
            def job(i):
                gevent.sleep(0)
            for i in range(5):
                p.spawn(job, i)
            p.join()

        def timers():
            def sleeper():
                gevent.sleep(0.02)
            gevent.spawn(sleeper).join()
            never = gevent.event.Event()
            keep.append(never)
            def timed():
                try:
                    with gevent.Timeout(0.02):
                        never.wait()
                except gevent.Timeout:
                    pass
            gevent.spawn(timed).join()

        def ends():
            def forever():
                e = gevent.event.Event()
                keep.append(e)
                e.wait()
            g = gevent.spawn(forever)
            gevent.sleep(0)
            g.kill()
            def boom():
                raise ValueError("boom")
            gevent.spawn(boom).join()

        def sockets():
            a, b = gevent.socket.socketpair()
            def reader():
                a.recv(1)
            r = gevent.spawn(reader)
            gevent.sleep(0)
            b.send(b"x")
            r.join()
            a.close()
            b.close()

        def raw():
            # a greenlet with no switch_out: the trace tests it from its suspended frame, once it yields, then parks
            def run():
                gevent.sleep(0)
                gevent.sleep(0.01)
            greenlet.greenlet(run).switch()
            gevent.sleep(0.05)

        for step in (handoff, pipeline, locks, pool, timers, ends, sockets, raw):
            step()
            gevent.sleep(0)
    """,
}

# Runs PROGRAMS[peer] traced (the trace in C or in Python) and prints what it recorded, normalized: no times,
# greenthreads and objects numbered in order of appearance, no lateness (a timer fires when it fires), and
# nothing that depends on whether the hub polled in between (eventlet's does when a timer it is given is not
# due yet: a matter of microseconds): none of its poller waits, each switch as the greenthreads that left and
# took control (not the hub's part in it), the timers it fired as one total.
DRIVER = """
import json, sys, warnings
warnings.simplefilter("ignore")
import greenlet
from runtime.attach import attach
from runtime.trace.events import as_dict
from runtime.trace.recorder import Recorder

peer, native, program = sys.argv[1], sys.argv[2] == "c", sys.argv[3]
adapter = attach(peer, native=native).start()
recorder = Recorder().install()
exec(compile(program, "program.py", "exec"), {"__name__": "program"})
recorder.uninstall()
trace = type(greenlet.gettrace()).__name__
adapter.stop()
ids: dict = {}
def named(kind, value):
    if value is None:
        return None
    if (kind, value) not in ids:
        ids[kind, value] = sum(k[0] == kind for k in ids)
    return ids[kind, value]
out = []
fired = 0
for event in recorder.take():
    e = as_dict(event)
    if e["kind"] in ("hub_wait", "hub_wake", "clock", "dropped"):
        continue
    if e["kind"] == "timers":
        fired += e["count"]
        continue
    if e["kind"] == "switch":
        out += [{"left": named("gid", e["from"])}] if e["from"] > 0 else []
        out += [{"took": named("gid", e["to"])}] if e["to"] > 0 else []
        continue
    e.pop("ts")
    for field in ("gid", "parent", "from", "to", "waker"):
        if field in e and e[field] > 0:
            e[field] = named("gid", e[field])
    for field in ("obj", "pool"):
        if field in e:
            e[field] = named("obj", e[field])
    for field in ("late",):
        e.pop(field, None)
    out.append(e)
print(json.dumps({"native": adapter.trace.native, "trace": trace, "events": out, "fired": fired}))
"""


def _traced(peer: str, how: str) -> dict[str, Any]:
    program = textwrap.dedent(PROGRAMS[peer])
    result = subprocess.run(
        [sys.executable, "-c", DRIVER, peer, how, program],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@needs_c
def test_the_trace_in_c_records_what_the_trace_in_python_records(peer: str):
    c, py = _traced(peer, "c"), _traced(peer, "python")
    assert (c["native"], c["trace"]) == (True, "Core")
    assert (py["native"], py["trace"]) == (False, "function")
    if c["events"] != py["events"]:
        lines = difflib.unified_diff(*([json.dumps(e) for e in run["events"]] for run in (c, py)), "C", "Python")
        pytest.fail("the traces differ:\n" + "\n".join(lines))
    # and the programs went through every way in, and out (so the two were compared on all of them)
    events = c["events"]
    reasons = {e["reason"] for e in events if e.get("kind") == "block"}
    causes = {e["cause"] for e in events if e.get("kind") == "wake"}
    assert {"event", "queue_put", "semaphore", "pool_slot", "join", "sleep", "io_read"} <= reasons
    assert {"send", "get", "release", "exit", "timer", "timeout", "kill", "fd_ready"} <= causes
    killed = {"killed"} if peer == "eventlet" else set()  # (gevent's GreenletExit is a value, not an error)
    assert {e["outcome"] for e in events if e.get("kind") == "exit"} >= {"ok", "error", *killed}
    assert c["fired"] == py["fired"] >= 1  # timers that woke sleepers, reported at the hub's next poll
    program = [e for e in events if e.get("kind") == "block" and (e["where"] or "").startswith("program.py:")]
    assert len(program) >= 10  # the blocks name the program's lines


SOCKETS = """
import json, socket, sys, warnings
warnings.simplefilter("ignore")
from runtime.attach import attach
peer = sys.argv[1]
py, c = attach(peer, native=False), attach(peer, native=True)  # not started: their rules only
if peer == "gevent":
    import gevent, gevent._socket3, gevent._socketcommon, gevent.socket as green
    for adapter in (py, c):
        for module in (gevent._socketcommon, gevent._socket3):
            adapter._sockets(module)
    spawn, sleep = gevent.spawn, gevent.sleep
else:
    import eventlet, eventlet.hubs
    from eventlet.green import socket as green
    for adapter in (py, c):
        adapter._hubs(eventlet.hubs)
        adapter.patches.undo()
    spawn, sleep = eventlet.spawn, eventlet.sleep
listener = green.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
def connection():
    client = green.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    client.connect(listener.getsockname())
    server, _ = listener.accept()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return client, server
(reader, reader_server), (writer, writer_server) = connection(), connection()  # (the servers kept open)
a, b = green.socketpair()  # no peer's address
def read(sock):
    sock.recv_into(bytearray(1))  # (gevent's recv is compiled: no frame of it to read; its recv_into is not)
def fill(sock):
    while True:
        sock.send(b"x" * 65536)
# a client reads what its server never sends, another fills its server's buffer, which it never reads
waits = [spawn(read, reader), spawn(fill, writer), spawn(listener.accept), spawn(read, a)]
sleep(0.05)
out = []
for g in waits:
    frame = g.gr_frame
    out.append([[list(adapter.parking.why(frame)) for adapter in (py, c)] for _ in range(2)])  # cold, then cached
print(json.dumps(out))
"""


@needs_c
def test_the_socket_rules_in_c_say_what_the_closures_say(peer: str):
    result = subprocess.run(
        [sys.executable, "-c", SOCKETS, peer],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr
    waits = json.loads(result.stdout)
    for calls in waits:
        for python, c in calls:
            assert c == python
    reasons = [calls[0][0][0] for calls in waits]
    details = [calls[0][0][2] for calls in waits]
    assert reasons == ["io_read", "io_write", "io_read", "io_read"]
    assert details[0].startswith("127.0.0.1:") and details[1].startswith("127.0.0.1:")
    assert details[2].startswith("listening 127.0.0.1:") and details[3] != details[0]


def _frames() -> list[tuple[Any, str]]:
    """Frames of functions with every kind of local (an argument, a plain one, a cell, a free one, one
    unbound, a comprehension's), live and finished, and the names to read in each."""
    frames = []

    def plain(arg: int, unused: int = 0) -> None:
        value = arg + 1
        if arg < 0:  # never: `later` is a local, unbound
            later = arg
            print(later)
        frames.append((sys._getframe(), ("arg", "value", "later", "unused", "missing", "sys", "x")))
        [x for x in range(1)]
        del value

    def cells(arg: int) -> Any:
        shared = arg * 2

        def inner() -> int:
            frames.append((sys._getframe(), ("shared", "arg", "inner")))
            return shared + arg

        frames.append((sys._getframe(), ("shared", "arg", "inner", "x")))
        return inner()

    plain(1)
    cells(2)
    frames.append((sys._getframe(), ("frames", "plain", "cells")))  # live: this very frame
    return frames


@needs_c
def test_local_reads_what_f_locals_has():
    from runtime.attach import _switches

    live = sys._getframe()
    for frame, names in [*_frames(), (live, ("live", "frame", "names", "_switches", "nothing"))]:
        for name in names:
            expected = frame.f_locals.get(name, KeyError)
            assert _switches.local(frame, name, KeyError) == expected, name
            if expected is KeyError:
                with pytest.raises(KeyError):
                    _switches.local(frame, name)
            else:
                assert _switches.local(frame, name) == expected
                assert parking._local(frame, name) == expected


@needs_c
def test_a_trace_that_raises_is_removed_and_the_switch_raises_in_both():
    import greenlet

    from runtime.instrument import Instrument, add_instrument, remove_instrument

    class Exits(Instrument):
        def exited(self, glet: Any, outcome: str, exc: BaseException | None) -> None:
            pass

    def outcome(glet: Any, threw: bool) -> tuple[str, BaseException | None]:
        raise RuntimeError("how it ended is unknown")

    seen = []
    exits = Exits()
    add_instrument(exits)
    try:
        for native in (True, False):
            trace = switches.SwitchTrace(parking.Parking(), lambda: None, outcome, native=native)
            trace.start()
            try:
                with pytest.raises(RuntimeError, match="unknown"):  # it ended, its switch back to us raised
                    greenlet.greenlet(lambda: None).switch()
                seen.append(greenlet.gettrace())
            finally:
                greenlet.settrace(None)
    finally:
        remove_instrument(exits)
    assert seen == [None, None]  # greenlet removed the trace that raised, as it does any


@needs_c
def test_the_trace_in_c_keeps_no_references(peer: str):
    """A million switches' worth of parks, wakes and yields through the trace in C: no object left behind."""
    script = textwrap.dedent(
        """
        import gc, sys, warnings
        warnings.simplefilter("ignore")
        from runtime.attach import attach
        from runtime.trace.recorder import Recorder
        peer = sys.argv[1]
        adapter = attach(peer, native=True).start()
        recorder = Recorder(capacity=100_000).install()
        if peer == "eventlet":
            import eventlet, eventlet.event
            spawn, sleep, Event, join = eventlet.spawn, eventlet.sleep, eventlet.event.Event, lambda g: g.wait()
            send = lambda e: e.send(1)
        else:
            import gevent, gevent.event
            spawn, sleep, Event, join = gevent.spawn, gevent.sleep, gevent.event.Event, lambda g: g.join()
            send = lambda e: e.set()
        def rounds(n):
            for i in range(n):
                e = Event()
                g = spawn(e.wait)
                sleep(0)
                sleep(0.0)
                send(e)
                join(g)
                if i % 500 == 0:
                    recorder.take()
            recorder.take()
            gc.collect()
        rounds(2000)
        before = sys.getallocatedblocks()
        rounds(20000)
        print(sys.getallocatedblocks() - before)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, peer],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) < 500  # 20,000 rounds: a leak of one object a round would show 20,000

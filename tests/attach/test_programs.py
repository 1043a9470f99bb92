"""Unmodified eventlet and gevent programs (`examples/attach/`) run by ``greenscope record``: their
recordings hold the scheduling the runtime's own hub would report, with reasons, wakers and counters."""

from __future__ import annotations

import importlib.metadata
import signal
import socket
from pathlib import Path

import pytest

from runtime.trace.events import EXIT, HUB_WAIT, KIND_CODES
from runtime.trace.states import intervals
from tests.support.attach import EXAMPLES, POOL, Live, greenscope_record, line_of, recording, run_traced
from tests.support.httpd import Site

HUB = 0
CLIENTS, ROUNDS = 4, 3


def _reading(events: list[tuple], func: str, reads: int) -> int:
    """How many greenthreads running `func` are parked in their `reads`-th wait to read, now."""
    spawned = {e[2] for e in events if e[0] == KIND_CODES["spawn"] and e[4].rpartition(".")[2] == func}
    last: dict[int, tuple] = {}
    count: dict[int, int] = {}
    for e in events:
        if e[0] in (KIND_CODES["block"], KIND_CODES["wake"]) and e[2] in spawned:
            last[e[2]] = e
            count[e[2]] = count.get(e[2], 0) + (e[0] == KIND_CODES["block"] and e[3] == "io_read")
    return sum(e[0] == KIND_CODES["block"] and count[gid] == reads for gid, e in last.items())


def test_echo_handlers_block_reading_their_own_connection(peer: str, tmp_path: Path):
    out = tmp_path / "echo.gsc"
    handler = "handle" if peer == "eventlet" else "echo"
    proc = greenscope_record(out, EXAMPLES / f"{peer}_echo.py", "0")
    live = Live(out)
    try:
        port = int(proc.stdout.readline().rpartition(":")[2])
        clients = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(CLIENTS)]
        client_ports = [c.getsockname()[1] for c in clients]
        for r in range(ROUNDS + 1):  # each line sent once every handler waits for it: all of them, at once
            live.wait(lambda events, r=r: _reading(events, handler, r + 1) == CLIENTS, f"{CLIENTS} handlers reading")
            if r == ROUNDS:
                break  # they wait for the end of their connection
            for i, c in enumerate(clients):
                c.sendall(f"line {r} from {i}\n".encode())
            for i, c in enumerate(clients):
                with c.makefile("rb") as f:
                    assert f.readline() == f"line {r} from {i}\n".encode()
        for c in clients:
            c.close()
        for _ in range(CLIENTS * 2):  # connected, disconnected
            assert proc.stdout.readline().startswith("client")
        # Ctrl-C once the server is idle (a KeyboardInterrupt raised in a finalizer is lost)
        live.wait(
            lambda events: len([e for e in events if e[0] == EXIT]) == CLIENTS and events[-1][0] == HUB_WAIT, "idle"
        )
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0, proc.stderr.read()
    finally:
        proc.kill()
        proc.communicate()
    rec = recording(out)
    assert rec.complete
    assert rec.process["runtime"] == f"{peer} {importlib.metadata.version(peer)}"
    handlers = rec.gids(handler)
    assert len(handlers) == CLIENTS
    program = EXAMPLES / f"{peer}_echo.py"
    where = f"{program}:{line_of(program, '.readline()')} in {handler}"
    peers = set()
    for gid in handlers:
        reads = rec.of("block", gid=gid, reason="io_read")
        assert len(reads) == ROUNDS + 1  # a wait for each line, then for the end of the connection
        assert len({b["detail"] for b in reads}) == 1  # its own client, every time
        peers.add(reads[0]["detail"])
        assert all(b["where"] == where for b in reads)  # the program's line, not eventlet's or gevent's
        wakes = rec.of("wake", gid=gid)
        assert len(wakes) == ROUNDS + 1 and all(w["cause"] == "fd_ready" and w["waker"] == HUB for w in wakes)
    assert peers == {f"127.0.0.1:{port}" for port in client_ports}


# eventlet's green urllib; eventlet's monkey-patched urllib; gevent's, monkey-patched
@pytest.mark.parametrize("crawler", ["eventlet_crawler", "eventlet_patched_crawler", "gevent_crawler"])
def test_crawler_spawner_waits_for_a_slot_of_its_saturated_pool(crawler: str, site: Site, tmp_path: Path):
    urls = [f"{site.url}/page{i}" for i in range(6)]
    result = run_traced(tmp_path / "crawl.gsc", EXAMPLES / f"{crawler}.py", "--pool", str(POOL), *urls)
    assert result.returncode == 0, result.stderr
    assert sorted(line.rpartition(": ")[0] for line in result.stdout.splitlines()) == urls
    assert site.most_in_flight == POOL  # its fetches overlapped, as many as it has slots
    rec = recording(tmp_path / "crawl.gsc")
    pools = [r["obj"] for r in rec.of("resource", type="pool", size=POOL)]
    pool = next(obj for obj in pools if rec.of("pool", obj=obj, running=POOL))
    states = rec.of("pool", obj=pool)
    assert max(p["running"] for p in states) == POOL  # never more than its size
    assert any(p["running"] == POOL and p["waiting"] >= 1 for p in states)  # full, and a spawner waits
    members = {s["gid"] for s in rec.of("spawn", pool=pool)}
    fetchers = members & set(rec.gids("fetch"))
    assert len(fetchers) == len(urls)
    slot_waits = rec.of("block", reason="pool_slot", obj=pool)
    assert slot_waits
    exited = set()
    for ev in sorted(rec.of("exit") + rec.of("wake"), key=lambda e: e["ts"]):
        if ev["kind"] == "exit":
            exited.add(ev["gid"])
        elif ev["gid"] == slot_waits[0]["gid"] and ev["cause"] == "release":
            assert ev["waker"] in fetchers and ev["waker"] in exited  # a member that ended freed the slot
    assert rec.of("wake", gid=slot_waits[0]["gid"], cause="release")
    # the first of each pair in flight waits for its response (the site answers once the second comes)
    reading = [gid for gid in fetchers if rec.of("block", gid=gid, reason="io_read", detail=site.url[7:])]
    assert len(reading) >= len(urls) // POOL


def test_producer_waits_for_room_in_the_queue_its_consumer_makes(peer: str, tmp_path: Path):
    result = run_traced(tmp_path / "pipe.gsc", EXAMPLES / f"{peer}_pipeline.py", "10")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "consumed 45"
    rec = recording(tmp_path / "pipe.gsc")
    (queue,) = [r["obj"] for r in rec.of("resource", type="queue")]
    (producer,), (consumer,) = rec.gids("producer"), rec.gids("consumer")
    puts = rec.of("block", gid=producer, reason="queue_put", obj=queue)
    assert len(puts) >= 5  # the queue holds two; the consumer takes one at a time
    room = rec.of("wake", gid=producer, cause="get")
    assert len(room) == len(puts) and all(w["waker"] == consumer for w in room)
    states = rec.of("queue", obj=queue)
    assert max(q["size"] for q in states) == 2 and all(q["maxsize"] == 2 for q in states)
    assert any(q["putters"] == 1 and q["size"] == 2 for q in states)


def test_event_hand_off_names_the_sender(peer: str, tmp_path: Path):
    result = run_traced(tmp_path / "handoff.gsc", EXAMPLES / f"{peer}_handoff.py")
    assert result.returncode == 0, result.stderr
    rec = recording(tmp_path / "handoff.gsc")
    (waiter,), (sender,) = rec.gids("waiter"), rec.gids("sender")
    program = EXAMPLES / f"{peer}_handoff.py"
    assert [(b["reason"], b["where"]) for b in rec.of("block", gid=waiter)] == [
        ("event", f"{program}:{line_of(program, 'ready.wait()')} in waiter")
    ]
    assert [(w["cause"], w["waker"]) for w in rec.of("wake", gid=waiter)] == [("send", sender)]
    assert [b["reason"] for b in rec.of("block", gid=sender)] == ["sleep"]
    assert [(w["cause"], w["waker"]) for w in rec.of("wake", gid=sender)] == [("timer", HUB)]


def test_a_greenthread_blocking_the_hub_holds_it_and_the_ticker_sleeps_late(peer: str, tmp_path: Path):
    result = run_traced(tmp_path / "block.gsc", EXAMPLES / f"{peer}_blocker.py")
    assert result.returncode == 0, result.stderr
    rec = recording(tmp_path / "block.gsc")
    (blocker,), (ticker,) = rec.gids("blocker"), rec.gids("ticker")
    lanes = intervals(rec.events)
    held = max((iv for iv in lanes[blocker] if iv.state == "running"), key=lambda iv: iv.end - iv.start)
    assert held.end - held.start >= 0.2e9  # time.sleep(0.2), unpatched: nothing else ran meanwhile
    # the ticker asked for 10 ms and slept through the whole hold: its timer fired that late
    late = [iv for iv in lanes[ticker] if iv.state == "sleep" and iv.start <= held.start < iv.end]
    assert len(late) == 1 and late[0].end - late[0].start >= 0.2e9
    (woke,) = [w for w in rec.of("wake", gid=ticker) if w["ts"] == late[0].end]
    assert woke["cause"] == "timer" and woke["late"] >= held.end - held.start - 0.01e9
    # the hub says it fired a timer that late, and the stall monitor caught the blocker in time.sleep
    assert any(t["hub"] == HUB and t["late"] >= woke["late"] for t in rec.of("timers"))
    (stall,) = [s for s in rec.of("stall") if s["gid"] == blocker]
    assert stall["ns"] >= 0.2e9 and stall["stack"][-1].endswith("in blocker")

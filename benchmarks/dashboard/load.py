"""The load the phases put on the server: the child roles of ``python -m benchmarks.dashboard`` (a synthetic
agent, `flood`; programs traced by the real recorder and agent, `traced` and `crowd`) and a program recorded by
``greenscope record`` (`record_program`, for the analysis and the page's benchmark)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from array import array
from collections.abc import Callable
from itertools import repeat
from operator import add
from pathlib import Path

PACED_RATE = 50_000  # events/s
FRAME_EVENTS = 10_000  # events per EVENTS frame from the synthetic agent (the real one: what 50 ms hold)
# many greenthreads in a GreenPool, each a burst of sleep(0) then one long sleep
PROGRAM = """\
import sys

import runtime

greenthreads, sleeps = int(sys.argv[1]), int(sys.argv[2])


def work():
    for _ in range(sleeps):
        runtime.sleep(0)
    runtime.sleep(0.2)  # a long state right after the burst


pool = runtime.GreenPool(greenthreads)
for _ in range(greenthreads):
    pool.spawn(work)
pool.waitall()
"""


def synthetic_events(n: int, t0: int) -> list[tuple]:
    """`n` events of a busy server: greenthreads blocking on sockets and a queue, the hub polling, some spawns."""
    from runtime.trace.events import BLOCK, EXIT, HUB_WAIT, HUB_WAKE, QUEUE, SPAWN, SWITCH, TIMERS, WAKE

    queue, site = 0x7F00_1234_5678, "server.py:42"
    events: list[tuple] = []
    ts, cycle = t0, 0
    while len(events) < n:
        g = 2 + cycle % 500
        ts += 10_000
        events += [
            (SWITCH, ts, 0, g),
            (BLOCK, ts + 100, g, "io_read", None, f"127.0.0.1:{7000 + cycle % 50}", "server.py:51 in handle"),
            (SWITCH, ts + 200, g, 0),
            (HUB_WAIT, ts + 300, 0, 0.001),
            (HUB_WAKE, ts + 2_000, 0, 1),
            (TIMERS, ts + 2_100, 0, 1, 0),
            (WAKE, ts + 2_200, g, "fd_ready", 0, 0),
            (SWITCH, ts + 2_300, 0, g),
            (BLOCK, ts + 2_400, g, "queue_get", queue, None, "server.py:60 in handle"),
            (QUEUE, ts + 2_450, queue, 0, 100, 0, 1),
            (SWITCH, ts + 2_500, g, 0),
            (WAKE, ts + 3_000, g, "put", g + 1, 0),
        ]
        if cycle % 50 == 0:
            events += [(SPAWN, ts + 3_100, g + 1000, g, "handle", site, None), (EXIT, ts + 3_200, g + 1000, "ok", None)]
        cycle += 1
    return events[:n]


def _hello(process: dict, address: str) -> bytes:
    """MAGIC and the HELLO of an agent of this user's dashboard at `address` (its key from its identity file)."""
    from runtime.trace.codec import HELLO, MAGIC, encode_frame
    from runtime.trace.events import describe
    from runtime.tracer import find_dashboard

    key = (find_dashboard(agent=address) or {}).get("key")
    return MAGIC + encode_frame(HELLO, {"schema": describe(), "process": process, "auth": key})


def flood(address: str, total: int, seconds: float = 0.0, rate: float = 0.0) -> None:
    """Be an agent that sends `total` synthetic events as fast as the socket takes them (or, with `seconds`,
    as many as it can in that time), then END. With `rate`, `rate` events a second for `seconds`, each frame
    stamped with the clock as it leaves (its last event's ts is now: the delay a viewer measures is real)."""
    from runtime.agent import process_info
    from runtime.sinks import parse_address
    from runtime.trace.codec import END, EVENTS, encode_frame
    from runtime.trace.events import Batch

    frames = [encode_frame(EVENTS, synthetic_events(FRAME_EVENTS, i * 10**9)) for i in range(16)]
    template = Batch.of(synthetic_events(FRAME_EVENTS, 0))
    span = max(col[0][-1] for col in template.columns.values())
    family, addr = parse_address(address)
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.connect(addr)
        sock.sendall(_hello(process_info("flood"), address))
        start = time.perf_counter()
        sent = 0
        while (sent < total) if not seconds else (time.perf_counter() - start < seconds):
            if rate:
                time.sleep(max(0.0, start + sent / rate - time.perf_counter()))
                shift = time.monotonic_ns() - span
                columns = {k: [array("q", map(add, c[0], repeat(shift))), *c[1:]] for k, c in template.columns.items()}
                sock.sendall(encode_frame(EVENTS, Batch(template.kinds, columns)))
            else:
                sock.sendall(frames[(sent // FRAME_EVENTS) % len(frames)])
            sent += FRAME_EVENTS
        sock.sendall(encode_frame(END, {"dropped": 0}))
        elapsed = time.perf_counter() - start
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(60)
        while sock.recv(65536):  # until the server has read it all and closed
            pass
    print(json.dumps({"sent": sent, "sent_per_s": sent / elapsed}), flush=True)


def traced(address: str, rate: float, seconds: float) -> None:
    """A program traced by the real recorder and agent: sleep(0) (one switch event each) paced to `rate` a second."""
    import runtime
    from runtime.agent import Agent, process_info
    from runtime.sinks import SocketSink
    from runtime.trace.recorder import Recorder
    from runtime.tracer import find_dashboard

    recorder = Recorder().install()
    for _ in range(1000):
        runtime.sleep(0)
    per_sleep = len(recorder.take_batch().kinds) / 1000  # events per sleep(0): 1 (the hub goes straight on)
    key = (find_dashboard(agent=address) or {}).get("key")
    agent = Agent(recorder, [SocketSink(address, secret=key)], process_info("paced", sys.argv)).start()
    try:
        sleeps, behind = _pace(runtime.sleep, rate / per_sleep, seconds)
    finally:
        recorder.uninstall()
        agent.stop()
    print(json.dumps({"events_per_s": sleeps * per_sleep / seconds, "max_behind_ms": behind * 1000}), flush=True)


def crowd(address: str, greenthreads: int, seconds: float) -> None:
    """A program traced by the real recorder and agent with `greenthreads` greenthreads alive at once for
    `seconds`: each sleeps 1 to 4 s (at random), yields once, and again, until the time is up."""
    import random

    import runtime
    from runtime.agent import Agent, process_info
    from runtime.sinks import SocketSink
    from runtime.trace.recorder import Recorder
    from runtime.tracer import find_dashboard

    recorder = Recorder().install()
    key = (find_dashboard(agent=address) or {}).get("key")
    agent = Agent(recorder, [SocketSink(address, secret=key)], process_info("crowd", sys.argv)).start()
    end = time.monotonic() + seconds
    rng = random.Random(17)

    def member() -> None:
        while time.monotonic() < end:
            runtime.sleep(rng.uniform(1.0, 4.0))
            runtime.sleep(0)

    try:
        members = [runtime.spawn(member) for _ in range(greenthreads)]
        for m in members:
            m.wait()
    finally:
        recorder.uninstall()
        agent.stop()
    print(json.dumps({"greenthreads": greenthreads, "produced": agent.produced}), flush=True)


def _pace(sleep: Callable[[float], None], per_second: float, seconds: float) -> tuple[int, float]:
    """Call sleep(0) `per_second` times a second for `seconds`; return how many, and the most it lagged (s)."""
    start = time.monotonic()
    done, behind = 0, 0.0
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(elapsed * per_second) - done
        behind = max(behind, due / per_second)
        if due <= 0:
            sleep(0.001)
            continue
        for _ in range(min(due, 5_000)):
            sleep(0)
        done += min(due, 5_000)
    return done, behind


def record_program(directory: Path, greenthreads: int, sleeps: int) -> tuple[Path, float]:
    """``greenscope record`` of PROGRAM into `directory`; the recording and the seconds it took."""
    program, recording = directory / "many_sleeps.py", directory / "many_sleeps.gsc"
    program.write_text(PROGRAM)
    command = [sys.executable, "-m", "visualizer", "record", "-o", str(recording), str(program)]
    start = time.perf_counter()
    subprocess.run([*command, str(greenthreads), str(sleeps)], cwd=directory, check=True, timeout=600)
    return recording, time.perf_counter() - start

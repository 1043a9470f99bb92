"""The dashboard's streaming under load: a real ``greenscope serve`` process, real agents, real Socket.IO viewers.

    python -m benchmarks.dashboard                       # the short run (also part of ``python -m benchmarks``)
    python -m benchmarks.dashboard --long                # the soak phase for 10 minutes
    python -m benchmarks.dashboard --memory-seconds 300  # the memory phase for 5 minutes, the server's default window

Six phases, each against its own server (``python -m visualizer serve --port 0``, its sessions in a temporary
directory) on 127.0.0.1:

ingest       one synthetic agent (another process) sends pre-encoded EVENTS frames of realistic events as fast as
             it can; the rate is the session's event count (read over REST) over the time it took to grow.
delay        a traced program (the real `Recorder` and `Agent`, another process) emits ~1 switch event per sleep(0),
             paced to 50k events/s; one acking viewer. Delay: the event's ``ts`` (the traced process's
             CLOCK_MONOTONIC) to ``time.monotonic_ns()`` when the viewer's batch handler runs (one clock,
             system-wide on Linux). It includes the agent's 50 ms shipping interval and the streamer's 50 ms.
memory       the saturation workload at full rate, launched over REST, one acking viewer; the server's RSS
             (/proc/PID/status) sampled every few seconds.
slow viewer  the paced program again, a normal viewer and one that stalls (its batch handlers block: no ack) for
             the whole run, then acks again: it must get an explicit ``dropped`` count (the phase's window is small);
             the normal viewer's delay and the program's pace must match the delay phase.
soak         the synthetic agent at full speed for the whole phase, a steady viewer, a stalled one, and viewers
             joining and leaving every second or two; the server's RSS sampled: flat within 10 % after warm-up, and
             no loss unsaid (the session holds what the agent sent; each viewer's events + dropped = the session's).
analysis     a recording of ~1M events uploaded; the server's analysis of it (GET .../analysis: read from disk,
             decoded, analysed), then asked again (nothing new to read); and `analyse()` alone on the same events.

A report, not a test: it prints figures and PASS/MISS against the targets and exits 0. Every process it starts
(servers, agents, the workload it launches) it stops itself, by pid.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from itertools import repeat
from operator import add
from pathlib import Path
from typing import Any

from benchmarks.harness import ROOT

INGEST_TARGET = 5_000_000  # events per CPU-second of the server, from one agent
DELAY_TARGET_MS = 100.0  # p95 emit -> viewer, at PACED_RATE and FLOOD_RATE
PACED_RATE = 50_000  # events/s
FLOOD_RATE = 200_000  # events/s from the synthetic agent, in the delay phase
PHASES = ("ingest", "delay", "memory", "slow", "soak", "analysis")
ANALYSIS_TARGET_S = 2.0  # the server's analysis of 1M events
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

LONG_SOAK = 600.0  # seconds: the soak phase with --long
FLAT_GROWTH = 0.10  # RSS may grow this much after warm-up and still be "flat"
FRAME_EVENTS = 10_000  # events per EVENTS frame from the synthetic agent (the real one: what 50 ms hold)
STALL_LIMIT = 120.0  # seconds a stalled viewer waits at most, whatever happens
CLOCK_NOTE = (
    "emitted = the event's ts (CLOCK_MONOTONIC of the traced process), received = time.monotonic_ns() in the"
    " viewer as its batch handler runs: the same clock on one Linux machine"
)


# ---------------------------------------------------------------- child processes (``python -m benchmarks.dashboard``)


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


# ---------------------------------------------------------------- the server and its clients


class Server:
    """``python -m visualizer serve --port 0`` in a child process; `url`, `agent` from the line it prints."""

    def __init__(self, *args: str) -> None:
        self._log = tempfile.TemporaryFile()
        self._data = tempfile.TemporaryDirectory(prefix="greenscope-bench-")
        command = [sys.executable, "-m", "visualizer", "serve", "--port", "0", "--data-dir", self._data.name, *args]
        self.proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=self._log, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ""  # type: ignore[union-attr]
        found = re.search(r"at (http://\S+) \(agents connect to (\S+)\)", line)
        if not found:
            self.close()
            raise RuntimeError(f"the dashboard did not start: {line!r}")
        self.url, self.agent = found.groups()
        self.base = self.url.split("?")[0]
        import requests

        self.http = requests.Session()
        self.http.trust_env = False  # 127.0.0.1 only: no proxy
        self.http.headers["X-Greenscope"] = "1"  # what the page sends with what changes something

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu_seconds(self) -> float:
        """CPU time the server has used so far (user + system, all its threads)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        """The server's resident memory, in MB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def api(self, method: str, path: str, **kw: Any) -> Any:
        response = self.http.request(method, self.base + "api/" + path, timeout=10, **kw)
        response.raise_for_status()
        return response.json()

    def session_of(self, pid: int, timeout: float = 20.0) -> dict:
        """The session of the traced process `pid`, once its agent has said hello."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [s for s in self.api("GET", "sessions") if s["pid"] == pid and s["state"] != "starting"]
            if found:
                return found[0]
            time.sleep(0.02)
        raise TimeoutError(f"no session for pid {pid}")

    def close(self) -> None:
        """Stop it (SIGTERM: it stops its workloads), SIGKILL if it does not go within 20 s."""
        if hasattr(self, "http"):
            self.http.close()
        stop(self.proc)
        self.proc.stdout.close()  # type: ignore[union-attr]
        self._log.close()
        self._data.cleanup()


def stop(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """Terminate the process we started, then kill it if it lingers; reap it either way."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def child(*args: str) -> subprocess.Popen:
    """``python -m benchmarks.dashboard ARGS`` (a child role), its stdout piped."""
    command = [sys.executable, "-m", "benchmarks.dashboard", *args]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)


def result_of(proc: subprocess.Popen, timeout: float) -> dict:
    """The JSON line a child role prints when it is done."""
    out, _ = proc.communicate(timeout=timeout)
    lines = out.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def started(stack: ExitStack, thing: Any) -> Any:
    """`thing` (a `Server`, a `Viewer` or a child process), stopped when `stack` closes, whatever happens."""
    stack.callback(stop, thing) if isinstance(thing, subprocess.Popen) else stack.callback(thing.close)
    return thing


class Viewer:
    """A python-socketio client watching one session: counts events and ``dropped``, and the delay of each event
    emitted after `measure_from` (ns). With `stall` set, it takes no batch (and acks none) until `released`.

    Messages are read in order (`OrderedClient`: a batch's binary attachment after its header) and handed to a
    thread of its own, so a stalled viewer still answers the server's pings."""

    def __init__(self, url: str, stall: bool = False) -> None:
        from tests.support.socketio_client import OrderedClient

        self.measure_from = 2**63
        self.delays_ms: list[float] = []
        self.events = self.dropped = self.batches = self.arrived = 0
        self.released = threading.Event()
        self._lock = threading.Lock()
        self._inbox: queue.SimpleQueue[tuple[int, dict] | None] = queue.SimpleQueue()
        if not stall:
            self.released.set()
        self._worker = threading.Thread(target=self._work, daemon=True)
        self._worker.start()
        self.sio = OrderedClient()
        self.sio.on("batch", self._batch)
        self.sio.connect(url, transports=["websocket"], wait_timeout=10)

    def watch(self, sid: str) -> None:
        reply = self.sio.call("subscribe", {"session": sid}, timeout=10)
        if "session" not in reply:
            raise RuntimeError(f"subscribe failed: {reply}")

    def _batch(self, batch: dict) -> None:
        with self._lock:
            self.arrived += 1
        self._inbox.put((time.monotonic_ns(), batch))

    def _work(self) -> None:
        while (item := self._inbox.get()) is not None:
            received, batch = item
            self.released.wait(STALL_LIMIT)
            since = self.measure_from
            origin, data = int(batch["origin"]), batch["data"]
            columns = batch["columns"].values()
            stamps = [origin + ts for c in columns for ts in array("d", data[c["ts"] :][: 8 * c["n"]])]
            delays = [(received - ts) / 1e6 for ts in stamps if ts >= since]
            with self._lock:
                self.delays_ms += delays
                self.events += batch["events"]
                self.dropped += batch["dropped"]
                self.batches += 1
            try:
                self.sio.emit("ack", {"seq": batch["seq"]})
            except Exception:  # leaving: the ack no longer matters
                pass

    def close(self) -> None:
        self.released.set()
        self._inbox.put(None)
        self.sio.disconnect()


# ---------------------------------------------------------------- the phases


@dataclass
class Report:
    """Lines to print, and the figures (for --json)."""

    lines: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def add(self, text: str = "") -> None:
        self.lines.append(text)
        print(text, flush=True)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of `values` (already sorted)."""
    return values[min(len(values) - 1, max(0, round(q / 100 * len(values)) - 1))] if values else float("nan")


def delay_figures(delays: list[float]) -> dict[str, float]:
    ordered = sorted(delays)
    return {
        "n": len(ordered),
        **{f"p{q}": percentile(ordered, q) for q in (50, 95, 99)},
        "max": percentile(ordered, 100),
    }


def wait_for(condition: Callable[[], Any], timeout: float, every: float = 0.05) -> Any:
    """Poll `condition` until it is true (returned) or `timeout` passes (returns the last value)."""
    deadline = time.monotonic() + timeout
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(every)
    return value


def measure_ingest(report: Report, total: int) -> None:
    """(a) one agent, as fast as it can: events/s the server ingests, and per CPU-second of the server (the
    figure that does not depend on what else the machine runs)."""
    with ExitStack() as stack:
        server = started(stack, Server())
        agent = started(stack, child("flood", server.agent, str(total)))
        session = server.session_of(agent.pid)
        samples: list[tuple[float, float, int]] = []

        def counted() -> bool:
            events = server.api("GET", f"sessions/{session['id']}")["events"]
            samples.append((time.perf_counter(), server.cpu_seconds(), events))
            return events >= total

        wait_for(counted, timeout=120, every=0.1)
        sent = result_of(agent, timeout=30).get("sent_per_s", float("nan"))
    (t0, c0, e0) = next(s for s in samples if s[2] > 0)
    (t1, c1, e1) = samples[-1]
    rate = (e1 - e0) / (t1 - t0) if t1 > t0 else float("nan")
    per_core = (e1 - e0) / (c1 - c0) if c1 > c0 else float("nan")
    report.figures["ingest"] = {"events": e1, "events_per_s": rate, "per_cpu_s": per_core, "agent_sent_per_s": sent}
    report.add(f"ingest       one agent, {total:,} synthetic events in {FRAME_EVENTS:,}-event frames")
    report.add(f"             server ingested {rate:,.0f} events/s (the agent wrote {sent:,.0f}/s into its socket)")
    report.add(f"             {per_core:,.0f} events per CPU-second of the server (its API polled every 0.1 s too)")
    report.add(f"             target >= {INGEST_TARGET:,} events/s per core: {verdict(per_core >= INGEST_TARGET)}")


def record_program(directory: Path, greenthreads: int, sleeps: int) -> tuple[Path, float]:
    """``greenscope record`` of PROGRAM into `directory`; the recording and the seconds it took."""
    program, recording = directory / "many_sleeps.py", directory / "many_sleeps.gsc"
    program.write_text(PROGRAM)
    command = [sys.executable, "-m", "visualizer", "record", "-o", str(recording), str(program)]
    start = time.perf_counter()
    subprocess.run([*command, str(greenthreads), str(sleeps)], cwd=directory, check=True, timeout=600)
    return recording, time.perf_counter() - start


def measure_analysis(report: Report, greenthreads: int) -> None:
    """The analysis (GET /api/sessions/<id>/analysis) of a recording of ~1M events: once (all of it), then again
    (nothing new: nothing read); and `analyse()` alone, in this process, on the same events."""
    from runtime.trace.analysis import analyse
    from runtime.trace.codec import read_recording

    with tempfile.TemporaryDirectory(prefix="greenscope-bench-") as tmp, ExitStack() as stack:
        recording, _ = record_program(Path(tmp), greenthreads, 260)
        events = read_recording(recording.read_bytes())[1]
        start = time.perf_counter()
        analyse(events)
        alone = time.perf_counter() - start
        server = started(stack, Server())
        with recording.open("rb") as f:
            sid = server.api("POST", "recordings", files={"file": (recording.name, f)})["id"]
        timings = []
        for _ in range(2):
            start = time.perf_counter()
            server.http.get(f"{server.base}api/sessions/{sid}/analysis?tasks=200", timeout=300).raise_for_status()
            timings.append(time.perf_counter() - start)
    first, again = timings
    report.figures["analysis"] = {"events": len(events), "server_s": first, "again_s": again, "analyse_s": alone}
    report.add(f"analysis     a recording of {len(events):,} events ({greenthreads:,} greenthreads x 260 sleep(0))")
    report.add(
        f"             the server's analysis {first:.2f} s (asked again, nothing new: {again:.3f} s);"
        f" analyse() alone {alone:.2f} s; target <= {ANALYSIS_TARGET_S:g} s: {verdict(first <= ANALYSIS_TARGET_S)}"
    )


def paced_run(server: Server, seconds: float, viewers: list[Viewer], warmup: float = 1.0) -> tuple[dict, dict]:
    """Run the paced traced program for `seconds` with `viewers` subscribed; its own figures and its session."""
    with ExitStack() as stack:
        program = started(stack, child("traced", server.agent, str(PACED_RATE), str(seconds)))
        session = server.session_of(program.pid)
        for viewer in viewers:
            viewer.watch(session["id"])
        since = time.monotonic_ns() + int(warmup * 1e9)
        for viewer in viewers:
            viewer.measure_from = since
        own = result_of(program, timeout=seconds + 60)
    done = wait_for(lambda: (s := server.api("GET", f"sessions/{session['id']}"))["complete"] and s, timeout=20)
    return own, done or {}


def describe_program(own: dict, session: dict) -> str:
    """The paced program's own figures: its rate, how far behind its pace it fell, what its agent lost."""
    rate, behind = own.get("events_per_s", 0.0), own.get("max_behind_ms", 0.0)
    return f"{rate:,.0f} events/s, at most {behind:.0f} ms behind its pace; its agent lost {session.get('lost')} events"


def describe_delay(figures: dict[str, float]) -> str:
    return (
        f"p50 {figures['p50']:.0f} ms, p95 {figures['p95']:.0f} ms, p99 {figures['p99']:.0f} ms,"
        f" max {figures['max']:.0f} ms ({figures['n']:,} events)"
    )


def measure_delay(report: Report, seconds: float) -> None:
    """(b) end-to-end delay, one viewer: of a real traced program at 50k events/s, then of a synthetic agent at
    200k events/s."""
    with ExitStack() as stack:
        server = started(stack, Server())
        viewer = started(stack, Viewer(server.url))
        own, session = paced_run(server, seconds, [viewer])
        wait_for(lambda: viewer.events >= session.get("events", 0), timeout=10)
    delay = delay_figures(viewer.delays_ms)
    report.figures["delay"] = {"program": own, "viewer": delay, "session_lost": session.get("lost")}
    report.add(f"delay        a traced program (real Recorder + Agent), sleep(0) paced to {PACED_RATE:,} events/s")
    report.add(f"             for {seconds:g} s: {describe_program(own, session)}")
    report.add(f"             one viewer: {describe_delay(delay)}")
    report.add(f"             ({CLOCK_NOTE})")
    report.add(f"             target p95 < {DELAY_TARGET_MS:.0f} ms: {verdict(delay['p95'] < DELAY_TARGET_MS)}")
    with ExitStack() as stack:
        server = started(stack, Server())
        viewer = started(stack, Viewer(server.url))
        agent = started(stack, child("flood", server.agent, "0", str(seconds), str(FLOOD_RATE)))
        session = server.session_of(agent.pid)
        viewer.watch(session["id"])
        viewer.measure_from = time.monotonic_ns() + 10**9  # after a second's warm-up
        sent = result_of(agent, timeout=seconds + 60)
        done = wait_for(lambda: (s := server.api("GET", f"sessions/{session['id']}"))["complete"] and s, timeout=20)
        wait_for(lambda: viewer.events >= (done or {}).get("events", 0), timeout=10)
    fast = delay_figures(viewer.delays_ms)
    report.figures["delay"]["flood"] = {"agent": sent, "viewer": fast, "events": viewer.events, "session": done}
    report.add(f"             a synthetic agent at {FLOOD_RATE:,} events/s for {seconds:g} s (each frame stamped as it")
    report.add(f"             leaves; it sent {sent.get('sent_per_s', 0):,.0f}/s): one viewer: {describe_delay(fast)}")
    report.add(f"             target p95 < {DELAY_TARGET_MS:.0f} ms: {verdict(fast['p95'] < DELAY_TARGET_MS)}")


def measure_memory(report: Report, seconds: float, window: int | None) -> None:
    """(c) the saturation workload at full rate; the server's RSS over time."""
    params = {"rate": 100000.0, "size": 100, "service": 0.01, "backlog": 1000, "duration": seconds + 30}
    rows: list[tuple[float, float, int, int]] = []
    with ExitStack() as stack:
        server = started(stack, Server(*(["--window", str(window)] if window else [])))
        viewer = started(stack, Viewer(server.url))
        session = server.api("POST", "sessions", json={"workload": "saturation", "params": params})
        sid = session["id"]
        viewer.watch(sid)
        start = time.monotonic()
        rows.append((0.0, server.rss_mb(), 0, 0))  # the idle server
        every = max(2.0, seconds / 15)
        while (elapsed := time.monotonic() - start) < seconds:
            time.sleep(min(every, seconds - elapsed))
            s = server.api("GET", f"sessions/{sid}")
            rows.append((time.monotonic() - start, server.rss_mb(), s["events"], s["retained"]))
        server.api("DELETE", f"sessions/{sid}")  # stops the workload (the server's child) within 2 s
        child_pid = session["pid"]
    _memory_report(report, seconds, window, rows, params, child_pid)


def _memory_report(
    report: Report, seconds: float, window: int | None, rows: list, params: dict, child_pid: int | None
) -> None:
    from visualizer.sessions import DEFAULT_WINDOW

    full = next((i for i, row in enumerate(rows) if row[3] >= (window or DEFAULT_WINDOW)), None)
    warm = max(full or 0, len(rows) // 3)  # the window is full, and the allocator has settled
    warm_rss, end_rss = rows[warm][1], rows[-1][1]
    peak_after = max(row[1] for row in rows[warm:])
    growth = peak_after / warm_rss - 1
    rate = rows[-1][2] / rows[-1][0] if rows[-1][0] else 0.0
    report.figures["memory"] = {"rows": rows, "window": window, "warm_index": warm, "growth": growth}
    shown_window = f"{window:,}" if window else f"the default {DEFAULT_WINDOW:,}"
    report.add(
        f"memory       saturation workload at full rate ({params['rate']:g}/s, pool {params['size']}),"
        f" {seconds:g} s, window {shown_window} events, one viewer: {rate:,.0f} events/s"
    )
    report.add(f"             {'t (s)':>7}{'RSS (MB)':>10}{'events':>13}{'retained':>12}")
    for i, (t, rss, events, retained) in enumerate(rows):
        mark = "  <- warm-up" if i == warm else "  <- window full" if i == full else ""
        report.add(f"             {t:>7.1f}{rss:>10.1f}{events:>13,}{retained:>12,}{mark}")
    report.add(
        f"             RSS at warm-up {warm_rss:.1f} MB, peak after {peak_after:.1f} MB, at the end {end_rss:.1f} MB"
        f" ({growth:+.1%})"
    )
    gone = child_pid is None or not Path(f"/proc/{child_pid}").exists()
    report.add(f"             workload stopped and reaped: {gone}")
    report.add(f"             target: flat after warm-up (< {FLAT_GROWTH:.0%} growth): {verdict(growth < FLAT_GROWTH)}")


def measure_slow_viewer(report: Report, seconds: float, window: int) -> None:
    """(d) a viewer that stops reading next to a normal one: the normal one and the program must not notice."""
    with ExitStack() as stack:
        server = started(stack, Server("--window", str(window)))
        normal = started(stack, Viewer(server.url))
        slow = started(stack, Viewer(server.url, stall=True))
        own, session = paced_run(server, seconds, [normal, slow])
        wait_for(lambda: normal.events >= session.get("events", 0), timeout=10)
        stalled_with = slow.arrived
        slow.released.set()  # it reads again: what left the window meanwhile is a "dropped" count
        wait_for(lambda: slow.events + slow.dropped >= session.get("events", 0), timeout=20)
    delay = delay_figures(normal.delays_ms)
    total = session.get("events", 0)
    report.figures["slow_viewer"] = {
        "program": own,
        "normal": delay,
        "slow": {"events": slow.events, "dropped": slow.dropped, "batches_while_stalled": stalled_with},
        "session_events": total,
    }
    report.add(
        f"slow viewer  the paced program again for {seconds:g} s, window {window:,} events, two viewers; one stalls"
        " (its batch handler blocks, never acks) until the program ends"
    )
    report.add(f"             program: {describe_program(own, session)}")
    report.add(f"             normal viewer: {describe_delay(delay)}; got {normal.events:,} of {total:,} events")
    report.add(
        f"             slow viewer: stopped acking ({stalled_with} batches arrived, then the server sent no more);"
        f" acking again it got {slow.events:,} events + dropped {slow.dropped:,} = {slow.events + slow.dropped:,}"
    )
    unaffected = delay["p95"] < DELAY_TARGET_MS and own.get("events_per_s", 0) >= 0.95 * PACED_RATE
    report.add(
        f"             target: normal viewer p95 < {DELAY_TARGET_MS:.0f} ms, program at pace, slow viewer told"
        f" 'dropped N': {verdict(unaffected and slow.dropped > 0)}"
    )


def caught_up(viewer: Viewer, total: int, patience: float = 15.0) -> None:
    """Wait while `viewer` still gets events (or dropped counts) and has not had `total`."""
    seen, since = -1, time.monotonic()
    while (now := viewer.events + viewer.dropped) < total and time.monotonic() - since < patience:
        if now != seen:
            seen, since = now, time.monotonic()
        time.sleep(0.1)


def measure_soak(report: Report, seconds: float) -> None:
    """(e) full-speed ingest for `seconds`, a steady viewer, a stalled one, viewers coming and going; RSS over time."""
    rows: list[tuple[float, float, int]] = []
    joined = 0
    with ExitStack() as stack:
        server = started(stack, Server())
        agent = started(stack, child("flood", server.agent, "0", str(seconds)))
        session = server.session_of(agent.pid)
        sid = session["id"]
        steady = started(stack, Viewer(server.url))
        stalled = started(stack, Viewer(server.url, stall=True))
        for viewer in (steady, stalled):
            viewer.watch(sid)
        stop = threading.Event()

        def churn() -> None:  # a viewer joins, reads a little, leaves; again and again
            nonlocal joined
            while not stop.is_set():
                viewer = Viewer(server.url)
                try:
                    viewer.watch(sid)
                    joined += 1
                    stop.wait(1.0)
                finally:
                    viewer.close()

        churner = threading.Thread(target=churn, daemon=True)
        churner.start()
        start = time.monotonic()
        every = max(2.0, seconds / 30)
        while (elapsed := time.monotonic() - start) < seconds:
            time.sleep(min(every, seconds - elapsed))
            rows.append((time.monotonic() - start, server.rss_mb(), server.api("GET", f"sessions/{sid}")["events"]))
        stop.set()
        churner.join(10)
        sent = result_of(agent, timeout=120).get("sent", -1)
        done = wait_for(lambda: (s := server.api("GET", f"sessions/{sid}"))["complete"] and s, timeout=60) or {}
        total = done.get("events", 0)
        caught_up(steady, total)
        stalled_with = stalled.arrived
        stalled.released.set()
        caught_up(stalled, total)
        state = server.api("GET", "server")
    warm = len(rows) // 3
    warm_rss = rows[warm][1] if rows else float("nan")
    peak_after = max((row[1] for row in rows[warm:]), default=float("nan"))
    growth = peak_after / warm_rss - 1
    rate = rows[-1][2] / rows[-1][0] if rows and rows[-1][0] else 0.0
    said = {
        "session": (total == sent, f"{total:,} events of the {sent:,} sent, lost {done.get('lost')}"),
        "steady": (steady.events + steady.dropped == total, f"{steady.events:,} + dropped {steady.dropped:,}"),
        "stalled": (stalled.events + stalled.dropped == total, f"{stalled.events:,} + dropped {stalled.dropped:,}"),
    }
    report.figures["soak"] = {
        "seconds": seconds,
        "rows": rows,
        "growth": growth,
        "events_per_s": rate,
        "joined": joined,
        "sent": sent,
        "session": done,
        "server": state,
        "steady": {"events": steady.events, "dropped": steady.dropped},
        "stalled": {"events": stalled.events, "dropped": stalled.dropped, "batches_while_stalled": stalled_with},
    }
    report.add(
        f"soak         the synthetic agent at full speed for {seconds:g} s ({rate:,.0f} events/s), a steady viewer,"
        f" a stalled one, {joined} viewers joining and leaving"
    )
    report.add(f"             {'t (s)':>7}{'RSS (MB)':>10}{'events':>15}")
    for i, (t, rss, events) in enumerate(rows):
        report.add(f"             {t:>7.1f}{rss:>10.1f}{events:>15,}" + ("  <- warm-up" if i == warm else ""))
    report.add(f"             RSS at warm-up {warm_rss:.1f} MB, peak after {peak_after:.1f} MB ({growth:+.1%})")
    memory = state.get("memory", {})
    used, budget = memory.get("used", 0) / 2**20, memory.get("budget", 0) / 2**20
    report.add(
        f"             sessions' memory {used:.0f} of {budget:.0f} MB,"
        f" {memory.get('evictions')} evictions; the stalled viewer got {stalled_with} batches, then nothing until"
        " it acked"
    )
    for name, (ok, text) in said.items():
        report.add(f"             {name}: {text}: {'all said' if ok else 'LOSS UNSAID'}")
    flat = growth < FLAT_GROWTH
    report.add(
        f"             target: RSS flat after warm-up (< {FLAT_GROWTH:.0%}), no loss unsaid:"
        f" {verdict(flat and all(ok for ok, _ in said.values()))}"
    )


# ---------------------------------------------------------------- entry points


@dataclass
class Options:
    """What to run: the phases' sizes and durations."""

    events: int = 2_000_000
    seconds: float = 10.0
    memory_seconds: float = 30.0
    soak_seconds: float = 30.0
    window: int | None = None  # for the memory phase; None: 500k for a short run, the server's default for a soak
    slow_window: int = 200_000
    analysis_greenthreads: int = 4_000  # x 260 sleep(0): ~1M events
    only: tuple[str, ...] = PHASES


def run(options: Options) -> dict[str, Any]:
    """Run every phase, printing as it goes; return the figures."""
    report = Report()
    report.add(
        "dashboard: streaming under load (a real `greenscope serve` process on 127.0.0.1, real agents and viewers)"
    )
    window = options.window or (None if options.memory_seconds >= 120 else 500_000)
    phases: dict[str, Callable[[], None]] = {
        "ingest": lambda: measure_ingest(report, options.events),
        "delay": lambda: measure_delay(report, options.seconds),
        "memory": lambda: measure_memory(report, options.memory_seconds, window),
        "slow": lambda: measure_slow_viewer(report, options.seconds, options.slow_window),
        "soak": lambda: measure_soak(report, options.soak_seconds),
        "analysis": lambda: measure_analysis(report, options.analysis_greenthreads),
    }
    for name, phase in phases.items():
        if name not in options.only:
            continue
        try:
            phase()
        except Exception as e:  # a report: say what failed and go on
            report.add(f"{name:<13}error: {type(e).__name__}: {e}")
            report.figures[name] = {"error": str(e)}
    return report.figures


def phase_list(text: str, phases: tuple[str, ...] = PHASES) -> tuple[str, ...]:
    """Parse ``--only ingest,delay``: names from `phases` (this module's by default)."""
    wanted = tuple(name.strip() for name in text.split(",") if name.strip())
    if not wanted or set(wanted) - set(phases):
        raise argparse.ArgumentTypeError(f"choose from {','.join(phases)}")
    return wanted


def main(argv: list[str]) -> int:
    """The report, or a child role."""
    if argv[:1] == ["flood"]:
        flood(argv[1], int(argv[2]), *map(float, argv[3:5]))
        return 0
    if argv[:1] == ["traced"]:
        traced(argv[1], float(argv[2]), float(argv[3]))
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dashboard", description=__doc__.split("\n")[0])
    parser.add_argument("--memory-seconds", type=float, default=30.0, metavar="S", help="memory phase (default 30)")
    parser.add_argument("--window", type=int, help="the memory phase's session window (events)")
    parser.add_argument("--seconds", type=float, default=10.0, help="delay and slow-viewer phases (default 10)")
    parser.add_argument("--soak", type=float, default=30.0, metavar="S", help="soak phase seconds (default 30)")
    parser.add_argument("--long", action="store_true", help=f"the soak phase for {LONG_SOAK / 60:g} minutes")
    parser.add_argument("--only", type=phase_list, default=PHASES, help=f"comma list of {','.join(PHASES)}")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures to PATH")
    args = parser.parse_args(argv)
    options = Options(
        seconds=args.seconds,
        memory_seconds=args.memory_seconds,
        soak_seconds=LONG_SOAK if args.long else args.soak,
        window=args.window,
        only=args.only,
    )
    figures = run(options)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The delay phase: a traced program (the real `Recorder` and `Agent`, another process) emits ~1 switch event per
sleep(0), paced to 50k events/s; one acking viewer. Then a synthetic agent at 200k events/s, each frame stamped as
it leaves. Delay: the event's ``ts`` (the traced process's CLOCK_MONOTONIC) to ``time.monotonic_ns()`` when the
viewer's batch handler runs (one clock, system-wide on Linux). It includes the agent's 50 ms shipping interval and
the streamer's 50 ms.

The paced run (`paced_run`) and the delay's figures serve the slow viewer's phase too."""

from __future__ import annotations

import time
from contextlib import ExitStack

from benchmarks.dashboard.load import PACED_RATE
from benchmarks.dashboard.report import Report, percentile, verdict
from benchmarks.dashboard.server import Server, child, result_of, started, wait_for
from benchmarks.dashboard.viewer import Viewer

DELAY_TARGET_MS = 100.0  # p95 emit -> viewer, at PACED_RATE and FLOOD_RATE
FLOOD_RATE = 200_000  # events/s from the synthetic agent, in the delay phase
CLOCK_NOTE = (
    "emitted = the event's ts (CLOCK_MONOTONIC of the traced process), received = time.monotonic_ns() in the"
    " viewer as its batch handler runs: the same clock on one Linux machine"
)


def delay_figures(delays: list[float]) -> dict[str, float]:
    ordered = sorted(delays)
    return {
        "n": len(ordered),
        **{f"p{q}": percentile(ordered, q) for q in (50, 95, 99)},
        "max": percentile(ordered, 100),
    }


def describe_delay(figures: dict[str, float]) -> str:
    return (
        f"p50 {figures['p50']:.0f} ms, p95 {figures['p95']:.0f} ms, p99 {figures['p99']:.0f} ms,"
        f" max {figures['max']:.0f} ms ({figures['n']:,} events)"
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
    return own, server.completed(session["id"], timeout=20)


def describe_program(own: dict, session: dict) -> str:
    """The paced program's own figures: its rate, how far behind its pace it fell, what its agent lost."""
    rate, behind = own.get("events_per_s", 0.0), own.get("max_behind_ms", 0.0)
    return f"{rate:,.0f} events/s, at most {behind:.0f} ms behind its pace; its agent lost {session.get('lost')} events"


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
        done = server.completed(session["id"], timeout=20)
        wait_for(lambda: viewer.events >= done.get("events", 0), timeout=10)
    fast = delay_figures(viewer.delays_ms)
    report.figures["delay"]["flood"] = {"agent": sent, "viewer": fast, "events": viewer.events, "session": done}
    report.add(f"             a synthetic agent at {FLOOD_RATE:,} events/s for {seconds:g} s (each frame stamped as it")
    report.add(f"             leaves; it sent {sent.get('sent_per_s', 0):,.0f}/s): one viewer: {describe_delay(fast)}")
    report.add(f"             target p95 < {DELAY_TARGET_MS:.0f} ms: {verdict(fast['p95'] < DELAY_TARGET_MS)}")

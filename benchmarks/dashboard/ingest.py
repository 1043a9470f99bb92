"""The ingest phase: one synthetic agent (another process) sends pre-encoded EVENTS frames of realistic events as
fast as it can; the rate is the session's event count (read over REST) over the time it took to grow, and per
CPU-second of the server."""

from __future__ import annotations

import time
from contextlib import ExitStack

from benchmarks.dashboard.load import FRAME_EVENTS
from benchmarks.dashboard.report import Report, verdict
from benchmarks.dashboard.server import Server, child, result_of, started, wait_for

INGEST_TARGET = 5_000_000  # events per CPU-second of the server, from one agent


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

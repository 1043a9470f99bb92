"""The soak phase: the synthetic agent at full speed for the whole phase, a steady viewer, a stalled one, and
viewers joining and leaving every second or two; the server's RSS sampled: flat within 10 % after warm-up, and no
loss unsaid (the session holds what the agent sent; each viewer's events + dropped = the session's)."""

from __future__ import annotations

import threading
import time
from contextlib import ExitStack

from benchmarks.dashboard.memory import FLAT_GROWTH, rss_growth
from benchmarks.dashboard.report import Report, verdict
from benchmarks.dashboard.server import Server, child, result_of, started
from benchmarks.dashboard.viewer import Viewer, caught_up

LONG_SOAK = 600.0  # seconds: the soak phase with --long


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
        done = server.completed(sid, timeout=60)
        total = done.get("events", 0)
        caught_up(steady, total)
        stalled_with = stalled.arrived
        stalled.released.set()
        caught_up(stalled, total)
        state = server.api("GET", "server")
    warm = len(rows) // 3
    warm_rss, peak_after, growth = rss_growth(rows, warm)
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

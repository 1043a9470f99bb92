"""The slow viewer phase: the paced program again, a normal viewer and one that stalls (its batch handlers block:
no ack) for the whole run, then acks again: it must get an explicit ``dropped`` count (the phase's window is
small); the normal viewer's delay and the program's pace must match the delay phase."""

from __future__ import annotations

from contextlib import ExitStack

from benchmarks.dashboard.delay import DELAY_TARGET_MS, delay_figures, describe_delay, describe_program, paced_run
from benchmarks.dashboard.load import PACED_RATE
from benchmarks.dashboard.report import Report, verdict
from benchmarks.dashboard.server import Server, started, wait_for
from benchmarks.dashboard.viewer import Viewer


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

"""The memory phase: the saturation workload at full rate, launched over REST, one acking viewer; the server's
RSS (/proc/PID/status) sampled every few seconds, flat after warm-up (`rss_growth`, which the soak shares)."""

from __future__ import annotations

import time
from contextlib import ExitStack
from pathlib import Path

from benchmarks.dashboard.report import Report, verdict
from benchmarks.dashboard.server import Server, started
from benchmarks.dashboard.viewer import Viewer

FLAT_GROWTH = 0.10  # RSS may grow this much after warm-up and still be "flat"


def rss_growth(rows: list, warm: int) -> tuple[float, float, float]:
    """The RSS (each row's second figure) at row `warm`, its peak from there on, and the growth to that peak."""
    warm_rss = rows[warm][1] if rows else float("nan")
    peak_after = max((row[1] for row in rows[warm:]), default=float("nan"))
    return warm_rss, peak_after, peak_after / warm_rss - 1


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
    warm_rss, peak_after, growth = rss_growth(rows, warm)
    end_rss = rows[-1][1]
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

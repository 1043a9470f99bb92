"""The analysis phase: a recording of ~1M events uploaded; the server's analysis of it (GET .../analysis: read
from disk, decoded, analysed), then asked again (nothing new to read); and `analyse()` alone on the same events."""

from __future__ import annotations

import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from benchmarks.dashboard.load import record_program
from benchmarks.dashboard.report import Report, verdict
from benchmarks.dashboard.server import Server, started

ANALYSIS_TARGET_S = 2.0  # the server's analysis of 1M events


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

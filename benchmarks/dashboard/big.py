"""Issue 17's server figures on a recording of ~10M events (`bigrecording`): the memory a real ``greenscope
serve`` holds it in (`hold`: its RSS before and after the upload, per event), how fast it streams all of it to a
viewer that reads at once (`stream`), and ``greenscope export --chrome`` of it in a real subprocess (`export`: its
wall time and peak RSS, from the kernel's accounting of that child)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks.dashboard.report import Report, verdict
from benchmarks.dashboard.server import Server
from benchmarks.harness import ROOT

BYTES_TARGET = 40  # bytes of server memory per event held
EXPORT_SECONDS_TARGET = 60.0
EXPORT_RSS_TARGET_MB = 512  # "memory bounded": a fixed figure, far below the trace (~1 GB of JSON)


def hold(report: Report, server: Server, recording: Path) -> dict:
    """Upload `recording` to `server` (its window big enough to keep it all); its session's description, and the
    server's RSS growth per event (once the upload is in and the allocator has settled)."""
    time.sleep(1.0)
    idle = server.rss_mb()
    start = time.perf_counter()
    with recording.open("rb") as f:
        response = server.http.post(server.base + "api/recordings", files={"file": (recording.name, f)}, timeout=600)
    response.raise_for_status()
    session = response.json()
    upload_s = time.perf_counter() - start
    time.sleep(1.0)
    held_mb = server.rss_mb()
    used = server.api("GET", "server")["memory"]["used"]
    per_event = (held_mb - idle) * 2**20 / session["events"]
    whole = session["retained"] == session["events"]
    report.figures["big_server"] = {
        "events": session["events"],
        "retained": session["retained"],
        "upload_s": upload_s,
        "idle_rss_mb": idle,
        "rss_mb": held_mb,
        "bytes_per_event": per_event,
        "accounted_bytes_per_event": used / session["events"],
    }
    report.add(
        f"             server: uploaded in {upload_s:.1f} s, {session['retained']:,} events held; RSS {idle:.0f} ->"
        f" {held_mb:.0f} MB: {per_event:.1f} bytes/event ({used / session['events']:.1f} by its own count)"
        f" (target <= {BYTES_TARGET}: {verdict(per_event <= BYTES_TARGET and whole)})"
    )
    return session


def stream(report: Report, server: Server, session: dict) -> None:
    """The whole of `session`, streamed by `server` to one Socket.IO viewer that acks each batch as it comes and
    does nothing else: the server's own pace (a page reading slower is paced by its acks)."""
    from tests.support.socketio_client import OrderedClient

    total, got, batches, done = session["events"], 0, 0, threading.Event()
    viewer = OrderedClient()

    def on_batch(batch: dict) -> None:
        nonlocal got, batches
        got += batch["events"] + batch["dropped"]
        batches += 1
        viewer.emit("ack", {"seq": batch["seq"]})
        if got >= total:
            done.set()

    viewer.on("batch", on_batch)
    viewer.connect(server.base, transports=["websocket"], wait_timeout=10)
    try:
        start = time.perf_counter()
        viewer.call("subscribe", {"session": session["id"]}, timeout=10)
        if not done.wait(300):
            raise TimeoutError(f"the viewer got {got:,} of {total:,} events in 300 s")
        seconds = time.perf_counter() - start
    finally:
        viewer.disconnect()
    report.figures["big_stream"] = {"events": got, "batches": batches, "seconds": seconds}
    report.add(
        f"             server: streamed it to a viewer that acks at once in {seconds:.1f} s ({batches} batches,"
        f" {got / seconds:,.0f} events/s)"
    )


def export(report: Report, recording: Path, directory: Path) -> None:
    """``greenscope export --chrome`` of `recording` in a child process: its wall time and peak RSS (wait4)."""
    out = directory / "big.json"
    command = [sys.executable, "-m", "visualizer", "export", str(recording), "--chrome", str(out)]
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
    errors = proc.stderr.read().decode(errors="replace").strip()  # type: ignore[union-attr]
    proc.stderr.close()  # type: ignore[union-attr]
    if proc.returncode:
        raise RuntimeError(f"greenscope export failed ({proc.returncode}): {errors}")
    peak_mb = usage.ru_maxrss / 1024  # KiB on Linux
    size_mb = out.stat().st_size / 2**20
    out.unlink()
    report.figures["big_export"] = {"seconds": seconds, "peak_rss_mb": peak_mb, "json_mb": size_mb}
    report.add(
        f"             `greenscope export --chrome`: {size_mb:,.0f} MB of JSON in {seconds:.1f} s"
        f" (target <= {EXPORT_SECONDS_TARGET:g}: {verdict(seconds <= EXPORT_SECONDS_TARGET)}), peak RSS"
        f" {peak_mb:.0f} MB (bounded, <= {EXPORT_RSS_TARGET_MB}: {verdict(peak_mb <= EXPORT_RSS_TARGET_MB)})"
    )

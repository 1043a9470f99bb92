"""The page's load as a user's browser does it: a Chromium of its own (the same binary and flags as the tests'),
driven over the DevTools protocol with Runtime alone.

Playwright enables the Network domain on every page it drives, and Chromium then reports each WebSocket frame,
its whole payload in base64, to the driver: on the 10M-event recording about a gigabyte through the driver while
the page loads, seconds of the two cores the page needs (its load: 10.9-11.8 s under Playwright, 7.1-7.7 s bare,
on the same server, one after the other). The big phase prints both."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.chromium import CHROMIUM_ARGS, chromium_path

__all__ = ["bare_load_seconds"]


def bare_load_seconds(url: str, events: int, timeout: float = 300.0) -> float:
    """Seconds from asking a bare headless Chromium (1400x900) for `url` until its page holds `events` events."""
    import websocket

    path = chromium_path()
    if path is None:
        raise RuntimeError("no Chromium: set GREENSCOPE_CHROMIUM")
    profile = tempfile.mkdtemp(prefix="greenscope-bare-")
    args = ["--headless=new", "--remote-debugging-port=0", f"--user-data-dir={profile}", "--window-size=1400,900"]
    chromium = subprocess.Popen(
        [path, *CHROMIUM_ARGS, *args, "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its group: the renderer and GPU processes go with it
    )
    try:
        port = _devtools_port(Path(profile), chromium)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
            target = next(t for t in json.load(reply) if t["type"] == "page")
        ws = websocket.create_connection(target["webSocketDebuggerUrl"], suppress_origin=True, timeout=timeout)
        try:
            return _load(ws, url, events, timeout)
        finally:
            ws.close()
    finally:
        os.killpg(chromium.pid, signal.SIGKILL)
        chromium.wait()
        shutil.rmtree(profile, ignore_errors=True)


def _devtools_port(profile: Path, chromium: subprocess.Popen) -> int:
    """The port Chromium chose, from the DevToolsActivePort file it writes in its profile."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if chromium.poll() is not None:
            raise RuntimeError(f"Chromium exited with {chromium.returncode}")
        try:
            return int((profile / "DevToolsActivePort").read_text().split()[0])
        except (OSError, IndexError, ValueError):
            time.sleep(0.05)
    raise RuntimeError("Chromium did not open its DevTools port in 30 s")


def _load(ws: Any, url: str, events: int, timeout: float) -> float:
    calls = 0

    def call(method: str, params: dict) -> dict:
        nonlocal calls
        calls += 1
        ws.send(json.dumps({"id": calls, "method": method, "params": params}))
        while True:  # only answers come: no domain is enabled, so no events
            message = json.loads(ws.recv())
            if message.get("id") == calls:
                return message.get("result", {})

    start = time.perf_counter()
    call("Page.navigate", {"url": url})
    while time.perf_counter() - start < timeout:
        held = call("Runtime.evaluate", {"expression": "window.greenscope?.trace?.events ?? 0", "returnByValue": True})
        if held.get("result", {}).get("value") == events:
            return time.perf_counter() - start
        time.sleep(0.05)
    raise TimeoutError(f"the page did not hold {events:,} events in {timeout:.0f} s")

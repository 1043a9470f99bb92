"""The page's load as a user's browser does it: a Chromium of its own (the same binary and flags as the tests'),
driven over the DevTools protocol with Runtime alone.

Playwright enables the Network domain on every page it drives, and Chromium then reports each WebSocket frame,
its whole payload in base64, to the driver: on the 10M-event recording about a gigabyte through the driver while
the page loads, seconds of the two cores the page needs (its load: 10.9-11.8 s under Playwright, 7.1-7.7 s bare,
on the same server, one after the other). The big and flood phases print both."""

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

__all__ = ["Bare", "bare_load_seconds"]


class Bare:
    """A headless Chromium of its own (1400x900) with one page, driven over CDP with Runtime alone (no domain is
    enabled: only answers come back). A context manager: leaving it kills the browser and its children."""

    def __init__(self, timeout: float = 300.0) -> None:
        import websocket

        path = chromium_path()
        if path is None:
            raise RuntimeError("no Chromium: set GREENSCOPE_CHROMIUM")
        self._calls = 0
        self._ws: Any = None
        self._profile = tempfile.mkdtemp(prefix="greenscope-bare-")
        args = [
            "--headless=new",
            "--remote-debugging-port=0",
            f"--user-data-dir={self._profile}",
            "--window-size=1400,900",
        ]
        self._chromium = subprocess.Popen(
            [path, *CHROMIUM_ARGS, *args, "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its group: the renderer and GPU processes go with it
        )
        try:
            port = _devtools_port(Path(self._profile), self._chromium)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
                target = next(t for t in json.load(reply) if t["type"] == "page")
            url = target["webSocketDebuggerUrl"]
            self._ws = websocket.create_connection(url, suppress_origin=True, timeout=timeout)
        except BaseException:
            self.close()
            raise

    def call(self, method: str, params: dict) -> dict:
        self._calls += 1
        self._ws.send(json.dumps({"id": self._calls, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv())
            if message.get("id") == self._calls:
                return message.get("result", {})

    def goto(self, url: str) -> None:
        self.call("Page.navigate", {"url": url})

    def evaluate(self, expression: str) -> Any:
        """The value of a JS expression in the page (None while it throws: the page is not there yet)."""
        return self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})["result"].get("value")

    def wait_for(self, expression: str, timeout: float) -> float:
        """Seconds until `expression` is true in the page (polled every 50 ms); TimeoutError after `timeout`."""
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            if self.evaluate(expression):
                return time.perf_counter() - start
            time.sleep(0.05)
        raise TimeoutError(f"not true in {timeout:.0f} s: {expression}")

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()
        os.killpg(self._chromium.pid, signal.SIGKILL)
        self._chromium.wait()
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Bare:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def bare_load_seconds(url: str, events: int, timeout: float = 300.0) -> float:
    """Seconds from asking a bare headless Chromium for `url` until its page holds `events` events."""
    with Bare(timeout) as page:
        start = time.perf_counter()
        page.goto(url)
        page.wait_for(f"(window.greenscope?.trace?.events ?? 0) === {events}", timeout)
        return time.perf_counter() - start


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

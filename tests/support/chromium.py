"""Headless Chromium for the browser tests (tests/browser) and the page's benchmark (benchmarks/browser/),
through Playwright.

`GREENSCOPE_CHROMIUM` names the browser (`make test` sets it from scripts/find_chromium.sh);
without it, the system's `chromium` on PATH, else Playwright's own (``python -m playwright install chromium``).
"""

from __future__ import annotations

import os
import shutil

from playwright.sync_api import Browser, Playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]


def chromium_path() -> str | None:
    """`GREENSCOPE_CHROMIUM`, else the system's Chromium (None: neither)."""
    return os.environ.get("GREENSCOPE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def launch_chromium(playwright: Playwright, **kw) -> Browser:
    """Headless Chromium: `chromium_path()`, else Playwright's own."""
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, **kw)

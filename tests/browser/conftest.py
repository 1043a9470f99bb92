"""A real dashboard process and a real Chromium (see `tests.support.chromium` for which one).

Every page fails its test if the browser logged an error or a page script threw.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.support.chromium import launch_chromium
from tests.support.dashboard import Server


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, server: Server, tmp_path: Path) -> Iterator[Page]:
    """A fresh page on the dashboard; the test fails on any console error or uncaught exception
    but those it announces in ``page.expected_errors`` (substrings: Chromium logs every 4xx
    answer to a fetch, even one the page handles)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    errors: list[str] = []

    def console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            errors.append(f"console: {msg.text} ({msg.location.get('url')})")

    pg.on("console", console)
    pg.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    pg.expected_errors = []
    pg.goto(server.base)
    pg.wait_for_function("window.greenscope !== undefined")
    yield pg
    context.close()
    assert [e for e in errors if not any(x in e for x in pg.expected_errors)] == []

"""Driving the dashboard's page in the browser tests: loading a recording, setting the view, the ⋯ menu."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

from runtime.trace.codec import read_recording


def load(page: Page, path: Path) -> list[tuple]:
    """Load a recording in the page; its events once the page has them all."""
    events = read_recording(path.read_bytes())[1]
    page.wait_for_function("greenscope.page.opened")  # the session list came (and the newest was opened)
    before = page.evaluate("greenscope.page.session && greenscope.page.session.id")
    page.set_input_files("#file-input", str(path))
    page.wait_for_function(
        "([before, n]) => greenscope.page.session && greenscope.page.session.id !== before &&"
        " greenscope.page.session.source === 'recording' && greenscope.trace.events >= n",
        arg=[before, len(events)],
        timeout=30_000,
    )
    return events


def show(page: Page, t0: float, t1: float) -> None:
    """Show [t0, t1] (ns since the session's first event), not following."""
    page.evaluate("([a, b]) => { greenscope.viewport.setFollow(false); greenscope.viewport.setRange(a, b); }", [t0, t1])


def in_menu(page: Page) -> None:
    """Open the ⋯ menu (where the less used controls are), if it is closed."""
    if not page.evaluate("document.getElementById('menu').open"):
        page.click("#menu > summary")


def close_menu(page: Page) -> None:
    page.evaluate("document.getElementById('menu').open = false")

"""What a run of the page's benchmark is (`Options`: what to run, how big and long) and the run itself (`run`: the
phases in turn in one headless Chromium, each reported, one failing not stopping the others)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchmarks.browser.big import measure_big
from benchmarks.browser.crowd import measure_crowd
from benchmarks.browser.flood import measure_flood
from benchmarks.browser.hour import measure_hour
from benchmarks.browser.lanes import measure_lanes
from benchmarks.browser.live import measure_live
from benchmarks.browser.static import measure_static
from benchmarks.browser.step import measure_step
from benchmarks.dashboard.report import Report

PHASES = ("static", "lanes", "live", "flood", "step", "big", "hour", "crowd")


@dataclass
class Options:
    """What to run, and how big and long."""

    greenthreads: int = 2_000
    sleeps: int = 260
    many: int = 100_000  # greenthreads in the "lanes" phase
    crowd: int = 100_000  # live greenthreads in the "crowd" phase...
    crowd_seconds: float = 20.0  # ...and how long the page is used while they live
    big_greenthreads: int = 20_000  # the "big" phase's recording...
    big_events: int = 10_000_000  # ...and about how many events it holds
    hour_greenthreads: int = 2_000  # the "hour" phase's recording...
    hour_events: int = 10_000_000  # ...its events over an hour...
    hour_window: int = 4_000_000  # ...and the events the server keeps in memory (its default window)
    interact_seconds: float = 10.0
    live_seconds: float = 15.0
    flood_seconds: float = 8.0
    profile: bool = False
    only: tuple[str, ...] = PHASES


def run(options: Options) -> dict[str, Any]:
    """Run the phases in one headless Chromium, printing as it goes; return the figures."""
    report = Report()
    report.add("browser: the timeline page in headless Chromium (1400x900) against a real `greenscope serve`")
    phases = {
        "static": measure_static,
        "lanes": measure_lanes,
        "live": measure_live,
        "flood": measure_flood,
        "step": measure_step,
        "big": measure_big,
        "hour": measure_hour,
        "crowd": measure_crowd,
    }
    try:
        from playwright.sync_api import sync_playwright  # the test extra: `python -m benchmarks` runs without it

        from tests.support.chromium import launch_chromium

        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                for name in options.only:
                    try:
                        phases[name](report, browser, options)
                    except Exception as e:  # a report: say what failed and go on
                        report.failed(name, e)
            finally:
                browser.close()
    except Exception as e:  # no Playwright, or no Chromium
        report.add(f"{'':<13}error: {type(e).__name__}: {e}")
        report.figures["error"] = str(e)
    return report.figures

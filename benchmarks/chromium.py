"""Stop-gap: `launch_chromium` lives in `tests.support.chromium` now, which the browser tests share. This module
goes once benchmarks/browser.py and tests/browser/conftest.py import it from there."""

from tests.support.chromium import launch_chromium

__all__ = ["launch_chromium"]

"""Side-by-side benchmarks of the runtime against eventlet, gevent and raw greenlet: ``python -m benchmarks``.

It then runs `benchmarks.dashboard` (the dashboard's streaming under load), also ``python -m benchmarks.dashboard``,
and `benchmarks.browser` (the timeline page in headless Chromium), also ``python -m benchmarks.browser``."""

from benchmarks import attach, net  # noqa: F401 -- register the network scenarios (echo, wsgi) and the peers traced

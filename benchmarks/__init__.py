"""Side-by-side benchmarks of the runtime against eventlet, gevent and raw greenlet: ``python -m benchmarks``."""

from benchmarks import net  # noqa: F401 -- registers the network scenarios (echo, wsgi) in benchmarks.core.SCENARIOS

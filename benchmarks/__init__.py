"""Side-by-side benchmarks of the runtime against eventlet, gevent and raw greenlet: ``python -m benchmarks``."""

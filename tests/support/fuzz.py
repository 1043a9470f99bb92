"""How the tests fuzz the doors (frames, agent streams, HTTP requests, Socket.IO messages) with hypothesis."""

from hypothesis import HealthCheck, settings

#: modest, and the same examples every run (no luck involved)
FUZZ = settings(
    max_examples=60, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)

"""Fixtures for tracing eventlet and gevent programs: each peer in turn, and a site on 127.0.0.1 for
the crawlers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.attach import PEERS, POOL
from tests.support.httpd import Site


@pytest.fixture(params=PEERS)
def peer(request: pytest.FixtureRequest) -> str:
    """eventlet, then gevent."""
    return request.param


@pytest.fixture
def site() -> Iterator[Site]:
    """A web site on 127.0.0.1 whose GETs wait until `POOL` of them are in flight (`most_in_flight`
    says how many were, at most)."""
    with Site(together=POOL) as site:
        yield site

"""Every runtime test runs on a fresh hub, and fails if it leaks work.

Each runs twice: on the platform's poller (epoll on Linux) and on the portable path, the
`selectors` module's PollSelector. Tests marked ``every_poller`` (the fd waits) also run
on its SelectSelector.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runtime import hubs
from runtime.greenthread import gid_of
from runtime.hubs import Hub, TestClock, poller_names
from runtime.instrument import Instrument, add_instrument, instruments, remove_instrument

PORTABLE = "poll"  # on every Unix; the platform's default (epoll, kqueue) is the other pass
POLLERS = [poller_names()[0], PORTABLE]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "every_poller: run on SelectSelector too (for the tests of fd waits)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "hub" in metafunc.fixturenames:
        extra = ["select"] if metafunc.definition.get_closest_marker("every_poller") else []
        metafunc.parametrize("hub", POLLERS + extra, indirect=True)


@pytest.fixture(autouse=True)
def hub(request: pytest.FixtureRequest) -> Iterator[Hub]:
    """A new hub for this thread; with the `clock` fixture, on a TestClock (autojump)."""
    hubs.drop_hub()
    clock = TestClock() if "clock" in request.fixturenames else None
    h = hubs.use_hub(request.param, clock)
    yield h
    left = [inst for inst in instruments()]
    for inst in left:
        remove_instrument(inst)
    idle = h.is_idle()
    description = repr(h)
    hubs.drop_hub()
    assert idle, f"the test left work on its hub: {description}"
    assert not left, f"the test left instruments installed: {left}"


@pytest.fixture
def clock(hub: Hub) -> TestClock:
    """The hub's virtual clock: sleeps and timeouts take no real time."""
    assert isinstance(hub.clock, TestClock)
    return hub.clock


class Recorder(Instrument):
    """Records every hook as a tuple, with greenlets shown by their greenthread id."""

    def __init__(self) -> None:
        self.log: list[tuple] = []

    def spawned(self, glet, parent):
        self.log.append(("spawned", gid_of(glet), gid_of(parent)))

    def switched(self, prev, nxt):
        self.log.append(("switch", gid_of(prev), gid_of(nxt)))

    def blocked(self, glet, reason, obj, detail):
        self.log.append(("blocked", gid_of(glet), reason, detail))

    def woken(self, glet, cause, waker, obj, late):
        self.log.append(("woken", gid_of(glet), cause, gid_of(waker)))

    def exited(self, glet, outcome, exc):
        self.log.append(("exited", gid_of(glet), outcome, type(exc).__name__ if exc else None))

    def before_io_wait(self, timeout):
        self.log.append(("io_wait", timeout))

    def after_io_wait(self, nready):
        self.log.append(("io_done", nready))

    def timers_fired(self, n, late):
        self.log.append(("timers", n))

    def resource_created(self, obj):
        self.log.append(("resource", obj.resource_kind, obj.name))

    def kinds(self, *names: str) -> list[tuple]:
        """The records whose hook is one of `names`."""
        return [r for r in self.log if r[0] in names]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    add_instrument(rec)
    yield rec
    if rec in instruments():
        remove_instrument(rec)

"""Green socket details that the stdlib's semantics pin down."""

from __future__ import annotations

import pytest

import runtime
from runtime import hubs
from runtime.green import socket


def test_sendall_past_its_deadline_raises_timeout_not_would_block():
    clock = hubs.TestClock(autojump=False)
    hubs.drop_hub()
    hubs.use_hub(None, clock)
    a, b = socket.socketpair()
    a.settimeout(1.0)

    def drain_then_let_time_pass():
        while True:  # make room: the poller will report `a` writable...
            try:
                socket._C.recv(b, 1 << 20)
            except BlockingIOError:
                break
        runtime.sleep(0)
        clock.advance(2.0)  # ...but the writer's deadline passes before it runs

    helper = runtime.spawn(drain_then_let_time_pass)
    with pytest.raises(TimeoutError, match="timed out"):
        a.sendall(b"x" * 50_000_000)
    helper.wait()
    a.close()
    b.close()

"""The green socket's recv and recv_into through the C helper (`runtime._sockio`: None where the C socket raises
BlockingIOError) and through the C socket's methods (``GREENSCOPE_PURE_PYTHON=1``) answer alike: the same bytes,
counts, waits, timeouts and errors, checked on real socket pairs in a fresh interpreter each way."""

from __future__ import annotations

import importlib.util

import pytest

from tests.runtime.test_queue_paths import run_python

WHICH = "from runtime.green import socket; print(socket._sockio is not None)"

# Each line: what a call gave (its value, or its exception's type and errno).
SCRIPT = r"""
import runtime
from runtime.green import socket

def show(label, call):
    try:
        out = call()
    except Exception as e:
        out = f"{type(e).__name__} {getattr(e, 'errno', None)}"
    print(label, repr(out))

a, b = socket.socketpair()
def later(data):
    runtime.sleep(0.01)
    b.sendall(data)
runtime.spawn(later, b"hello")
show("recv waits", lambda: a.recv(100))
b.sendall(b"abcdef")
show("peek", lambda: a.recv(3, socket.MSG_PEEK))
show("recv part", lambda: a.recv(4))
buf = bytearray(10)
show("recv_into all", lambda: (a.recv_into(buf), bytes(buf[:2])))
runtime.spawn(later, b"xyz")
show("recv_into waits", lambda: (a.recv_into(buf, 2), bytes(buf[:2])))
show("recv_into rest", lambda: a.recv_into(memoryview(buf)[5:]))
show("recv 0", lambda: a.recv(0))
show("negative", lambda: a.recv(-1))
show("into negative", lambda: a.recv_into(buf, -1))
show("too small", lambda: a.recv_into(bytearray(2), 5))
show("read-only", lambda: a.recv_into(b"abc"))
a.settimeout(0.02)
show("timeout", lambda: a.recv(10))
show("into timeout", lambda: a.recv_into(buf))
a.settimeout(0)
show("non-blocking", lambda: a.recv(10))
a.settimeout(None)
b.close()
show("eof", lambda: a.recv(10))
show("into eof", lambda: a.recv_into(buf))
a.close()
show("closed", lambda: a.recv(10))
show("into closed", lambda: a.recv_into(buf))
"""

EXPECTED = [
    "recv waits b'hello'",
    "peek b'abc'",
    "recv part b'abcd'",
    "recv_into all (2, b'ef')",
    "recv_into waits (2, b'xy')",
    "recv_into rest 1",
    "recv 0 b''",
    "negative 'ValueError None'",
    "into negative 'ValueError None'",
    "too small 'ValueError None'",
    "read-only 'TypeError None'",
    "timeout 'TimeoutError None'",
    "into timeout 'TimeoutError None'",
    "non-blocking 'BlockingIOError 11'",
    "eof b''",
    "into eof 0",
    "closed 'OSError 9'",
    "into closed 'OSError 9'",
]


def test_the_c_path_is_used_where_it_is_built():
    if importlib.util.find_spec("runtime._sockio") is None:
        pytest.skip("runtime._sockio is not built here")
    assert run_python(WHICH) == "True"


def test_pure_python_is_chosen_by_the_environment():
    assert run_python(WHICH, GREENSCOPE_PURE_PYTHON="1") == "False"


@pytest.mark.parametrize("pure", ["", "1"], ids=["c-helper", "pure-python"])
def test_recv_and_recv_into_answer_alike_both_ways(pure):
    env = {"GREENSCOPE_PURE_PYTHON": "1"} if pure else {}
    assert run_python(SCRIPT, **env).splitlines() == EXPECTED

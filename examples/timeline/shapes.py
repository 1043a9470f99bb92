"""Lanes of known shapes, for the timeline's pixel tests (and to look at).

Each greenthread `<state>_after_burst` first yields a few hundred times in a row (a burst
of tiny running/ready intervals), then stays in one state for LONG seconds: running (a
CPU loop), ready (another greenthread hogs the hub), blocked on I/O, on a queue, on an
event, waiting for a pool slot, sleeping. Then: a lane long-then-burst, and one that
alternates long sleeps with short runs.

    greenscope record -o shapes.gsc examples/timeline/shapes.py [LONG] [BURST]
"""

import socket
import sys
import time

import runtime as eventlet

LONG = float(sys.argv[1]) if len(sys.argv) > 1 else 0.1
BURST = int(sys.argv[2]) if len(sys.argv) > 2 else 300


def burst():
    for _ in range(BURST):
        eventlet.sleep(0)


def spin(seconds):
    """Run without yielding for `seconds`."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def running_after_burst():
    burst()
    spin(LONG)


def ready_after_burst():
    burst()
    eventlet.spawn(spin, LONG)  # it runs as soon as this yields, and holds the hub
    eventlet.sleep(0)


def io_after_burst():
    a, b = socket.socketpair()
    eventlet.spawn_after(LONG, b.send, b"x")
    burst()
    a.recv(1)
    a.close()
    b.close()


def queue_after_burst():
    q = eventlet.Queue()
    eventlet.spawn_after(LONG, q.put, 1)
    burst()
    q.get()


def sync_after_burst():
    done = eventlet.Event()
    eventlet.spawn_after(LONG, done.send, 1)
    burst()
    done.wait()


def pool_after_burst():
    pool = eventlet.GreenPool(1, name="one slot")
    pool.spawn(eventlet.sleep, LONG)
    burst()
    pool.spawn(eventlet.sleep, 0).wait()


def sleep_after_burst():
    burst()
    eventlet.sleep(LONG)


def long_then_burst():
    eventlet.sleep(LONG)
    burst()


def alternating():
    for _ in range(8):
        eventlet.sleep(LONG / 8)
        spin(LONG / 80)


for shape in (
    running_after_burst,
    ready_after_burst,
    io_after_burst,
    queue_after_burst,
    sync_after_burst,
    pool_after_burst,
    sleep_after_burst,
    long_then_burst,
    alternating,
):
    eventlet.spawn(shape).wait()
print("shapes done")

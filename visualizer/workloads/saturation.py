"""Requests arrive faster than an undersized GreenPool can serve them.

Every 1/`rate` seconds a request comes in and waits for one of the pool's `size` slots;
serving takes `service` seconds, so the pool can only do size/service a second. At most
`backlog` requests wait; the others are turned away.
"""

import time

import runtime as eventlet
from visualizer.workloads.schema import parse

PARAMS = {
    "rate": {"type": "float", "default": 200.0, "min": 0.1, "max": 100000.0, "description": "requests a second"},
    "size": {"type": "int", "default": 5, "min": 1, "max": 10000, "description": "the pool's size"},
    "service": {"type": "float", "default": 0.05, "min": 0.0, "max": 10.0, "description": "time to serve one (s)"},
    "backlog": {"type": "int", "default": 200, "min": 0, "max": 100000, "description": "requests that may wait"},
    "duration": {"type": "float", "default": 10.0, "min": 0.1, "max": 3600.0, "description": "for how long (s)"},
}

args = parse(PARAMS)
pool = eventlet.GreenPool(args.size, name="servers")
turned_away = 0


def serve(n):
    eventlet.sleep(args.service)


def request(n):
    pool.spawn(serve, n).wait()  # waits for a slot, then for the answer


end = time.monotonic() + args.duration
n = 0
while time.monotonic() < end:
    if pool.waiting() < args.backlog:
        eventlet.spawn_n(request, n)
    else:
        turned_away += 1
    n += 1
    eventlet.sleep(1 / args.rate)
pool.waitall()
print(f"{n} requests, {turned_away} turned away")

"""Requests arrive faster than an undersized GreenPool can serve them.

Every 1/`rate` seconds a request comes in and waits for one of the pool's `size` slots;
serving takes `service` seconds, so the pool can only do size/service a second. At most
`backlog` requests wait; the others are turned away. They arrive for `duration` seconds
(`rate` x `duration` of them); `continuous`: until stopped.
"""

import itertools

import runtime as eventlet
from visualizer.workloads.schema import parse

PARAMS = {
    "rate": {"type": "float", "default": 200.0, "min": 0.1, "max": 100000.0, "description": "requests a second"},
    "size": {"type": "int", "default": 5, "min": 1, "max": 10000, "description": "the pool's size"},
    "service": {"type": "float", "default": 0.05, "min": 0.0, "max": 10.0, "description": "time to serve one (s)"},
    "backlog": {"type": "int", "default": 200, "min": 0, "max": 100000, "description": "requests that may wait"},
    "duration": {"type": "float", "default": 10.0, "min": 0.1, "max": 3600.0, "description": "for how long (s)"},
    "continuous": {"type": "bool", "default": False, "description": "requests never stop: run until stopped"},
}

args = parse(PARAMS)
pool = eventlet.GreenPool(args.size, name="servers")
turned_away = 0


def serve(n):
    eventlet.sleep(args.service)


def request(n):
    pool.spawn(serve, n).wait()  # waits for a slot, then for the answer


arrivals = itertools.count() if args.continuous else range(round(args.rate * args.duration))
for n in arrivals:
    if pool.waiting() < args.backlog:
        eventlet.spawn_n(request, n)
    else:
        turned_away += 1
    eventlet.sleep(1 / args.rate)
pool.waitall()
print(f"{len(arrivals)} requests, {turned_away} turned away")

"""Producers -> a bounded Queue -> consumers; the main greenthread waits on `join` until every item is done.

Producers make an item every `produce` seconds, consumers handle one in `work` seconds: when
they make more than the consumers handle, the queue fills and the producers wait to put.
`continuous`: the producers never stop, and the pipeline runs until stopped.
"""

import itertools

import runtime as eventlet
from visualizer.workloads.schema import parse

PARAMS = {
    "producers": {"type": "int", "default": 3, "min": 1, "max": 1000, "description": "greenthreads putting items"},
    "consumers": {"type": "int", "default": 2, "min": 1, "max": 1000, "description": "greenthreads taking items"},
    "items": {"type": "int", "default": 20, "min": 1, "max": 1000000, "description": "items each producer puts"},
    "maxsize": {"type": "int", "default": 5, "min": 1, "max": 100000, "description": "the queue's size"},
    "produce": {"type": "float", "default": 0.5, "min": 0.0, "max": 5.0, "description": "time to make an item (s)"},
    "work": {"type": "float", "default": 0.4, "min": 0.0, "max": 5.0, "description": "time to handle an item (s)"},
    "continuous": {"type": "bool", "default": False, "description": "producers never stop: run until stopped"},
}

args = parse(PARAMS)
jobs = eventlet.Queue(args.maxsize, name="jobs")


def producer(n):
    for i in itertools.count() if args.continuous else range(args.items):
        eventlet.sleep(args.produce)
        jobs.put((n, i))  # waits while the queue is full


def consumer():
    while True:
        jobs.get()  # waits while the queue is empty
        eventlet.sleep(args.work)
        jobs.task_done()


producers = [eventlet.spawn(producer, n) for n in range(args.producers)]
consumers = [eventlet.spawn(consumer) for _ in range(args.consumers)]
for p in producers:
    p.wait()
jobs.join()  # every item taken and done
for c in consumers:
    c.kill()
print(f"{args.producers * args.items} items through the pipeline")

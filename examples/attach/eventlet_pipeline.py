"""A producer faster than its consumer, through an eventlet Queue of two items: the producer
waits for room.

    python eventlet_pipeline.py [ITEMS]
"""

import sys

import eventlet
from eventlet.queue import Queue

jobs = Queue(2)
items = int(sys.argv[1]) if len(sys.argv) > 1 else 10


def producer():
    for i in range(items):
        jobs.put(i)  # parks while the queue is full
    jobs.put(None)


def consumer():
    total = 0
    while (item := jobs.get()) is not None:  # parks while the queue is empty
        eventlet.sleep(0.002)  # the work
        total += item
    print(f"consumed {total}", flush=True)


threads = [eventlet.spawn(producer), eventlet.spawn(consumer)]
for gt in threads:
    gt.wait()

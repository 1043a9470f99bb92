"""A producer faster than its consumer, through a gevent Queue of two items: the producer waits
for room.

    python gevent_pipeline.py [ITEMS]
"""

import sys

import gevent
from gevent.queue import Queue

jobs = Queue(2)
items = int(sys.argv[1]) if len(sys.argv) > 1 else 10


def producer():
    for i in range(items):
        jobs.put(i)  # parks while the queue is full
    jobs.put(None)


def consumer():
    total = 0
    while (item := jobs.get()) is not None:  # parks while the queue is empty
        gevent.sleep(0.002)  # the work
        total += item
    print(f"consumed {total}", flush=True)


gevent.joinall([gevent.spawn(producer), gevent.spawn(consumer)])

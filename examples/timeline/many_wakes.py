"""A consumer woken hundreds of times: a producer puts N items on a queue, pausing between them.

greenscope record -o wakes.gsc examples/timeline/many_wakes.py [N]
"""

import sys

import runtime as eventlet

N = int(sys.argv[1]) if len(sys.argv) > 1 else 600


def producer(q):
    for i in range(N):
        q.put(i)
        eventlet.sleep(0.0002)


def consumer(q):
    return sum(q.get() for _ in range(N))


q = eventlet.Queue()
eventlet.spawn(producer, q)
print(eventlet.spawn(consumer, q).wait())

"""Two OS threads, each with its own hub and greenthreads: how the timeline shows several hubs.

Run it unpatched (the threads must be real ones):

    greenscope record --no-patch -o two.gsc examples/timeline/two_hubs.py
"""

import threading

import runtime as eventlet


def worker(n):
    for _ in range(n):
        eventlet.sleep(0.005)


def greenthreads(count, n):
    for g in [eventlet.spawn(worker, n) for _ in range(count)]:
        g.wait()


other = threading.Thread(target=greenthreads, args=(3, 20))  # its own hub, its own greenthreads
other.start()
greenthreads(2, 30)
other.join()

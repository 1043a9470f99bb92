"""A greenlet that blocks gevent's hub: time.sleep is not patched, so nothing else runs
meanwhile and the ticker's timers fire late."""

import time

import gevent


def ticker():
    for _ in range(5):
        gevent.sleep(0.01)


def blocker():
    gevent.sleep(0.015)
    time.sleep(0.2)  # blocks the whole process: the hub cannot run


gevent.joinall([gevent.spawn(ticker), gevent.spawn(blocker)])
print("done", flush=True)

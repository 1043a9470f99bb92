"""A greenthread that blocks eventlet's hub: time.sleep is not patched, so nothing else runs
meanwhile and the ticker's timers fire late."""

import time

import eventlet


def ticker():
    for _ in range(5):
        eventlet.sleep(0.01)


def blocker():
    eventlet.sleep(0.015)
    time.sleep(0.2)  # blocks the whole process: the hub cannot run


threads = [eventlet.spawn(ticker), eventlet.spawn(blocker)]
for gt in threads:
    gt.wait()
print("done", flush=True)

"""One greenthread hands a result to another through an eventlet Event."""

import eventlet

ready = eventlet.Event()


def waiter():
    print(f"got {ready.wait()}", flush=True)  # parks until the event is sent


def sender():
    eventlet.sleep(0.01)
    ready.send(42)


threads = [eventlet.spawn(waiter), eventlet.spawn(sender)]
for gt in threads:
    gt.wait()

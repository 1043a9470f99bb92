"""One greenlet hands a signal to another through a gevent Event."""

import gevent
from gevent.event import Event

ready = Event()


def waiter():
    ready.wait()  # parks until the event is set
    print("got it", flush=True)


def sender():
    gevent.sleep(0.01)
    ready.set()


gevent.joinall([gevent.spawn(waiter), gevent.spawn(sender)])

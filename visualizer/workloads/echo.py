"""eventlet's classic echo server: `listen`, then `spawn_n(handle, new_sock.makefile('rw'))` for each client.

The server reads as in eventlet's notes, line for line (its accept loop in a greenthread of
its own: the clients are the main program here). `clients` clients type at it, a line every
`pause` seconds or so, and hang up after `lines` lines (the first `rude` ones halfway).
`continuous`: each hangs up and calls again, typing until stopped.
"""

import random

import runtime as eventlet
from visualizer.workloads.schema import parse

PARAMS = {
    "clients": {"type": "int", "default": 10, "min": 1, "max": 2000, "description": "clients at once"},
    "lines": {"type": "int", "default": 20, "min": 1, "max": 100000, "description": "lines a client types per call"},
    "pause": {"type": "float", "default": 0.75, "min": 0.0, "max": 5.0, "description": "mean time between lines (s)"},
    "rude": {"type": "int", "default": 1, "min": 0, "max": 2000, "description": "clients that hang up halfway"},
    "continuous": {"type": "bool", "default": False, "description": "clients call again: type until stopped"},
}
args = parse(PARAMS)


# eventlet's echo server


def handle(fd):
    print("client connected")
    while True:
        # pass through every non-eof line
        x = fd.readline()
        if not x:
            break
        fd.write(x)
        fd.flush()
        print("echoed", x, end="")
    print("client disconnected")


def serve(server):
    pool = eventlet.GreenPool(200, name="handlers")
    while True:
        new_sock, address = server.accept()
        print("accepted", address)
        pool.spawn_n(handle, new_sock.makefile("rw"))


# its clients, typing


def client(n):
    keys = random.Random(n)  # this client's own rhythm, the same every run
    while True:
        sock = eventlet.connect(server.getsockname())
        fd = sock.makefile("rw")
        for i in range(args.lines // 2 if n < args.rude else args.lines):
            eventlet.sleep(keys.uniform(0, 2 * args.pause))
            fd.write(f"client {n} says {i}\n")
            fd.flush()
            assert fd.readline() == f"client {n} says {i}\n"
        fd.close()
        sock.close()  # hangs up
        if not args.continuous:
            return


server = eventlet.listen(("127.0.0.1", 0))
print("server socket listening on port", server.getsockname()[1])
eventlet.spawn(serve, server)
clients = eventlet.GreenPool(args.clients, name="clients")
for n in range(args.clients):
    clients.spawn(client, n)
clients.waitall()

"""The echo server, under a load of `clients` clients sending `lines` lines each.

The first `slow` clients pause between lines; the first `rude` ones hang up halfway.
"""

import runtime as eventlet
from visualizer.workloads.schema import parse

PARAMS = {
    "clients": {"type": "int", "default": 20, "min": 1, "max": 2000, "description": "clients at once"},
    "lines": {"type": "int", "default": 50, "min": 1, "max": 100000, "description": "lines each client sends"},
    "slow": {"type": "int", "default": 2, "min": 0, "max": 2000, "description": "clients that pause between lines"},
    "pause": {"type": "float", "default": 0.01, "min": 0.0, "max": 5.0, "description": "a slow client's pause (s)"},
    "rude": {"type": "int", "default": 1, "min": 0, "max": 2000, "description": "clients that hang up halfway"},
}

args = parse(PARAMS)


def handle(sock):
    fd = sock.makefile("rw")
    while True:  # pass through every non-eof line
        x = fd.readline()
        if not x:
            break
        fd.write(x)
        fd.flush()
    fd.close()
    sock.close()


def accept_forever(server, pool):
    while True:
        new_sock, _address = server.accept()
        pool.spawn_n(handle, new_sock)


def client(n):
    sock = eventlet.connect(server.getsockname())
    fd = sock.makefile("rw")
    for i in range(args.lines):
        if n < args.rude and i == args.lines // 2:
            break
        fd.write(f"client {n} line {i}\n")
        fd.flush()
        assert fd.readline() == f"client {n} line {i}\n"
        if n < args.slow:
            eventlet.sleep(args.pause)
    fd.close()
    sock.close()


server = eventlet.listen(("127.0.0.1", 0))
acceptor = eventlet.spawn(accept_forever, server, eventlet.GreenPool(10000))
clients = eventlet.GreenPool(args.clients)
for _ in clients.imap(client, range(args.clients)):
    pass
acceptor.kill()
server.close()
print(f"{args.clients} clients echoed")

"""eventlet's classic GreenPile: a `geturl` per URL spawned into the pile, the answers read back in spawn order.

As in eventlet's notes, line for line, but for where the URLs lead: `urls` web servers on
127.0.0.1, each answering after up to `delay` seconds, so the answers come in out of order
and the pile still hands them back in order. It fetches them `rounds` times;
`continuous`: round after round until stopped.
"""

import itertools
import random

import runtime as eventlet
from runtime.green import socket
from visualizer.workloads.schema import parse

PARAMS = {
    "urls": {"type": "int", "default": 5, "min": 1, "max": 100, "description": "URLs to fetch (a server each)"},
    "rounds": {"type": "int", "default": 12, "min": 1, "max": 100000, "description": "times to fetch them all"},
    "delay": {"type": "float", "default": 1.5, "min": 0.0, "max": 5.0, "description": "longest answer time (s)"},
    "continuous": {"type": "bool", "default": False, "description": "round after round until stopped"},
}
args = parse(PARAMS)


def web_server(n):
    """Web server `n` on 127.0.0.1, a greenthread per request (`serve`); its URL."""
    latency = random.Random(n)  # its own rhythm, the same every run

    def answer(conn, address):
        conn.recv(1024)
        eventlet.sleep(latency.uniform(0, args.delay))
        conn.sendall(b"HTTP/1.0 200 OK\r\n\r\nhello from server %d" % n)

    server = eventlet.listen(("127.0.0.1", 0))
    eventlet.spawn(eventlet.serve, server, answer)
    return f"127.0.0.1:{server.getsockname()[1]}"


urls = [web_server(n) for n in range(args.urls)]


# eventlet's GreenPile, from here on (its web servers are these, on their own ports)


def geturl(url):
    host, port = url.split(":")
    c = socket.socket()
    ip = socket.gethostbyname(host)
    c.connect((ip, int(port)))
    print(f"{url} connected")
    c.sendall(b"GET /\r\n\r\n")
    return c.recv(1024)


pile = eventlet.GreenPile(eventlet.GreenPool(name="pile"))  # its pool named for the dashboard
for _ in itertools.count() if args.continuous else range(args.rounds):
    for x in urls:
        pile.spawn(geturl, x)

    # note that the pile acts as a collection of return values from the functions
    # if any exceptions are raised by the function they'll get raised here
    for url, result in zip(urls, pile, strict=True):
        print(f"{url}: {repr(result)[:50]}")

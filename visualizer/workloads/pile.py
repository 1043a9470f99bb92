"""GreenPile fetch: a greenthread per URL, the answers read back in the order they were spawned.

The URLs are pages of a site served on 127.0.0.1 by `runtime.wsgi`, each answering after a
random delay, so they finish out of order and the pile still hands them back in order.
"""

import random

import runtime as eventlet
from runtime import wsgi
from runtime.green import socket
from visualizer.workloads.schema import parse

PARAMS = {
    "urls": {"type": "int", "default": 30, "min": 1, "max": 10000, "description": "URLs to fetch"},
    "size": {"type": "int", "default": 10, "min": 1, "max": 1000, "description": "fetches at once (the pile's pool)"},
    "delay": {"type": "float", "default": 0.05, "min": 0.0, "max": 5.0, "description": "longest answer time (s)"},
}

args = parse(PARAMS)


def site(environ, start_response):
    eventlet.sleep(random.uniform(0, args.delay))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"this is {environ['PATH_INFO']}\n".encode()]


def geturl(url):
    c = socket.socket()
    c.connect(server.getsockname())
    c.sendall(f"GET {url} HTTP/1.0\r\n\r\n".encode())
    body = b""
    while chunk := c.recv(1024):
        body += chunk
    c.close()
    return body


server = eventlet.listen(("127.0.0.1", 0))
eventlet.spawn(wsgi.server, server, site, log_output=False)
urls = [f"/page/{n}" for n in range(args.urls)]
pile = eventlet.GreenPile(args.size)
for x in urls:
    pile.spawn(geturl, x)

# the pile acts as a collection of return values from the functions
for url, result in zip(urls, pile, strict=True):
    assert result.endswith(f"this is {url}\n".encode())
server.close()
print(f"fetched {len(urls)} urls in order")

"""Fetches from several servers at once and collects the answers in a GreenPile, written as eventlet's
examples/connect.py is (the green socket module, by hand): the pile gives the results in the order the
fetches were spawned, whichever answered first.

    python examples/eventlet_style/greenpile_fetch.py HOST:PORT...     # e.g. www.python.org:80 pypi.org:80
"""

import sys

import runtime as eventlet
from runtime.green import socket


def geturl(url):
    host, port = url.split(":")
    c = socket.socket()
    ip = socket.gethostbyname(host)
    c.connect((ip, int(port)))
    print(f"{url} connected")
    c.sendall(b"GET /\r\n\r\n")
    return c.recv(1024)


urls = sys.argv[1:]
pile = eventlet.GreenPile()
for x in urls:
    pile.spawn(geturl, x)

# note that the pile acts as a collection of return values from the functions
# if any exceptions are raised by the function they'll get raised here
for x in pile:
    print(x)

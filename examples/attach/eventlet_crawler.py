"""eventlet's web crawler: fetch URLs through a GreenPool, as many at a time as it has room for
(4, or N); each fetch is a greenthread.

    python eventlet_crawler.py [--pool N] URL...
"""

import sys

import eventlet
from eventlet.green.urllib.request import urlopen


def fetch(url):
    with urlopen(url) as response:  # parks this greenthread while the server answers
        return url, len(response.read())


args = sys.argv[1:]
size = 4
if args[:1] == ["--pool"]:
    size, args = int(args[1]), args[2:]
pool = eventlet.GreenPool(size)  # fewer slots than URLs: the spawner waits for a free one
for url, n in pool.imap(fetch, args):
    print(f"{url}: {n} bytes", flush=True)

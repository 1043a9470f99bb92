"""eventlet's web crawler as most eventlet programs are written: the standard library
monkey-patched first, then plain urllib; fetches through a GreenPool of 4 (or N), each a
greenthread spawned by the program.

    python eventlet_patched_crawler.py [--pool N] URL...
"""

import eventlet

eventlet.monkey_patch()

import sys  # noqa: E402
from urllib.request import urlopen  # noqa: E402


def fetch(url):
    with urlopen(url) as response:  # parks this greenthread while the server answers
        print(f"{url}: {len(response.read())} bytes", flush=True)


args = sys.argv[1:]
size = 4
if args[:1] == ["--pool"]:
    size, args = int(args[1]), args[2:]
pool = eventlet.GreenPool(size)  # fewer slots than URLs: spawn() waits for a free one
for url in args:
    pool.spawn_n(fetch, url)
pool.waitall()

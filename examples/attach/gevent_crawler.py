"""gevent's web crawler: urllib made cooperative by monkey-patching, fetches through a Pool of 4
greenlets (or N).

    python gevent_crawler.py [--pool N] URL...
"""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402
from urllib.request import urlopen  # noqa: E402

from gevent.pool import Pool  # noqa: E402


def fetch(url):
    with urlopen(url) as response:  # parks this greenlet while the server answers
        print(f"{url}: {len(response.read())} bytes", flush=True)


args = sys.argv[1:]
size = 4
if args[:1] == ["--pool"]:
    size, args = int(args[1]), args[2:]
pool = Pool(size)  # fewer slots than URLs: spawn() waits for a free one
for url in args:
    pool.spawn(fetch, url)
pool.join()

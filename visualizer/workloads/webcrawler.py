"""eventlet's classic web crawler: a GreenPool fetches the URLs, `pool.imap(fetch, urls)`.

As in eventlet's notes, line for line, but for where the URLs lead: `urls` pages of a site
served on 127.0.0.1 by `runtime.wsgi` in this same process, each answering after up to
`delay` seconds. `continuous`: the URLs never end, and the crawl goes on until stopped.
"""

import itertools
import random

import runtime as eventlet
from runtime import wsgi
from runtime.green.urllib import request
from visualizer.workloads.schema import parse

PARAMS = {
    "urls": {"type": "int", "default": 150, "min": 1, "max": 100000, "description": "URLs to fetch"},
    "size": {"type": "int", "default": 5, "min": 1, "max": 1000, "description": "fetches at once (the pool)"},
    "delay": {"type": "float", "default": 1.0, "min": 0.0, "max": 5.0, "description": "longest answer time (s)"},
    "continuous": {"type": "bool", "default": False, "description": "URLs without end: crawl until stopped"},
}
args = parse(PARAMS)


def site(environ, start_response):
    """The site: page /n answers after its own latency (the same every run), a body of its own length."""
    page = random.Random(environ["PATH_INFO"])
    eventlet.sleep(page.uniform(0, args.delay))
    start_response("200 OK", [("Content-Type", "text/html")])
    return [b"<p>lorem ipsum</p>\n" * page.randrange(10, 1000)]


server = eventlet.listen(("127.0.0.1", 0))
eventlet.spawn(wsgi.server, server, site, log_output=False)
request.install_opener(request.build_opener(request.ProxyHandler({})))  # a local site: never through a proxy
pages = itertools.count() if args.continuous else range(args.urls)
urls = (f"http://127.0.0.1:{server.getsockname()[1]}/{n}" for n in pages)


# eventlet's crawler, from here on


def fetch(url):
    return request.urlopen(url).read()


pool = eventlet.GreenPool(args.size, name="crawler")

for body in pool.imap(fetch, urls):
    print("got body", len(body))

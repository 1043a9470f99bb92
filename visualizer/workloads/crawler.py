"""Crawl a site with a GreenPool: `pool.imap(fetch, urls)`, a round of links at a time.

The site is served on 127.0.0.1 by `runtime.wsgi` in this same process: `pages` pages,
each linking to `links` others, each answer after a fixed, uniform or long-tailed latency,
and a share `errors` of them failing with 500. `continuous`: the site never ends, and the
crawl goes on until stopped. With `target` (allowed only when the dashboard runs with
--allow-external-crawl) it crawls that site instead, on its host only and `pages` pages at
most, connecting directly (no proxy) and only to public addresses: every connection,
redirects included, is checked once made, so a name that resolves elsewhere later cannot
lead it inside.
"""

import random
import re
from urllib.parse import urljoin, urlsplit

import runtime as eventlet
from runtime import wsgi
from runtime.green import socket
from runtime.green.http import client
from runtime.green.urllib import error, request
from visualizer.workloads.schema import external, parse

PARAMS = {
    "pages": {"type": "int", "default": 200, "min": 1, "max": 100000, "description": "pages to crawl"},
    "links": {"type": "int", "default": 4, "min": 1, "max": 50, "description": "links on each page"},
    "size": {"type": "int", "default": 8, "min": 1, "max": 1000, "description": "fetches at once (the pool)"},
    "latency": {
        "type": "choice",
        "default": "uniform",
        "choices": ["fixed", "uniform", "long-tailed"],
        "description": "how long the site takes to answer",
    },
    "delay": {"type": "float", "default": 0.5, "min": 0.0, "max": 5.0, "description": "mean latency (s)"},
    "errors": {"type": "float", "default": 0.05, "min": 0.0, "max": 1.0, "description": "share of pages that fail"},
    "seed": {"type": "int", "default": 1, "min": 0, "max": 2147483647, "description": "random seed"},
    "target": {"type": "url", "default": "", "description": "an external site to crawl instead (if allowed)"},
    "continuous": {"type": "bool", "default": False, "description": "a site that never ends: crawl until stopped"},
}
LINK = re.compile(rb'href="([^"]+)"')

args = parse(PARAMS)
rng = random.Random(args.seed)


def latency():
    if args.latency == "fixed":
        return args.delay
    if args.latency == "uniform":
        return rng.uniform(0, 2 * args.delay)
    return min(rng.paretovariate(2.5) * 0.6 * args.delay, 50 * args.delay)  # mean ~ delay, a few very slow


def site(environ, start_response):
    eventlet.sleep(latency())
    page = environ["PATH_INFO"].strip("/")
    if not page.isdigit() or rng.random() < args.errors:
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
        return [b"no luck\n"]
    n = int(page)
    pages = [n * args.links + k + 1 for k in range(args.links)]  # a tree of pages, endless if continuous
    links = "".join(f'<a href="/{p if args.continuous else p % args.pages}">page</a>\n' for p in pages)
    start_response("200 OK", [("Content-Type", "text/html")])
    return [f"<h1>page {n}</h1>\n{links}".encode()]


def fetch(url):
    try:
        return url, opener.open(url, timeout=30).read()
    except error.HTTPError as e:
        e.close()
        return url, b""


def connect_external(address, *args, **kwargs):
    sock = socket.create_connection(address, *args, **kwargs)
    peer = sock.getpeername()[0]
    if not external(peer):
        sock.close()
        raise OSError(f"{address[0]} is {peer}: not an external address")
    return sock


def external_only(connection):
    class External(connection):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._create_connection = connect_external

    return External


class ExternalHTTP(request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(external_only(client.HTTPConnection), req)


class ExternalHTTPS(request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(external_only(client.HTTPSConnection), req, context=self._context)


server = eventlet.listen(("127.0.0.1", 0))
eventlet.spawn(wsgi.server, server, site, log_output=False)
if args.target:
    root, opener = args.target, request.build_opener(request.ProxyHandler({}), ExternalHTTP, ExternalHTTPS)
else:  # the local site: never through a proxy
    root, opener = f"http://127.0.0.1:{server.getsockname()[1]}/0", request.build_opener(request.ProxyHandler({}))

# pages to crawl at most: an endless site goes on until stopped; an external one stops at `pages`
most = float("inf") if args.continuous and not args.target else args.pages
pool = eventlet.GreenPool(args.size, name="crawler")
seen, frontier, failed = {root}, [root], 0
while frontier:
    found = []
    for url, body in pool.imap(fetch, frontier):
        failed += not body
        for link in LINK.findall(body):
            page = urljoin(url, link.decode())
            if urlsplit(page).netloc == urlsplit(root).netloc and page not in seen and len(seen) < most:
                seen.add(page)
                found.append(page)
    frontier = found
server.close()
print(f"crawled {len(seen)} pages, {failed} failed")

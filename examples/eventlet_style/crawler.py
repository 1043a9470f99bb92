"""A web crawler, written as eventlet's examples/webcrawler.py is: a GreenPool fetches the URLs, as
many at once as the pool has greenthreads; the prints show that the requests are made in parallel.

    python examples/eventlet_style/crawler.py URL...     # e.g. https://www.python.org/ https://pypi.org/
"""

import sys

import runtime as eventlet
from runtime.green.urllib.request import urlopen

urls = sys.argv[1:]


def fetch(url):
    print("opening", url)
    body = urlopen(url).read()
    print("done with", url)
    return url, body


pool = eventlet.GreenPool(200)
for url, body in pool.imap(fetch, urls):
    print("got body from", url, "of length", len(body))

"""The seed's crawler example, run as written (but for ``import runtime as eventlet``, Python 3
and the green urllib's import) against a local server whose every page takes 0.2 s."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

PAGES = 20
DELAY = 0.2

SERVER = f"""
import http.server, time

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep({DELAY})
        n = int(self.path.rsplit("/", 1)[1])
        body = b"x" * (1000 + n)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # all the crawler's connects at once

server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""

CRAWLER = """\
import runtime as eventlet
from runtime.green.urllib import request

urls = {urls}


def fetch(url):
    return request.urlopen(url).read()


pool = eventlet.GreenPool(200)
for body in pool.imap(fetch, urls):
    print("got body", len(body))
"""

# runs the crawler file as __main__, and says how long it took
TIMED = (
    "import runpy, time; t = time.monotonic(); runpy.run_path({path!r}, run_name='__main__');"
    " print(time.monotonic() - t)"
)


@pytest.fixture
def slow_server() -> Iterator[int]:
    """A threaded HTTP server in a subprocess, on 127.0.0.1; yields its port."""
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        assert line.strip().isdigit(), f"the server did not start: {line!r}"
        yield int(line)
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()  # type: ignore[union-attr]


def test_seed_crawler_fetches_twenty_pages_concurrently(slow_server, hub, tmp_path):
    urls = [f"http://127.0.0.1:{slow_server}/page/{n}" for n in range(PAGES)]
    program = tmp_path / "crawler.py"
    program.write_text(CRAWLER.format(urls="[\n" + "".join(f"    {url!r},\n" for url in urls) + "]"))
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", TIMED.format(path=str(program))],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "GREENSCOPE_HUB": hub.poller.name},
    )
    assert proc.returncode == 0, proc.stderr
    *lines, elapsed = proc.stdout.splitlines()
    assert lines == [f"got body {1000 + n}" for n in range(PAGES)]  # every body, in order
    # one after the other they would take 20 x 0.2 = 4 s; concurrently, about 0.2 s
    assert DELAY <= float(elapsed) < 1.0, elapsed

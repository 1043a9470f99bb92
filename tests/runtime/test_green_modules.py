"""The green stdlib modules, used directly (no monkey patching): select, selectors, time,
_thread, threading, http.client, urllib.request, and import_patched."""

from __future__ import annotations

import _thread as real_thread
import http.client
import http.server
import json
import sys
import time as real_time
import urllib.request
from collections.abc import Iterator

import pytest

import runtime
from runtime.green import select, selectors, socket
from runtime.green import thread as gthread
from runtime.green import threading as gthreading
from runtime.green import time as gtime
from runtime.green.http import client as gclient
from runtime.green.urllib import request as grequest
from runtime.hubs import IOClosed
from runtime.patcher import import_patched
from tests.support.httpd import Site


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def _later(seconds: float, func, *args):
    """Run func(*args) in a greenthread after `seconds`; return the greenthread."""

    def run():
        runtime.sleep(seconds)
        return func(*args)

    return runtime.spawn(run)


# ---------------------------------------------------------------- select


def test_select_parks_until_readable_while_others_run(pair):
    a, b = pair
    ticks = []
    ticker = runtime.spawn(lambda: [ticks.append(i) or runtime.sleep(0) for i in range(3)])
    writer = _later(0.01, b.send, b"x")
    assert select.select([a], [], [], 5) == ([a], [], [])
    assert ticks == [0, 1, 2]  # the hub ran them while select waited
    assert a.recv(1) == b"x"
    writer.wait()
    ticker.wait()


def test_select_times_out_with_empty_lists(pair, clock):
    a, _ = pair
    start = clock()
    assert select.select([a], [], [], 30) == ([], [], [])
    assert clock() - start == pytest.approx(30)


def test_select_returns_the_given_objects_in_order(pair):
    a, b = pair
    b.send(b"x")
    a.send(b"y")
    fa, fb = a.fileno(), b.fileno()
    r, w, x = select.select([b, fa], [fb, a], [], 1)
    assert r == [b, fa] and w == [fb, a] and x == []
    a.recv(1)
    b.recv(1)


def test_select_with_zero_timeout_polls(pair):
    a, b = pair
    assert select.select([a], [], [], 0) == ([], [], [])
    assert select.select([a], [b], [a], 0) == ([], [b], [])


def test_select_checks_its_arguments(pair):
    a, _ = pair
    with pytest.raises(ValueError):
        select.select([a], [], [], -1)
    with pytest.raises(TypeError):
        select.select([object()], [], [], 0)


def test_a_second_reader_of_one_fd_gets_runtime_error(pair):
    a, b = pair
    first = runtime.spawn(select.select, [a], [], [])
    runtime.sleep(0)  # it parks on a
    with pytest.raises(RuntimeError, match="already waited on"):
        select.select([a], [], [], 1)
    b.send(b"x")
    assert first.wait() == ([a], [], [])
    a.recv(1)


def test_closing_the_fd_wakes_select_with_ioclosed(pair):
    a, _ = pair
    waiter = runtime.spawn(select.select, [a], [], [])
    runtime.sleep(0)
    a.close()
    with pytest.raises(IOClosed):
        waiter.wait()


def test_select_on_xlist_only_or_nothing_waits_for_the_timeout(pair, clock):
    a, _ = pair
    assert select.select([], [], [a], 5) == ([], [], [])
    assert select.select([], [], [], 5) == ([], [], [])
    assert clock() == pytest.approx(10)


def test_select_module_leaves_out_blocking_pollers():
    for name in ("poll", "epoll", "devpoll", "kqueue", "kevent"):
        assert not hasattr(select, name)
    assert select.error is OSError
    assert "select" in select.__all__ and "epoll" not in select.__all__


# ---------------------------------------------------------------- selectors


def test_default_selector_parks_until_an_event(pair):
    a, b = pair
    assert selectors.DefaultSelector is selectors.SelectSelector
    assert not hasattr(selectors, "EpollSelector")
    writer = _later(0.01, b.send, b"x")
    with selectors.DefaultSelector() as sel:
        sel.register(a, selectors.EVENT_READ, "data")
        assert sel.select(0) == []
        [(key, events)] = sel.select(5)
    assert key.fileobj is a and key.data == "data" and events == selectors.EVENT_READ
    writer.wait()
    a.recv(1)


def test_selector_times_out(pair, clock):
    a, _ = pair
    with selectors.DefaultSelector() as sel:
        sel.register(a, selectors.EVENT_READ)
        assert sel.select(7) == []
        sel.unregister(a)
        assert sel.select(3) == []  # nothing registered: just the time
    assert clock() == pytest.approx(10)


# ---------------------------------------------------------------- time


def test_green_time_sleep_parks_and_the_rest_is_stdlib(clock):
    assert gtime.sleep is runtime.sleep
    assert gtime.monotonic is real_time.monotonic and gtime.strftime is real_time.strftime
    other = runtime.spawn(lambda: gtime.sleep(1) or "other")
    gtime.sleep(3600)  # virtual time
    assert clock() == pytest.approx(3600)
    assert other.wait() == "other"


# ---------------------------------------------------------------- _thread: locks, idents, local


def test_lock_basics():
    lock = gthread.allocate_lock()
    assert not lock.locked() and "unlocked" in repr(lock)
    assert lock.acquire() and lock.locked()
    assert lock.acquire(False) is False
    with pytest.raises(ValueError):
        lock.acquire(False, 1)
    with pytest.raises(ValueError):
        lock.acquire(True, -2)
    lock.release()
    with pytest.raises(RuntimeError):
        lock.release()
    with lock:
        assert lock.locked()
    assert not lock.locked()


def test_lock_acquire_times_out(clock):
    lock = gthread.allocate_lock()
    lock.acquire()
    assert lock.acquire(timeout=2) is False
    assert clock() == pytest.approx(2)
    lock.release()


def test_contended_lock_is_handed_over_in_fifo_order():
    lock = gthreading.Lock()
    order = []

    def worker(n):
        with lock:
            order.append(n)
            runtime.sleep(0)

    lock.acquire()
    workers = [runtime.spawn(worker, n) for n in range(4)]
    runtime.sleep(0)  # all park on the lock
    lock.release()  # released by whoever: the stdlib's lock allows it
    for w in workers:
        w.wait()
    assert order == [0, 1, 2, 3] and not lock.locked()


def test_a_killed_waiter_leaves_the_lock_usable():
    lock = gthread.allocate_lock()
    lock.acquire()
    waiter = runtime.spawn(lock.acquire)
    runtime.sleep(0)
    waiter.kill()
    lock.release()
    assert not lock.locked()


def test_rlock_is_reentrant_and_owned_by_its_greenthread():
    rlock = gthreading.RLock()
    got = []

    def other():
        with rlock:
            got.append("other")

    with rlock:
        with rlock:
            t = runtime.spawn(other)
            runtime.sleep(0)
            assert got == []
            with pytest.raises(RuntimeError):
                runtime.spawn(rlock.release).wait()
        runtime.sleep(0)
        assert got == []  # still held once
    t.wait()
    assert got == ["other"]
    with pytest.raises(RuntimeError):
        rlock.release()


def test_get_ident_is_per_greenthread():
    main = gthread.get_ident()
    assert main == real_thread.get_ident()  # the root greenlet is the OS thread
    idents = [runtime.spawn(gthread.get_ident).wait() for _ in range(3)]
    assert len({main, *idents}) == 4
    gt = runtime.spawn(lambda: (gthread.get_ident(), runtime.sleep(0), gthread.get_ident()))
    first, _, second = gt.wait()
    assert first == second


def test_local_is_per_greenthread():
    class Counter(gthread.local):
        def __init__(self, start):
            self.value = start

    loc = Counter(10)
    loc.value += 1

    def bump(n):
        assert loc.value == 10  # a fresh __init__ for this greenthread
        loc.value += n
        runtime.sleep(0)
        return loc.value

    threads = [runtime.spawn(bump, n) for n in (1, 2, 3)]
    assert [t.wait() for t in threads] == [11, 12, 13]
    assert loc.value == 11
    plain = gthreading.local()
    plain.x = 1
    assert runtime.spawn(lambda: hasattr(plain, "x")).wait() is False
    with pytest.raises(TypeError):
        gthreading.local(1)


def test_start_new_thread_runs_a_greenthread():
    got = []
    ident = gthread.start_new_thread(lambda x: got.append((x, gthread.get_ident())), ("a",))
    gthread.start_new_thread(sys.exit, (0,))  # SystemExit ends it quietly
    runtime.sleep(0)
    assert got == [("a", ident)]


# ---------------------------------------------------------------- green threading


def test_threads_conditions_and_events_across_greenthreads():
    cond = gthreading.Condition()
    ready = gthreading.Event()
    items = []

    def consumer():
        with cond:
            assert cond.wait_for(lambda: len(items) == 3, timeout=5)
        ready.set()

    t = gthreading.Thread(target=consumer, name="consumer")
    t.start()
    for i in range(3):
        with cond:
            items.append(i)
            cond.notify()
        runtime.sleep(0)
    assert ready.wait(5)
    t.join()
    assert not t.is_alive() and t.name == "consumer"
    assert gthreading.active_count() == 1


def test_thread_join_with_timeout_and_current_thread(clock):
    names = []

    def run():
        names.append(gthreading.current_thread().name)
        gthreading.Event().wait(10)

    t = gthreading.Thread(target=run, name="sleeper", daemon=True)
    t.start()
    t.join(1)
    assert t.is_alive() and clock() == pytest.approx(1)
    t.join()
    assert not t.is_alive() and names == ["sleeper"]
    assert gthreading.current_thread() is gthreading.main_thread()
    view = runtime.spawn(gthreading.current_thread).wait()
    assert view.name.startswith("GreenThread-") and not view.is_alive()


def test_semaphore_and_timer():
    # real time here: the stdlib's Semaphore re-checks its deadline on time.monotonic
    sem = gthreading.Semaphore(2)
    fired = []
    timer = gthreading.Timer(0.02, fired.append, args=("fired",))
    timer.start()
    assert sem.acquire() and sem.acquire()
    assert sem.acquire(timeout=0.01) is False
    sem.release(2)
    assert fired == []
    timer.join()
    assert fired == ["fired"]
    cancelled = gthreading.Timer(10, fired.append, args=("never",))
    cancelled.start()
    cancelled.cancel()
    cancelled.join()
    assert fired == ["fired"]


def test_stdlib_queue_imported_over_green_threading():
    queue = import_patched("queue", ("threading", gthreading))
    q = queue.Queue(maxsize=1)
    got = []

    def consumer():
        while (item := q.get()) is not None:
            got.append(item)

    c = runtime.spawn(consumer)
    for i in range(5):
        q.put(i)  # parks while the queue is full
    q.put(None)
    c.wait()
    assert got == [0, 1, 2, 3, 4]
    assert sys.modules["queue"].Queue is not queue.Queue


# ---------------------------------------------------------------- http.client and urllib.request


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    """A web site on 127.0.0.1, in real OS threads (this process is not patched)."""
    with Site() as it:
        yield it


def test_urlopen_reads_a_page(site):
    with grequest.urlopen(f"{site.url}/hello") as resp:
        assert resp.status == 200
        assert resp.read() == b"GET /hello on port %d" % site.ports[0]


def test_urlopen_fetches_concurrently():
    def fetch(url):
        with grequest.urlopen(url) as resp:
            return resp.read()

    with Site(together=10) as site:
        bodies = list(runtime.GreenPool(10).imap(fetch, [f"{site.url}/{i}" for i in range(10)]))
    assert bodies == [b"GET /%d on port %d" % (i, site.ports[0]) for i in range(10)]
    assert site.most_in_flight == 10  # all ten waited for their answer at once


def test_http_client_post(site):
    conn = gclient.HTTPConnection("127.0.0.1", site.ports[0], timeout=5)
    try:
        conn.request("POST", "/", body=b"shout", headers={"Content-Type": "text/plain"})
        resp = conn.getresponse()
        assert (resp.status, resp.read()) == (200, b"SHOUT")
        conn.request("GET", "/again")  # keep-alive: same green socket
        assert conn.getresponse().read() == b"GET /again on port %d" % site.ports[0]
        assert isinstance(conn.sock, socket.socket)
    finally:
        conn.close()


def test_green_modules_leave_the_stdlib_alone():
    assert grequest.urlopen is not urllib.request.urlopen
    assert gclient.HTTPConnection is not http.client.HTTPConnection
    assert grequest.http.client is gclient  # what urllib.request calls http.client
    assert urllib.request.http.client is http.client
    assert sys.modules["urllib.request"] is urllib.request and sys.modules["http.client"] is http.client
    assert grequest.URLError is urllib.request.URLError  # urllib.error is shared
    assert json.loads(json.dumps({"a": 1})) == {"a": 1}


def test_import_patched_injects_and_restores():
    import ftplib

    before = dict(sys.modules)
    copy = import_patched("ftplib", socket=socket)
    assert copy is not ftplib and copy.socket.socket is socket.socket
    assert copy.socket._GLOBAL_DEFAULT_TIMEOUT is ftplib._GLOBAL_DEFAULT_TIMEOUT
    assert ftplib.socket.socket is not socket.socket
    assert dict(sys.modules) == before
    default = import_patched("socketserver")  # the default green modules
    assert default.selectors.DefaultSelector is selectors.SelectSelector
    assert default.threading.Thread is gthreading.Thread
    added = {name for name in sys.modules if name not in before}
    assert all(name.startswith("runtime.green.") for name in added), added  # only green modules were imported
    assert all(sys.modules[name] is module for name, module in before.items())


def test_import_patched_dotted_name_and_parent_attribute():
    import urllib as pkg

    copy = import_patched("urllib.request", ("http.client", gclient))
    assert copy is not urllib.request and pkg.request is urllib.request
    assert copy.http.client is gclient and http.client is sys.modules["http.client"]
    assert copy.HTTPSHandler is not urllib.request.HTTPSHandler


# ---------------------------------------------------------------- https


def test_https_urlopen_over_green_ssl(tmp_path):
    import ssl as real_ssl

    import trustme

    from runtime.green import ssl as gssl

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_ctx = real_ssl.SSLContext(real_ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(server_ctx)
    client_ctx = gssl.create_default_context()
    ca.configure_trust(client_ctx)
    with Site(context=server_ctx) as site:
        with grequest.urlopen(f"{site.url}/secure", context=client_ctx) as resp:
            assert isinstance(resp.fp.raw._sock, gssl.SSLSocket)
            assert resp.read() == b"GET /secure on port %d" % site.ports[0]


# ---------------------------------------------------------------- http.server and socketserver


def test_green_http_server_handles_requests_at_once():
    from runtime.green import socketserver as gsocketserver
    from runtime.green.http import server as gserver

    in_flight, most, everyone = [0], [0], runtime.Event()

    class Handler(gserver.BaseHTTPRequestHandler):
        def do_GET(self):
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
            if in_flight[0] == 4:
                everyone.send()
            everyone.wait()  # only when four requests are handled at once
            in_flight[0] -= 1
            body = self.path.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = gserver.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    assert isinstance(server, gsocketserver.ThreadingMixIn) and not isinstance(server, http.server.HTTPServer)
    serving = runtime.spawn(server.serve_forever, 0.05)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    fetches = [runtime.spawn(lambda i=i: grequest.urlopen(f"{url}/{i}").read()) for i in range(4)]
    assert [f.wait() for f in fetches] == [b"/0", b"/1", b"/2", b"/3"]
    assert most[0] == 4
    server.shutdown()
    server.server_close()
    serving.wait()


def test_import_patched_makes_the_modules_own_imports_green(tmp_path, monkeypatch):
    from runtime.green import os as gos
    from runtime.green import subprocess as gsubprocess

    (tmp_path / "uses_stdlib.py").write_text(
        "import os\nimport subprocess\nimport urllib.request\nfrom http.client import HTTPConnection\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    copy = import_patched("uses_stdlib")
    assert copy.urllib.request.urlopen is grequest.urlopen  # `import urllib.request` gave the green one
    assert copy.HTTPConnection is gclient.HTTPConnection
    assert copy.subprocess is gsubprocess and copy.os.waitpid is gos.waitpid
    assert urllib.request.urlopen is not grequest.urlopen and sys.modules["urllib.request"] is urllib.request
    del sys.modules["uses_stdlib"]

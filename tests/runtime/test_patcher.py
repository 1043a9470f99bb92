"""monkey_patch changes the whole process: every test here runs its program in a subprocess
(on the poller of this test's hub, through $GREENSCOPE_HUB)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from runtime.hubs import Hub

TIMEOUT = 60
ROOT = Path(__file__).resolve().parents[2]


def run(hub: Hub, code: str, *, cwd: Path | None = None, warnings_are_errors: bool = True) -> str:
    """Run `code` in a fresh interpreter (which can import `tests.support`); return its stdout (it must exit
    with 0)."""
    env = {**os.environ, "GREENSCOPE_HUB": hub.poller.name}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(cwd or ""), str(ROOT), env.get("PYTHONPATH")]))
    flags = ["-W", "error"] if warnings_are_errors else []
    proc = subprocess.run(
        [sys.executable, *flags, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=cwd,
        env=env,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    return proc.stdout


def test_monkey_patch_replaces_stdlib_attributes_in_place(hub):
    out = run(
        hub,
        """
        import socket as socket_before
        from runtime import patcher
        from runtime.green import socket as gsocket, select as gselect, selectors as gselectors
        from runtime.green import thread as gthread, ssl as gssl
        import runtime
        real = {"select": __import__("select").select, "sleep": __import__("time").sleep}  # not module-level names
        assert not patcher.is_monkey_patched("socket")
        patcher.monkey_patch()
        import socket, select, selectors, time, threading, _thread, queue, ssl
        assert socket is socket_before  # in place
        assert socket.socket is gsocket.socket and socket.create_connection is gsocket.create_connection
        assert socket.getaddrinfo is gsocket.getaddrinfo and socket.SocketType is gsocket.socket
        assert select.select is gselect.select and hasattr(select, "epoll")  # poll/epoll stay (blocking)
        assert selectors.DefaultSelector is gselectors.SelectSelector
        assert not hasattr(selectors, "EpollSelector") and not hasattr(selectors, "PollSelector")
        assert time.sleep is runtime.sleep
        assert threading.Lock is gthread.Lock and isinstance(threading.RLock(), gthread.RLock)
        assert threading.local is gthread.local and _thread.allocate_lock is gthread.Lock
        assert threading.get_ident is gthread.get_ident and _thread.start_new_thread is gthread.start_new_thread
        assert queue.SimpleQueue is queue._PySimpleQueue
        assert ssl.create_default_context is gssl.create_default_context
        assert ssl.SSLContext.sslsocket_class is gssl.SSLSocket  # every context wraps green
        assert ssl._create_default_https_context is gssl._create_default_https_context
        for name in ("socket", "ssl", "select", "selectors", "time", "thread", "threading", "_thread", "queue"):
            assert patcher.is_monkey_patched(name), name
        # the originals
        assert patcher.original("select").select is real["select"]
        assert patcher.original("time").sleep is real["sleep"]
        assert patcher.original("socket").socket.__module__ == "socket"
        assert patcher.original("socket").socket is not gsocket.socket
        assert patcher.original("selectors").DefaultSelector.__name__ == "EpollSelector"
        assert patcher.original("ssl").SSLContext is not gssl.SSLContext
        assert patcher.original("thread") is patcher.original("_thread")
        print("ok")
        """,
    )
    assert out == "ok\n"


def test_second_call_is_a_noop_and_later_calls_add_groups(hub):
    out = run(
        hub,
        """
        import runtime, time, socket, select
        from runtime import patcher
        patcher.monkey_patch(time=True)  # only what is named True
        assert time.sleep is runtime.sleep and patcher.is_monkey_patched("time")
        assert not patcher.is_monkey_patched("socket") and not patcher.is_monkey_patched("thread")
        sleep = time.sleep
        patcher.monkey_patch(time=True)
        assert time.sleep is sleep
        patcher.monkey_patch(socket=True)  # ssl follows socket
        assert patcher.is_monkey_patched("socket") and patcher.is_monkey_patched("ssl")
        assert not patcher.is_monkey_patched("select")
        green_socket = socket.socket
        patcher.monkey_patch()  # everything else
        assert socket.socket is green_socket and patcher.is_monkey_patched("thread")
        assert patcher.is_monkey_patched("selectors")
        print("ok")
        """,
    )
    assert out == "ok\n"


def test_groups_set_false_are_left_out(hub):
    out = run(
        hub,
        """
        import socket, select, selectors
        from runtime import patcher
        real = socket.socket, select.select, selectors.DefaultSelector
        patcher.monkey_patch(socket=False, select=False)
        assert (socket.socket, select.select, selectors.DefaultSelector) == real
        assert not patcher.is_monkey_patched("ssl")  # follows socket
        assert patcher.is_monkey_patched("time") and patcher.is_monkey_patched("thread")
        try:
            patcher.monkey_patch(sockets=True)
        except TypeError as e:
            print("TypeError", e)
        """,
    )
    assert out.startswith("TypeError") and "sockets" in out


def test_unsupported_eventlet_groups_warn(hub):
    out = run(
        hub,
        """
        import warnings
        from runtime import patcher
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            patcher.monkey_patch(builtins=True, time=True)
            patcher.monkey_patch(builtins=False, psycopg=False)
        print([str(w.message) for w in caught])
        """,
    )
    assert "monkey_patch(builtins=True)" in out and out.count("monkey_patch(") == 1


def test_warns_about_names_imported_before_patching(hub, tmp_path):
    (tmp_path / "early.py").write_text(
        "from socket import socket\nfrom time import sleep\nfrom threading import Lock\n"
    )
    (tmp_path / "late.py").write_text("from socket import socket\nfrom time import sleep\n")
    (tmp_path / "polite.py").write_text("import socket, time\n")
    out = run(
        hub,
        """
        import warnings
        import early, polite
        from runtime import patcher
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            patcher.monkey_patch()
            import late
            patcher.monkey_patch()
        assert len(caught) == 1, [str(w.message) for w in caught]
        w = caught[0]
        assert w.category is RuntimeWarning and w.filename == "<string>", (w.category, w.filename)
        print(w.message)
        assert late.socket is __import__("socket").socket
        """,
        cwd=tmp_path,
    )
    assert "early.socket is the unpatched socket.socket" in out
    assert "early.sleep is the unpatched time.sleep" in out
    assert "early.Lock is the unpatched threading.Lock" in out  # not _thread.allocate_lock
    assert "'early' was imported before monkey_patch()" in out
    assert "polite" not in out and "late" not in out


def test_no_warning_for_a_clean_program(hub):
    # -W error: any warning (from the scan, or the runtime) fails the program
    assert run(hub, "import runtime, runtime.patcher; runtime.patcher.monkey_patch(); print('ok')") == "ok\n"


def test_threading_and_queue_are_green_after_patching(hub):
    out = run(
        hub,
        """
        import runtime, runtime.patcher; runtime.patcher.monkey_patch(thread=True, time=True)
        import queue, threading, time
        native = threading.get_native_id()
        q = queue.Queue(maxsize=2)
        got = []

        def producer():
            for i in range(6):
                q.put(i)
            q.put(None)

        def consumer():
            while (item := q.get()) is not None:
                got.append((item, threading.current_thread().name, threading.get_native_id()))

        threads = [threading.Thread(target=producer, name="p"), threading.Thread(target=consumer, name="c")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [g[0] for g in got] == list(range(6)) and {g[1:] for g in got} == {("c", native)}

        # ten threads sleep at once: a sleep parks its thread, the others go on
        asleep, most = [0], [0]

        def sleeper():
            asleep[0] += 1
            most[0] = max(most[0], asleep[0])
            time.sleep(0.05)
            asleep[0] -= 1

        sleepers = [threading.Thread(target=sleeper) for _ in range(10)]
        for t in sleepers:
            t.start()
        for t in sleepers:
            t.join()
        assert most[0] == 10, most

        # Condition, Event, Semaphore, SimpleQueue, local, RLock across greenthreads
        cond, event, sem, sq = threading.Condition(), threading.Event(), threading.Semaphore(0), queue.SimpleQueue()
        local = threading.local()
        local.name = "main"

        def worker():
            local.name = "worker"
            with cond:
                cond.wait_for(event.is_set)
            sem.release()
            sq.put(threading.current_thread().name)

        w = threading.Thread(target=worker, name="w")
        w.start()
        with cond:
            event.set()
            cond.notify_all()
        assert sem.acquire(timeout=5) and sq.get(timeout=5) == "w" and local.name == "main"
        w.join()
        rlock = threading.RLock()
        with rlock, rlock:
            pass

        # current_thread() in any greenthread
        assert threading.current_thread() is threading.main_thread()
        assert runtime.spawn(lambda: threading.current_thread().name).wait().startswith("GreenThread-")
        assert threading.active_count() == 1
        print("ok")
        """,
    )
    assert out == "ok\n"


def test_non_daemon_green_threads_are_waited_for_at_exit(hub):
    out = run(
        hub,
        """
        import runtime, runtime.patcher; runtime.patcher.monkey_patch()
        import threading, time
        threading.Thread(target=lambda: (time.sleep(0.05), print("non-daemon done"))).start()
        threading.Thread(target=lambda: (time.sleep(30), print("daemon done")), daemon=True).start()
        print("main done")
        """,
    )
    assert out == "main done\nnon-daemon done\n"


CHILD_BARRIER = """
import os, sys, time, pathlib
where = pathlib.Path(sys.argv[1])
(where / str(os.getpid())).touch()
deadline = time.monotonic() + 30
while len(list(where.iterdir())) < 5 and time.monotonic() < deadline:
    time.sleep(0.005)
sys.exit(len(list(where.iterdir())) != 5)
"""


def test_subprocess_and_os_are_green_after_patching(hub, tmp_path):
    # five subprocess.run in five greenthreads: each child ends only once all five have started
    (tmp_path / "child.py").write_text(CHILD_BARRIER)
    (tmp_path / "children").mkdir()
    out = run(
        hub,
        f"""
        import runtime; runtime.monkey_patch()
        import os, subprocess, sys
        from runtime import patcher
        from runtime.green import os as gos, subprocess as gsubprocess
        assert subprocess.Popen is gsubprocess.Popen and os.waitpid is gos.waitpid and os.read is gos.read
        assert patcher.is_monkey_patched("subprocess") and patcher.is_monkey_patched("os")
        assert patcher.original("os").read is not gos.read
        command = [sys.executable, {str(tmp_path / "child.py")!r}, {str(tmp_path / "children")!r}]
        print([gt.wait() for gt in [runtime.spawn(lambda: subprocess.run(command).returncode) for _ in range(5)]])
        """,
    )
    assert out == "[0, 0, 0, 0, 0]\n"


def test_stdlib_http_server_and_client_in_one_patched_process(hub):
    out = run(
        hub,
        """
        import runtime, runtime.patcher; runtime.patcher.monkey_patch()
        import threading, urllib.request
        from tests.support.httpd import Site  # the stdlib's http.server, in green threads here

        with Site(together=10) as site:
            pool = runtime.GreenPool()
            bodies = list(pool.imap(lambda i: urllib.request.urlopen(f"{site.url}/{i}").read(), range(10)))
        assert bodies == [b"GET /%d on port %d" % (i, site.ports[0]) for i in range(10)], bodies
        assert site.most_in_flight == 10, site.most_in_flight  # server and clients all at once, in one thread
        assert threading.active_count() == 1
        print("ok")
        """,
    )
    assert out == "ok\n"


def test_the_runtime_keeps_the_originals(hub):
    out = run(
        hub,
        """
        import runtime
        from runtime import hubs, patcher
        from runtime.green import socket as gsocket, ssl as gssl
        patcher.monkey_patch()
        import selectors
        # a hub made after patching polls with the real selector, whatever its poller
        for name in hubs.poller_names():
            hub = hubs.use_hub(name)
            poller = getattr(hub.poller, "_sel", None) or hub.poller._ep
            assert type(poller).__module__ in ("selectors", "select"), type(poller)
            runtime.sleep(0.001)
        # the green modules still reach the real stdlib underneath (no recursion)
        a, b = gsocket.socketpair()
        b.sendall(b"ping")
        assert a.recv(4) == b"ping"
        a.close(), b.close()
        server = gsocket.create_server(("127.0.0.1", 0))
        server.close()
        assert gsocket.getaddrinfo("localhost", 80)
        assert isinstance(gssl.create_default_context(), gssl.SSLContext)
        import ssl
        assert isinstance(ssl._create_stdlib_context(), gssl.SSLContext)
        # and the tpool still starts real threads
        import threading
        assert runtime.tpool.execute(threading.get_native_id) != threading.get_native_id()
        print("ok")
        """,
    )
    assert out == "ok\n"


def test_original_threading_starts_real_threads(hub):
    out = run(
        hub,
        """
        import runtime, runtime.patcher; runtime.patcher.monkey_patch()
        import threading
        real = runtime.patcher.original("threading")
        seen = []
        t = real.Thread(target=lambda: seen.append(threading.get_native_id()))
        t.start()
        t.join()
        assert seen and seen[0] != threading.get_native_id()
        lock = real.Lock()
        assert type(lock).__module__ == "_thread"
        print("ok")
        """,
    )
    assert out == "ok\n"


def test_https_between_stdlib_server_and_client_in_one_patched_process(hub, tmp_path):
    import trustme

    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    out = run(
        hub,
        """
        import runtime, runtime.patcher; runtime.patcher.monkey_patch()
        import ssl, urllib.request
        from runtime.green import ssl as gssl
        from tests.support.httpd import Site  # the stdlib's http.server, in green threads here

        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # the stdlib's class, made after patching
        server_ctx.load_cert_chain("server.pem")
        client_ctx = ssl.create_default_context(cafile="ca.pem")
        with Site(context=server_ctx) as site:
            assert isinstance(site.servers[0].socket, gssl.SSLSocket)

            def fetch(i):
                return urllib.request.urlopen(f"{site.url}/{i}", context=client_ctx).read()

            bodies = list(runtime.GreenPool().imap(fetch, range(5)))
        assert bodies == [b"GET /%d on port %d" % (i, site.ports[0]) for i in range(5)], bodies
        print("ok")
        """,
        cwd=tmp_path,
    )
    assert out == "ok\n"

"""An adapter that stops leaves eventlet or gevent as it found them: every attribute it set is put
back, the switch trace and the import hook are gone."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

CHECK = textwrap.dedent(
    """
    import sys, warnings
    warnings.simplefilter("ignore")
    import greenlet
    import eventlet, eventlet.greenthread, eventlet.event, eventlet.semaphore, eventlet.queue
    import eventlet.greenpool, eventlet.hubs, eventlet.hubs.hub, eventlet.hubs.poll, eventlet.hubs.epolls
    import gevent, gevent.greenlet, gevent.queue, gevent.event, gevent.lock, gevent._semaphore, gevent.pool
    import gevent.hub, gevent.baseserver, gevent._socketcommon, gevent._socket3, gevent.threadpool
    from runtime.attach import attach

    touched = [m for name, m in sys.modules.items() if name.split(".")[0] in ("eventlet", "gevent")]
    touched += [eventlet.greenpool.GreenPool, eventlet.queue.LightQueue, eventlet.event.Event]
    touched += [eventlet.semaphore.Semaphore, eventlet.hubs.poll.Hub, eventlet.hubs.epolls.Hub]
    touched += [gevent.pool.Pool, gevent.pool.Group]
    before = [dict(vars(owner)) for owner in touched]
    finders = list(sys.meta_path)
    for name in ("eventlet", "gevent"):
        adapter = attach(name).start()
        assert adapter.attached and greenlet.gettrace() is not None, name
        patched = sum(vars(o).get(k) is not v for o, b in zip(touched, before) for k, v in b.items())
        assert patched >= 8, (name, patched)
        adapter.stop()
        assert greenlet.gettrace() is None and sys.meta_path == finders, name
        for owner, saved in zip(touched, before):
            now = dict(vars(owner))
            changed = [k for k in saved.keys() | now.keys() if saved.get(k) is not now.get(k)]
            assert not changed, (name, owner, changed)
    print("ok")
    """
)


def test_stop_puts_eventlet_and_gevent_back_as_they_were():
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"


# Traces a gevent echo server twice in one process, a fresh adapter each time (as `make bench` does: a warm-up
# run, then the timed one), and prints each run's events per echoed line. The server's module kept the traced
# Greenlet class of the first adapter (gevent.baseserver binds `Greenlet.spawn` when it is imported).
AGAIN = textwrap.dedent(
    """
    import collections, json, sys, warnings
    warnings.simplefilter("ignore")
    from runtime.attach import attach
    from runtime.trace import states
    from runtime.trace.events import BLOCK, KIND_NAMES
    from runtime.trace.recorder import Recorder

    def echo(lines):
        import gevent, gevent.socket
        from gevent.server import StreamServer
        handlers = []
        def handle(sock, address):
            handlers.append(gevent.getcurrent())
            while data := sock.recv(64):
                sock.sendall(data)
        server = StreamServer(("127.0.0.1", 0), handle)
        server.start()
        def client():
            c = gevent.socket.create_connection(("127.0.0.1", server.server_port))
            for _ in range(lines):
                c.sendall(b"x")
                c.recv(1)
            c.close()
        gevent.joinall([gevent.spawn(client) for _ in range(3)])
        gevent.joinall(handlers)  # nothing of this run is left for the next
        server.stop()

    out = []
    for _ in range(2):
        adapter = attach("gevent").start()
        recorder = Recorder().install()
        echo(20)
        recorder.uninstall()
        adapter.stop()
        events = recorder.take()
        kinds = collections.Counter(KIND_NAMES[e[0]] for e in events)
        unplaced = sum(e[0] == BLOCK and e[-1] is None for e in events)  # no program line: reported from the hub
        problems = states.check(events)
        out.append({"problems": problems, "blocks": kinds["block"], "wakes": kinds["wake"], "unplaced": unplaced})
    print(json.dumps(out))
    """
)


def test_an_adapter_attached_again_records_each_wait_once():
    result = subprocess.run([sys.executable, "-c", AGAIN], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    first, again = json.loads(result.stdout)
    assert first["problems"] == again["problems"] == []
    assert first["blocks"] >= 3 * 20 * 2  # each line: the client waits for its echo, the handler for the next line
    assert again["blocks"] == first["blocks"] and again["wakes"] == first["wakes"]
    assert first["unplaced"] == again["unplaced"] == 0  # the server's handlers are of the traced Greenlet both times

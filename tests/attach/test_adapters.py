"""An adapter that stops leaves eventlet or gevent as it found them: every attribute it set is put
back, the switch trace and the import hook are gone."""

from __future__ import annotations

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

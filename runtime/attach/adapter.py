"""What the eventlet and gevent adapters share: patches, park rules, the switch trace, imports."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from types import ModuleType
from typing import Any

from runtime.attach.imports import AfterImport
from runtime.attach.parking import Parking
from runtime.attach.patches import Patches
from runtime.attach.switches import SwitchTrace
from runtime.attach.views import PoolView, QueueView, view_of
from runtime.green.socket import peer_name
from runtime.instrument import hooks
from runtime.site import not_the_users

__all__ = ["Adapter"]


class Adapter:
    """Attaches to a greenlet library as the program imports it (`start`); `stop` undoes it all.

    A subclass names its library (`name`, the distribution; `root`, the module whose import
    starts the switch trace) and gives `modules()`: per module, what to do once it is imported.
    `announces`: its greenthreads call `SwitchTrace.leave` on their way to the hub (else it wraps
    the hub's switch with `SwitchTrace.parking_switch`).
    """

    name = ""
    root = ""
    announces = False

    def __init__(self, native: bool | None = None) -> None:
        self.patches = Patches()
        self.parking = Parking()
        self.trace = SwitchTrace(self.parking, self.find_hub, self.outcome, self.on_hub, self.announces, native)
        self.attached = False  # the program imported the library: the trace runs
        self._imports = AfterImport({**self.modules(), self.root: self._attach})
        self._peers: dict[int, tuple[weakref.ref, str]] = {}  # id(socket) -> (the socket, who is at the other end)

    # ------------------------------------------------------------------ what subclasses give

    def modules(self) -> dict[str, Callable[[ModuleType], None]]:
        """Per submodule of the library, what to patch and which parks to explain once it is imported."""
        raise NotImplementedError

    def find_hub(self) -> Any:
        """The current thread's hub greenlet, or None."""
        raise NotImplementedError

    def outcome(self, glet: Any, threw: bool) -> tuple[str, BaseException | None]:
        """How the dead `glet` ended (`threw`: an exception left it)."""
        raise NotImplementedError

    def on_hub(self, hub: Any) -> None:
        """The trace found this thread's hub (the first time, or a new one)."""

    def attach(self, module: ModuleType) -> None:
        """The library's root module was imported: last patches before the trace starts."""

    # ------------------------------------------------------------------ life

    def start(self) -> Adapter:
        """Watch the program's imports; attach when it imports the library (now, if it has)."""
        self._imports.install()
        return self

    def stop(self) -> None:
        """Stop tracing and put the library back as it was."""
        self._imports.uninstall()
        if self.attached:
            self.trace.stop()
            self.attached = False
        self.patches.undo()

    def _attach(self, module: ModuleType) -> None:
        not_the_users(os.path.dirname(module.__file__))  # where a greenthread parks: the line calling it
        self.attach(module)
        self.trace.start()
        self.attached = True

    # ------------------------------------------------------------------ helpers for subclasses

    def pool_view(self, pool: Any, running: Callable[[Any], int]) -> Any:
        """`pool`'s view (made, and announced, the first time)."""
        return view_of(pool, lambda p: PoolView(p, running, self.trace.waits))

    def queue_view(self, q: Any) -> Any:
        """`q`'s view (made, and announced, the first time)."""
        return view_of(q, lambda q: QueueView(q, self.trace.waits))

    def spawned(self, glet: Any, func: Any, parent: Any, pool: Any = None) -> None:
        """Say that `parent` spawned `glet` to run `func` (in `pool`'s view)."""
        h = hooks.spawned
        if h is None:
            return
        if not hasattr(glet, "func"):  # what the recorder reads; never over the program's own
            glet.func = func
        if pool is not None and not hasattr(glet, "pool"):
            glet.pool = pool
        h(glet, parent)

    def peer(self, sock: Any, fd: int, reading: bool) -> str | int:
        """What a wait on `sock` (fd `fd`) is named by: who is at the other end (``127.0.0.1:8080``,
        ``listening 127.0.0.1:8080`` for an accept), as the runtime's green sockets say; else the fd
        (one still connecting, or not a socket)."""
        peers = self._peers
        known = peers.get(id(sock))  # (no WeakKeyDictionary: its lookup is a Python call, at every wait)
        if known is not None and known[0]() is sock:
            return known[1]
        name = peer_name(sock) if hasattr(sock, "getpeername") else None
        if name is None or (not reading and name.startswith("listening")):
            return fd
        key = id(sock)
        try:  # forgotten as the socket goes (before its address can be another's)
            peers[key] = (weakref.ref(sock, lambda _, key=key: peers.pop(key, None)), name)
        except TypeError:  # it takes no weak reference: named again next time
            pass
        return name

    def changed(self, view: Any) -> None:
        """A pool's members or a queue's items changed."""
        h = hooks.resource_changed
        if h is not None:
            h(view)

"""Tracing programs written for eventlet or gevent, unmodified, into the runtime's event stream.

    adapter = attach("gevent").start()   # attaches when the program imports gevent
    ...                                  # the recorder gets the same hooks our hub calls
    adapter.stop()                       # gevent is as it was

Each adapter follows its library's switches with ``greenlet.settrace`` and reads why a
greenthread parked from its suspended frames; small patches announce spawns, pools, queues
and who wakes whom (`docs/attach.md`). `detect` says which runtime a program is written for.
"""

from __future__ import annotations

import importlib.metadata

from runtime.attach.adapter import Adapter
from runtime.attach.detect import RUNTIMES, Detection, detect

__all__ = ["PEERS", "RUNTIMES", "Adapter", "Detection", "attach", "detect", "version"]

PEERS = ("eventlet", "gevent")
"""The runtimes traced through an adapter (greenscope's own calls the hooks itself)."""


def attach(runtime: str, native: bool | None = None) -> Adapter:
    """A new adapter for `runtime` (one of `PEERS`), not started. `native`: its switch trace in C (the
    default, where built) or in Python."""
    if runtime == "eventlet":
        from runtime.attach.eventlet import EventletAdapter

        return EventletAdapter(native)
    if runtime == "gevent":
        from runtime.attach.gevent import GeventAdapter

        return GeventAdapter(native)
    raise ValueError(f"no adapter for {runtime!r}: choose from {', '.join(PEERS)}")


def version(runtime: str) -> str | None:
    """The installed version of `runtime` (None if it is not installed), without importing it."""
    try:
        return importlib.metadata.version("greenscope" if runtime == "greenscope" else runtime)
    except importlib.metadata.PackageNotFoundError:
        return None

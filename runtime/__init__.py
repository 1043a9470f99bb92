"""greenscope's green-thread runtime, with eventlet's API: ``import runtime as eventlet``.

Importing the package costs nothing: each name below is imported from its module on first
use (PEP 562), so ``import runtime.trace.codec`` does not load the hub, and
``runtime.spawn`` loads only what spawning needs.
"""

from __future__ import annotations

import importlib
from typing import Any

# where each public name lives: module -> names
_EXPORTS: dict[str, tuple[str, ...]] = {
    "greenlet": ("GreenletExit",),
    "runtime.convenience": ("StopServe", "connect", "listen", "serve", "wrap_ssl"),
    "runtime.event": ("Event",),
    "runtime.greenpool": ("GreenPile", "GreenPool"),
    "runtime.greenthread": (
        "GreenThread",
        "getcurrent",
        "kill",
        "sleep",
        "spawn",
        "spawn_after",
        "spawn_after_local",
        "spawn_n",
    ),
    "runtime.patcher": ("import_patched", "monkey_patch"),
    "runtime.queue": ("LifoQueue", "LightQueue", "PriorityQueue", "Queue"),
    "runtime.semaphore": ("BoundedSemaphore", "CappedSemaphore", "Semaphore"),
    "runtime.timeout": ("Timeout", "is_timeout", "with_timeout"),
}
# the submodules eventlet's programs reach as attributes (eventlet.queue.Queue...)
_SUBMODULES = (
    "convenience",
    "debug",
    "event",
    "greenpool",
    "greenthread",
    "hubs",
    "patcher",
    "queue",
    "semaphore",
    "timeout",
    "tpool",
    "websocket",
    "wsgi",
)
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted([*_WHERE, *_SUBMODULES])


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    elif name == "__version__":
        value = _version()
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # the next lookup is an ordinary one
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, "__version__"})


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("greenscope")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "0+unknown"

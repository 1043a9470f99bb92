"""Monkey patching and patched imports: make code written for the stdlib use green modules.

    import runtime
    runtime.patcher.monkey_patch()   # first thing, before importing what uses sockets or threads
    import urllib.request            # ... now it parks greenthreads instead of blocking

or, leaving the process alone, a private green copy of one module:

    request = runtime.patcher.import_patched("urllib.request")

`monkey_patch` replaces attributes of the stdlib modules in place (``sys.modules["socket"]``
and so on), once: a second call is a no-op for what is already patched. Per group:

- ``socket``: ``socket.socket``, ``SocketType``, ``socketpair``, ``fromfd``,
  ``create_connection``, ``create_server`` and name resolution (`runtime.green.socket`).
- ``ssl`` (follows ``socket``): every ``SSLContext`` (made before or after) wraps sockets in
  green ``SSLSocket``s, and ``create_default_context``, ``wrap_socket`` and the private
  factories ``http.client`` and friends call return green contexts (`runtime.green.ssl`).
  ``ssl.SSLContext`` and ``ssl.SSLSocket`` stay the stdlib's classes: the stdlib's own code
  names them (``super(SSLContext, SSLContext)``), so replacing them would recurse.
- ``select``: ``select.select``. ``poll``/``epoll``/``devpoll``/``kqueue`` stay the stdlib's
  and BLOCK THE HUB if called.
- ``selectors`` (follows ``select``): ``DefaultSelector`` and ``SelectSelector`` are green;
  ``PollSelector``, ``EpollSelector``, ``DevpollSelector`` and ``KqueueSelector`` are removed,
  so code that picks the best selector when imported later (socketserver, subprocess) gets
  the green one.
- ``time``: ``time.sleep``.
- ``os``: ``os.read``, ``os.write``, ``os.waitpid``, ``os.wait`` and ``os.fdopen``
  (`runtime.green.os`: they park on pipes and children).
- ``subprocess``: ``subprocess.Popen`` (`runtime.green.subprocess`), and so ``run``,
  ``call``, ``check_call``, ``check_output`` and the rest, which make one.
- ``thread``: ``_thread`` (`runtime.green.thread`), and in ``threading`` the primitives its
  classes are built on, so ``Lock``, ``RLock``, ``Condition``, ``Event``, ``Semaphore``,
  ``Barrier``, ``Timer``, ``local`` and ``queue.Queue`` made afterwards are green, and
  ``threading.Thread(target=f).start()`` runs `f` in a greenthread (``join`` waits for it;
  non-daemon ones are waited for at exit, as threads are). ``current_thread()`` works in
  any greenthread. ``queue.SimpleQueue`` becomes the stdlib's pure-Python one. Green locks
  coordinate the greenthreads of one OS thread: do not share them with real threads
  (`runtime.tpool` starts those; it keeps the real ``_thread``).

The ordering pitfall: patching changes module attributes, not objects that were already
taken from them. After ``from socket import socket`` or ``from time import sleep``, that
name stays the blocking original even once patched; so do locks, queues and sockets made
before patching. Call `monkey_patch` before importing such code. It warns
(`RuntimeWarning`) about the common case: a module imported earlier (outside the stdlib and
the runtime) whose module-level attribute is one of the originals it replaces.

`original(name)` is the unpatched module; `is_monkey_patched(name)` says whether it was
patched. The runtime's own modules (the hub, its pollers, the green modules) keep using
the originals: patching rebinds their references to the patched modules.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Iterable
from types import ModuleType
from typing import Any, NamedTuple

from runtime.green._copy import PRIVATE_ALIASES, fresh_import

__all__ = ["import_patched", "is_monkey_patched", "monkey_patch", "original"]

#: the groups monkey_patch knows, in the order they are patched, and the modules of each
GROUPS: dict[str, tuple[str, ...]] = {
    "socket": ("socket",),
    "ssl": ("ssl",),
    "select": ("select",),
    "selectors": ("selectors",),
    "time": ("time",),
    "thread": ("_thread", "threading", "queue"),
    "os": ("os",),
    "subprocess": ("subprocess",),
}
# eventlet's monkey_patch takes these too; there is no green version of them here
_UNSUPPORTED = ("psycopg", "MySQLdb", "builtins")
_ALIASES = {"thread": "_thread", "__builtin__": "builtins"}
# originals still fine after patching: holding them is not worth a warning
_HARMLESS = frozenset({"threading.current_thread", "_thread._count"})
# what the pure-Python patched modules import of each other (to build their originals)
_DEPENDS = {
    "socket": ("select", "selectors"),
    "selectors": ("select",),
    "ssl": ("select", "selectors", "socket"),
    "threading": ("_thread", "time"),
    "queue": ("_thread", "threading", "time"),
    "subprocess": ("os", "select", "selectors", "threading", "time"),
}

_snapshots: dict[str, ModuleType] = {}  # patched module -> its namespace before patching
_pristine: dict[str, ModuleType] = {}  # original() of a pure-Python module, made on demand


# ---------------------------------------------------------------- monkey_patch


class _Plan(NamedTuple):
    """What patching one module means."""

    sets: dict[str, Any]  # module attributes to set
    removed: tuple[str, ...] = ()  # module attributes to remove
    class_sets: tuple[tuple[type, str, Any], ...] = ()  # (class, attribute, value) to set


def monkey_patch(
    all: bool | None = None,
    socket: bool | None = None,
    select: bool | None = None,
    selectors: bool | None = None,
    time: bool | None = None,
    thread: bool | None = None,
    ssl: bool | None = None,
    os: bool | None = None,
    subprocess: bool | None = None,
    **others: bool,
) -> None:
    """Patch the stdlib in place so that blocking calls park the greenthread.

    With no argument, every group is patched. As with eventlet, naming a group True
    patches only the groups named True (unless ``all=True``); naming one False leaves it
    out. ``ssl`` follows ``socket`` and ``selectors`` follows ``select`` unless given.
    ``psycopg``, ``MySQLdb`` and ``builtins`` are accepted for eventlet's sake and left
    unpatched (with a RuntimeWarning when True).
    """
    for name, value in others.items():
        if name not in _UNSUPPORTED:
            raise TypeError(f"monkey_patch() got an unexpected keyword argument {name!r}")
        if value:
            warnings.warn(f"monkey_patch({name}=True): there is no green {name}; left unpatched", RuntimeWarning, 2)
    given = {"socket": socket, "select": select, "time": time, "thread": thread, "os": os, "subprocess": subprocess}
    default = all if all is not None else not any([*given.values(), selectors, ssl])
    want = {group: default if value is None else value for group, value in given.items()}
    want["ssl"] = want["socket"] if ssl is None else ssl
    want["selectors"] = want["select"] if selectors is None else selectors
    if want["ssl"] and "ssl" not in _snapshots:
        try:
            import runtime.green.ssl  # noqa: F401
        except ImportError:
            if ssl:
                raise
            want["ssl"] = False

    todo = [m for group, modules in GROUPS.items() if want[group] for m in modules if m not in _snapshots]
    if not todo:
        return
    plans = {m: _plan(m) for m in todo}  # imports every green module before anything changes
    originals = _originals(plans)
    for name, (sets, removed, class_sets) in plans.items():
        module = sys.modules[name]
        snapshot = ModuleType(module.__name__, module.__doc__)
        vars(snapshot).update(vars(module))
        _snapshots[name] = snapshot
        for attr, value in sets.items():
            setattr(module, attr, value)
        for attr in removed:
            delattr(module, attr)
        for cls, attr, value in class_sets:
            setattr(cls, attr, value)
    _keep_runtime_on_originals(plans)
    _warn_early_imports(originals)


def is_monkey_patched(name: str) -> bool:
    """True if the group (``"thread"``, ``"socket"``...) or module (``"threading"``) is patched."""
    if name in GROUPS:
        return all(m in _snapshots for m in GROUPS[name])
    return _ALIASES.get(name, name) in _snapshots


def original(name: str) -> ModuleType:
    """The module `name` as it is without patching.

    Unpatched: the module itself. Patched: for a built-in module (``_thread``, ``select``,
    ``time``), its attributes as they were; for a Python one (``socket``, ``threading``...),
    a separate copy imported over the originals, so that everything in it is real
    (``original("threading").Thread`` starts an OS thread). That copy's classes are not the
    patched module's: a socket made before patching is not an ``original("socket").socket``.
    """
    name = _ALIASES.get(name, name)
    snapshot = _snapshots.get(name)
    if snapshot is None:
        return importlib.import_module(name)
    if not (getattr(snapshot, "__file__", None) or "").endswith(".py"):
        return snapshot
    module = _pristine.get(name)
    if module is None:
        deps = [(dep, original(dep)) for dep in _DEPENDS.get(name, ()) if dep in _snapshots]
        module = _pristine[name] = fresh_import(name, deps)
    return module


def _plan(name: str) -> _Plan:
    # What patching `name` means: attributes to set, attributes to remove.
    real = importlib.import_module(name)
    if name == "socket":
        from runtime.green import socket as green

        return _Plan(_replacing(real, green))
    if name == "ssl":
        from runtime.green import socket as green_socket
        from runtime.green import ssl as green_ssl

        sets = _replacing(real, green_ssl, ("_create_default_https_context", "_create_unverified_context"))
        # Not the classes: the stdlib's own code names them (super(SSLContext, SSLContext) in
        # its setters, super(SSLSocket, self) in _create), so replacing them recurses. Every
        # context, new or old, makes green SSL sockets instead.
        sets.pop("SSLContext", None)
        sets.pop("SSLSocket", None)
        for alias, target in PRIVATE_ALIASES["ssl"].items():
            if target in sets and hasattr(real, alias):
                sets[alias] = sets[target]
        sets["create_connection"] = green_socket.create_connection  # ssl took it from socket
        return _Plan(sets, (), ((real.SSLContext, "sslsocket_class", green_ssl.SSLSocket),))
    if name == "select":
        from runtime.green import select as green

        return _Plan({"select": green.select})
    if name == "selectors":
        from runtime.green import selectors as green

        removed = ("PollSelector", "EpollSelector", "DevpollSelector", "KqueueSelector")
        sets = {"DefaultSelector": green.DefaultSelector, "SelectSelector": green.SelectSelector}
        return _Plan(sets, tuple(n for n in removed if hasattr(real, n)))
    if name == "time":
        from runtime.green import time as green

        return _Plan({"sleep": green.sleep})
    if name == "_thread":
        from runtime.green import thread as green

        return _Plan(_replacing(real, green, ("_local", "_set_sentinel", "_count", "_ThreadHandle", "_shutdown")))
    if name == "threading":
        from runtime.green import thread as green

        sets = {
            "_allocate_lock": green.allocate_lock,
            "_CRLock": green.RLock,  # threading.RLock() makes one of these
            "Lock": green.allocate_lock,
            "get_ident": green.get_ident,
            "local": green.local,
            "current_thread": green.current_thread_function(real),
            # how Thread starts and is joined: up to 3.12, then from 3.13 on
            "_start_new_thread": green.start_new_thread,
            "_set_sentinel": green._set_sentinel,
            "_start_joinable_thread": green.start_joinable_thread,
            "_ThreadHandle": green._ThreadHandle,
            "_thread_shutdown": green._shutdown,
        }
        return _Plan({attr: value for attr, value in sets.items() if hasattr(real, attr)})
    if name == "os":
        from runtime.green import os as green

        return _Plan({attr: getattr(green, attr) for attr in ("read", "write", "waitpid", "wait", "fdopen")})
    if name == "subprocess":
        from runtime.green import subprocess as green

        return _Plan({"Popen": green.Popen})
    if name == "queue":
        return _Plan({"SimpleQueue": real._PySimpleQueue} if hasattr(real, "_PySimpleQueue") else {})
    raise ValueError(f"no green version of {name!r}")


def _replacing(real: ModuleType, green: ModuleType, private: Iterable[str] = ()) -> dict[str, Any]:
    # The attributes of `real` that `green` has a different value for (public ones, and `private`).
    ns = vars(real)
    private = set(private)
    return {
        name: value
        for name, value in vars(green).items()
        if (not name.startswith("_") or name in private)
        and name in ns
        and ns[name] is not value
        and not isinstance(value, ModuleType)
    }


def _originals(plans: dict[str, _Plan]) -> dict[int, tuple[Any, str]]:
    # id -> (object, "module.attr") for every original that patching replaces or removes,
    # by its most public name when it has several (threading.Lock, not _thread.allocate_lock)
    found: dict[int, tuple[Any, str]] = {}
    for name, (sets, removed, _) in plans.items():
        module = sys.modules[name]
        for attr in (*sets, *removed):
            value = getattr(module, attr, None)
            where = f"{name}.{attr}"
            if not callable(value) or where in _HARMLESS:
                continue
            known = found.get(id(value))
            if known is None or _privacy(where) < _privacy(known[1]):
                found[id(value)] = (value, where)
    return found


def _privacy(dotted: str) -> tuple[bool, bool]:
    module, _, attr = dotted.rpartition(".")
    return module.startswith("_"), attr.startswith("_")


# Not the runtime's, but must stay on real threads too: the import system's module locks are
# taken by every OS thread (a tpool thread importing a codec), so green ones would deadlock.
_KEEP_REAL = ("importlib._bootstrap",)


def _keep_runtime_on_originals(plans: dict[str, _Plan]) -> None:
    # The runtime's modules that hold a patched module (the hub's pollers hold select and
    # selectors, the green modules their stdlib one) get its snapshot instead.
    swaps = {id(sys.modules[name]): _snapshots[name] for name in plans}
    for modname, module in list(sys.modules.items()):
        if module is None or modname == __name__:
            continue
        if not (modname == "runtime" or modname.startswith("runtime.") or modname in _KEEP_REAL):
            continue
        ns = vars(module)
        for attr, value in list(ns.items()):
            if isinstance(value, ModuleType) and id(value) in swaps:
                ns[attr] = swaps[id(value)]


def _warn_early_imports(originals: dict[int, tuple[Any, str]]) -> None:
    # Modules imported before patching (not the stdlib's, not ours) that hold an original.
    stdlib = sys.stdlib_module_names
    for modname, module in list(sys.modules.items()):
        top = modname.partition(".")[0]
        if not isinstance(module, ModuleType) or top in stdlib or top == "runtime":
            continue
        held = [
            f"{modname}.{attr} is the unpatched {hit[1]}"
            for attr, value in list(vars(module).items())
            if (hit := originals.get(id(value))) is not None and hit[0] is value
        ]
        if held:
            warnings.warn(
                f"{'; '.join(held)}: {modname!r} was imported before monkey_patch(), and this keeps blocking"
                f" the hub. Import it after monkey_patch(), or refer to the module's attribute at call time.",
                RuntimeWarning,
                stacklevel=3,
            )


# ---------------------------------------------------------------- import_patched


def import_patched(
    module_name: str,
    *additional_modules: tuple[str, ModuleType],
    **kw_additional_modules: ModuleType,
) -> ModuleType:
    """A fresh copy of `module_name`, imported with green modules in place of the stdlib's.

    `additional_modules` are ``(name, module)`` pairs, `kw_additional_modules` ``name=module``
    (``import_patched("ftplib", socket=runtime.green.socket)``); with neither, every green
    module there is (`GREEN_MODULES`), so a module doing ``import urllib.request`` gets
    the green one. Only `module_name` (and its submodules) are executed again: what else
    it imports is the ordinary module, imported normally if it was not yet. ``sys.modules``
    is left as it was (the copy is not in it); a dotted name such as ``"http.client"`` is
    seen as ``http.client`` by the copy, at import and afterwards.
    """
    green = [*additional_modules, *kw_additional_modules.items()] or _default_green_modules()
    return fresh_import(module_name, green)


#: what import_patched injects by default: stdlib module -> its green version
GREEN_MODULES = {
    "socket": "runtime.green.socket",
    "ssl": "runtime.green.ssl",
    "select": "runtime.green.select",
    "selectors": "runtime.green.selectors",
    "time": "runtime.green.time",
    "_thread": "runtime.green.thread",
    "threading": "runtime.green.threading",
    "os": "runtime.green.os",
    "subprocess": "runtime.green.subprocess",
    "socketserver": "runtime.green.socketserver",
    "http.client": "runtime.green.http.client",
    "http.server": "runtime.green.http.server",
    "urllib.request": "runtime.green.urllib.request",
}


def _default_green_modules() -> list[tuple[str, ModuleType]]:
    modules = []
    for name, green in GREEN_MODULES.items():
        try:
            modules.append((name, importlib.import_module(green)))
        except ImportError:  # ssl, in a Python built without it
            if name != "ssl":
                raise
    return modules

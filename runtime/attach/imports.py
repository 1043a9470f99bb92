"""Run code right after a module is imported, before whoever imported it gets it.

An adapter attaches to eventlet or gevent when the program imports it, whatever imports it
and however (``import gevent``, ``from gevent.queue import Queue``, a library's import),
and patches each submodule as it arrives, so the program only ever sees the patched names.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import traceback
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = ["AfterImport"]


class AfterImport(importlib.abc.MetaPathFinder):
    """A finder that calls ``callbacks[name](module)`` once module `name` has run.

    Modules imported already when it is installed get their callback at once. A callback
    that raises is reported on stderr: the program's import goes on regardless.
    """

    def __init__(self, callbacks: dict[str, Callable[[ModuleType], None]]) -> None:
        self.callbacks = callbacks

    def install(self) -> None:
        sys.meta_path.insert(0, self)
        for name in list(self.callbacks):
            module = sys.modules.get(name)
            if module is not None:
                self._call(name, module)

    def uninstall(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)

    def find_spec(self, name: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if name not in self.callbacks:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Then(spec.loader, lambda module: self._call(name, module))
                return spec
        return None

    def _call(self, name: str, module: ModuleType) -> None:
        callback = self.callbacks.pop(name, None)
        if callback is None:
            return
        try:
            callback(module)
        except Exception:
            print(f"greenscope: could not attach to {name}; it runs untraced there:", file=sys.stderr)
            traceback.print_exc()


class _Then(importlib.abc.Loader):
    """`loader`, then `then(module)` once the module has run."""

    def __init__(self, loader: Any, then: Callable[[ModuleType], None]) -> None:
        self.loader = loader
        self.then = then

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        self.then(module)

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename... for tracebacks and inspect
        return getattr(self.loader, name)

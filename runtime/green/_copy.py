"""Fresh copies of stdlib modules imported over substitutes: what the green modules are made of.

``fresh_import("http.client", [("socket", green_socket)])`` executes ``http.client`` again
with ``sys.modules["socket"]`` standing for the green socket while it runs, and returns
that private copy; ``sys.modules`` and the packages' attributes are put back as they were.
`adopt` fills a green module's namespace from such a copy. This module imports nothing of
the runtime: the green modules and `runtime.patcher` both build on it.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any

__all__ = ["adopt", "fresh_import"]

_MISSING: Any = object()
# private names that other stdlib modules reach for, and the green name standing for them
PRIVATE_ALIASES = {"ssl": {"_create_stdlib_context": "_create_unverified_context"}}
_overlays: dict[tuple[str, str], ModuleType] = {}  # (name, green module) -> what is injected for it


def fresh_import(module_name: str, substitutes: list[tuple[str, ModuleType]]) -> ModuleType:
    """A new copy of `module_name` (and its submodules), executed with `substitutes` in place.

    Its other imports are the ordinary modules (imported first, if they were not yet).
    A dotted substitute (``"http.client"``) is also what ``import http.client`` gives the
    copy: its package attribute is a view of the package holding the substitute.
    """
    injected = [(name, _injectable(name, module)) for name, module in substitutes if name != module_name]
    importlib.import_module(module_name)  # its other dependencies: the ordinary ones
    for name, _ in injected:
        if "." in name:
            importlib.import_module(name.rpartition(".")[0])
    modules = sys.modules
    prefix = module_name + "."
    saved = {n: modules[n] for n in list(modules) if n == module_name or n.startswith(prefix)}
    attrs: list[tuple[ModuleType, str, Any]] = []  # (package, attribute, value to put back)
    for name in [module_name] + [n for n, _ in injected if "." in n]:
        package, _, child = name.rpartition(".")
        if package:
            attrs.append((modules[package], child, vars(modules[package]).get(child, _MISSING)))
    for name in saved:
        del modules[name]
    for name, module in injected:
        saved.setdefault(name, modules.get(name, _MISSING))
        modules[name] = module
        package, _, child = name.rpartition(".")
        if package:
            setattr(modules[package], child, module)  # `import http.client; http.client.X`
    try:
        copy = importlib.import_module(module_name)
        fresh = [m for n, m in modules.items() if n == module_name or n.startswith(prefix)]
    finally:
        for name in [n for n in modules if n == module_name or n.startswith(prefix)]:
            if name not in saved:
                del modules[name]
        for name, module in saved.items():
            if module is _MISSING:
                modules.pop(name, None)
            else:
                modules[name] = module
        for package, child, value in reversed(attrs):
            if value is _MISSING:
                vars(package).pop(child, None)
            else:
                setattr(package, child, value)
    views = _package_views(injected)
    for module in fresh:
        ns = vars(module)
        for attr, value in list(ns.items()):
            view = views.get(id(value))
            if view is not None and isinstance(value, ModuleType):
                ns[attr] = view
    return copy


def adopt(namespace: dict[str, Any], module: ModuleType) -> None:
    """Make a green module's `namespace` hold everything `module` (a fresh copy) has."""
    keep = {"__name__", "__qualname__", "__file__", "__spec__", "__loader__", "__package__", "__path__"}
    keep |= {"__cached__", "__builtins__", "__doc__"}
    namespace.update({k: v for k, v in vars(module).items() if k not in keep})


def _injectable(name: str, module: ModuleType) -> ModuleType:
    # A green module lacks the stdlib module's private names (socket._GLOBAL_DEFAULT_TIMEOUT,
    # ssl._create_stdlib_context...) that other stdlib modules use: inject it with them.
    if not module.__name__.startswith("runtime.green."):
        return module
    key = (name, module.__name__)
    overlay = _overlays.get(key)
    if overlay is not None:
        return overlay
    try:
        real = importlib.import_module(name)  # patched or not, its private names are the stdlib's
    except ImportError:
        return module
    green_ns = vars(module)
    missing = {k: v for k, v in vars(real).items() if k[:1] == "_" and k[:2] != "__" and k not in green_ns}
    if not missing:
        return module
    for alias, target in PRIVATE_ALIASES.get(name, {}).items():
        if alias in missing and target in green_ns:
            missing[alias] = green_ns[target]
    overlay = _overlays[key] = ModuleType(module.__name__, module.__doc__)
    vars(overlay).update(missing)
    vars(overlay).update(green_ns)
    return overlay


def _package_views(injected: list[tuple[str, ModuleType]]) -> dict[int, ModuleType]:
    # For an injected "http.client": a copy of the package `http` whose `client` is the
    # green one, to stand for `http` in the fresh module (id of the real package -> view).
    tree: dict[str, Any] = {}
    for name, module in injected:
        parts = name.split(".")
        if len(parts) > 1:
            node = tree
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = module

    def view(name: str, node: dict[str, Any]) -> ModuleType:
        real = sys.modules[name]
        copy = ModuleType(real.__name__, real.__doc__)
        vars(copy).update(vars(real))
        for child, sub in node.items():
            setattr(copy, child, view(f"{name}.{child}", sub) if isinstance(sub, dict) else sub)
        return copy

    return {id(sys.modules[top]): view(top, node) for top, node in tree.items()}

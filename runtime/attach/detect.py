"""Which green-thread runtime a program is written for, from what it imports.

The program's source is read, not run: its imports, and those of the modules it imports from
its own directory, transitively. ``import eventlet`` (or ``from eventlet...``) makes it an
eventlet program, ``import gevent`` (or a library that is gevent's, such as locust) a gevent
one, ``import runtime`` a greenscope one.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import NamedTuple

__all__ = ["RUNTIMES", "Detection", "detect"]

RUNTIMES = ("greenscope", "eventlet", "gevent")

# top-level module -> the runtime importing it means
_MEANS = {
    "eventlet": "eventlet",
    "gevent": "gevent",
    "geventwebsocket": "gevent",
    "grequests": "gevent",
    "locust": "gevent",
    "runtime": "greenscope",
}
_MAX_FILES = 500  # a program's own modules read, at most


class Detection(NamedTuple):
    runtime: str | None  # None: nothing the program imports says
    why: str  # "imports gevent (app.py:3)", for the user


def detect(program: Path) -> Detection:
    """The runtime `program` is written for. eventlet and gevent win over greenscope (a program
    that uses both is not monkey-patched with ours); ValueError if it imports both of them."""
    found: dict[str, str] = {}  # runtime -> where its first import is
    for path, line, name in _imports(program):
        runtime = _MEANS.get(name)
        if runtime is not None and runtime not in found:
            found[runtime] = f"imports {name} ({path.name}:{line})"
    if "eventlet" in found and "gevent" in found:
        raise ValueError(f"it {found['eventlet']} and {found['gevent']}: say which with --runtime")
    for runtime in ("eventlet", "gevent", "greenscope"):
        if runtime in found:
            return Detection(runtime, found[runtime])
    return Detection(None, "it imports none of runtime, eventlet or gevent")


def _imports(program: Path) -> list[tuple[Path, int, str]]:
    """(file, line, top-level module) of every import of another module than the program's own,
    in `program` and in the modules of its directory it imports, breadth first."""
    home = program.resolve().parent
    seen: set[Path] = set()
    todo = [program.resolve()]
    out = []
    while todo and len(seen) < _MAX_FILES:
        path = todo.pop(0)
        if path in seen:
            continue
        seen.add(path)
        try:
            tree = ast.parse(path.read_bytes(), str(path))
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    local = _local(home, alias.name)
                    if local is None:
                        out.append((path, node.lineno, alias.name.partition(".")[0]))
                    else:  # one of its own: what it imports counts, not its name
                        todo.append(local)
            elif isinstance(node, ast.ImportFrom):
                base = home if node.level == 0 else path.parents[node.level - 1]
                module = node.module or ""
                local = _local(base, module) if module else None
                if node.level == 0 and local is None:
                    out.append((path, node.lineno, module.partition(".")[0]))
                    continue
                todo += [found for found in [local] if found is not None]
                for alias in node.names:  # `from package import module`
                    found = _local(base, f"{module}.{alias.name}" if module else alias.name)
                    if found is not None:
                        todo.append(found)
    return out


def _local(home: Path, name: str) -> Path | None:
    """The file of module `name` under `home` (the program's directory), if it is one of its own."""
    base = home.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate.resolve()
    return None

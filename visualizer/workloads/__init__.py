"""The built-in workloads: each a short program in this folder that declares its ``PARAMS``.

The server never imports them: it reads each file's docstring, its ``PARAMS`` literal and
its ``MONKEY_PATCH`` flag (default True) with `ast`, and runs the file only as a child
process (`visualizer.launcher`). A file here is a workload if it assigns ``PARAMS``.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from visualizer.workloads.schema import validate

__all__ = ["Workload", "workloads"]


@dataclass(frozen=True)
class Workload:
    name: str
    path: Path
    description: str
    params: dict[str, dict]
    monkey_patch: bool

    def validate(self, given: Any, allow_external: bool = False) -> dict[str, Any]:
        """`given` checked against the schema, with defaults filled in (`ParamError` naming the field)."""
        return validate(self.params, given, allow_external)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "params": [{"name": name, **spec} for name, spec in self.params.items()],
        }


def _read(path: Path) -> Workload | None:
    module = ast.parse(path.read_text(), str(path))
    literals = {
        node.targets[0].id: node.value
        for node in module.body
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
    }
    if "PARAMS" not in literals:
        return None
    patch = literals.get("MONKEY_PATCH")
    return Workload(
        name=path.stem,
        path=path,
        description=ast.get_docstring(module) or "",
        params=ast.literal_eval(literals["PARAMS"]),
        monkey_patch=True if patch is None else bool(ast.literal_eval(patch)),
    )


@functools.cache
def workloads() -> dict[str, Workload]:
    """Every built-in workload, by name."""
    found = (_read(path) for path in sorted(Path(__file__).parent.glob("*.py")))
    return {w.name: w for w in found if w is not None}

"""Where in the user's code something was created: the default name of pools and queues,
and the spawn site the tracer records."""

from __future__ import annotations

import os
import sys

__all__ = ["creation_site"]

_RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_formatted: dict[tuple[object, int], str] = {}  # (code, line) -> "file:line": formatted once


def creation_site() -> str:
    """``file:line`` of the innermost caller outside the runtime package (a walk of a few frames)."""
    f = sys._getframe(1)
    while f.f_back is not None and f.f_code.co_filename.startswith(_RUNTIME_DIR):
        f = f.f_back
    key = (f.f_code, f.f_lineno)
    site = _formatted.get(key)
    if site is None:
        site = _formatted[key] = f"{f.f_code.co_filename}:{f.f_lineno}"
    return site

"""Where in the user's code something happens: the default name of pools and queues, the spawn
site and the line a greenthread is parked on, as the tracer records them.

The user's code is the first frame, walking out from the current one, that is not the
runtime's, not the standard library's, and not a library registered with `not_the_users`
(the adapters that trace eventlet and gevent register those): for a greenthread blocked in
``urllib.request.urlopen`` that is the line calling it, not ``http/client.py``. What a
frame is is decided once per file, and each location is formatted once. Code objects are looked
up by id (hashing one hashes its bytecode), each entry keeping its code, so that a new code at a
freed one's address is not taken for it.

The walk is `runtime._frames`, a C helper that reads the interpreter's frames where it was
built (from Python 3.11 on, each frame a walk in Python looks at is an object Python makes on
demand); else, or with ``GREENSCOPE_PURE_PYTHON=1`` in the environment, the same walk in Python.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Callable
from typing import Any

import greenlet

__all__ = ["code_location", "creation_site", "not_the_users"]

_prefixes: list[str] = [  # grows in place (`not_the_users`): the C locator holds it
    os.path.dirname(os.path.abspath(__file__)) + os.sep,
    *{os.path.join(sysconfig.get_paths()[k], "") for k in ("stdlib", "platstdlib")},
]
_internal: dict[str, bool] = {}  # a code's file name -> not the user's
_sites: dict[tuple[int, int], tuple[Any, str]] = {}  # (id(code), line) -> (code, "file:line")
_locations: dict[tuple[int, int], tuple[Any, str]] = {}  # (id(code), line) -> (code, "file:line in function")
_QUALNAME = "co_qualname" if sys.version_info >= (3, 11) else "co_name"


def _walk_in_python(
    depth: int,
    internal: dict[str, bool],
    prefixes: tuple[str, ...] | list[str],
    names: dict[tuple[int, int], tuple[Any, str]],
) -> str | tuple[Any, int] | None:
    """`runtime._frames.users_code` in Python: the first frame `depth` frames out of the caller whose
    file is not under `prefixes`, as its name in `names` if it has one there, else (code, line); or None."""
    try:
        f: Any = sys._getframe(depth + 1)
    except ValueError:  # the stack is not that deep
        return None
    while f is not None:
        name = f.f_code.co_filename
        inside = internal.get(name)  # (a str keeps its hash: the cheapest key there is)
        if inside is None:
            inside = internal[name] = name.startswith(tuple(prefixes))
        if not inside:
            code, line = f.f_code, f.f_lineno
            known = names.get((id(code), line))
            return known[1] if known is not None and known[0] is code else (code, line)
        f = f.f_back
    return None


try:
    if os.environ.get("GREENSCOPE_PURE_PYTHON"):
        raise ImportError("the walk in Python was asked for")
    from runtime import _frames
except ImportError:  # not built here (no compiler, another interpreter): the walk in Python
    _frames = None  # type: ignore[assignment]
_walk: Callable[..., str | tuple[Any, int] | None] = _walk_in_python if _frames is None else _frames.users_code


def not_the_users(directory: str) -> None:
    """Code under `directory` is a library's, not the user's (eventlet's, gevent's)."""
    prefix = os.path.join(os.path.abspath(directory), "")
    if prefix not in _prefixes:
        _prefixes.append(prefix)
        _internal.clear()
        if _frames is not None:
            _frames.forget()  # what the C walk kept of `_internal`


def creation_site() -> str:
    """``file:line`` of the innermost caller outside the runtime and the standard library; in a greenthread
    the runtime runs for the user (imap's spawner), the user's line it stands for (its ``_gs_site``); else
    the outermost frame's."""
    found = _walk(1, _internal, _prefixes, _sites)
    if found is None:
        site = getattr(greenlet.getcurrent(), "_gs_site", None)
        if site is not None:
            return site
        f = sys._getframe(1)
        while f.f_back is not None:
            f = f.f_back
        found = f.f_code, f.f_lineno
    return found if type(found) is str else _name(_sites, *found, False)


def _code_location_in_python(skip: int = 0) -> str | None:
    """``file:line in function`` of the innermost caller outside the runtime and the standard library,
    or None if there is none. `skip`: how many callers out are known to be the runtime's (not looked
    at: in Python each frame looked at is one Python makes an object for)."""
    found = _walk(1 + skip, _internal, _prefixes, _locations)
    return found if found is None or type(found) is str else _name(_locations, *found, True)


def _name_location(code: Any, line: int) -> str:
    return _name(_locations, code, line, True)


code_location: Callable[..., str | None] = _code_location_in_python
"""`_code_location_in_python`; where `runtime._frames` is built, the same as a C object (no Python frame:
the recorder's C hooks call it for every block)."""
if _frames is not None:
    code_location = _frames.Locator(_internal, _prefixes, _locations, _name_location)


def _name(names: dict[tuple[int, int], tuple[Any, str]], code: Any, line: int, function: bool) -> str:
    """``file:line`` of `code` at `line` (with `function`: `` in`` its function), kept in `names`."""
    text = f"{code.co_filename}:{line}" + (f" in {getattr(code, _QUALNAME)}" if function else "")
    names[(id(code), line)] = (code, text)
    return text

"""What a greenthread that calls its hub's switch waits for, read from its frames.

When a greenthread of eventlet or gevent switches to its hub, the frame that called the hub's
switch is the library function it waits in (``trampoline``, ``Event.wait``, ``gevent.sleep``...),
or a Python method standing for a compiled one. `Parking` maps those functions' code objects to
rules that read the frame (its line, its locals) and say why it parks: ``(reason, obj,
detail)``, or None for a yield (``sleep(0)``). A rule found first may be refined by a rule a
frame or two further out (a semaphore's acquire inside a pool's spawn is a wait for a pool
slot). A park no rule knows is reported as `UNKNOWN`: never as a yield, which would hide the wait.
"""

from __future__ import annotations

import dis
import os
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

__all__ = ["DEPTH", "REFINE", "UNKNOWN", "Parking", "Rule", "Why", "code_of", "lines_calling", "local", "self_is"]

Why = tuple[str, Any, Any]
"""(reason, the object waited on or None, detail: the fd or the timeout)."""
Rule = Callable[[FrameType], "Why | None"]

UNKNOWN = "unknown"
"""The reason of a park no rule explains (a wait inside compiled code the adapter cannot see)."""

_UNKNOWN: Why = (UNKNOWN, None, None)
DEPTH = 8
"""Frames looked at for a first rule."""
REFINE = 2
"""Frames further out looked at for a refining one."""


def _local(frame: FrameType, name: str, *default: Any) -> Any:
    """``frame.f_locals[name]``, or ``.get(name, default)``."""
    if default:
        return frame.f_locals.get(name, *default)
    return frame.f_locals[name]


local: Callable[..., Any] = _local
"""local(frame, name[, default]): one local of `frame`, as ``frame.f_locals`` has it (KeyError, or the
default, where it has none). From Python 3.11 on, ``f_locals`` builds a dict of every local (3.13: a proxy)."""
if not os.environ.get("GREENSCOPE_PURE_PYTHON"):
    try:
        from runtime.attach._switches import local
    except ImportError:  # not built here: f_locals
        pass


def code_of(func: Any) -> CodeType:
    """The code object of a function, a method or a staticmethod."""
    func = getattr(func, "__func__", func)
    return func.__code__


def _numbered(code: CodeType) -> list[tuple[dis.Instruction, int | None]]:
    """Each instruction of `code` with the line it belongs to (3.11+ says so on each; 3.10 on a line's first)."""
    out, line = [], None
    for ins in dis.get_instructions(code):
        positions = getattr(ins, "positions", None)
        if positions is not None:
            line = positions.lineno
        elif ins.starts_line is not None:
            line = ins.starts_line
        out.append((ins, line))
    return out


def lines_calling(func: Any, method: str) -> frozenset[int]:
    """The lines of `func` that call a method named `method` (where a frame suspended in that call is)."""
    return frozenset(
        line
        for ins, line in _numbered(code_of(func))
        if ins.argval == method and ins.opname in ("LOAD_ATTR", "LOAD_METHOD") and line is not None
    )


class Parking:
    """Rules per code object; `why(frame)` applies them to the frames of a greenthread on its way to the hub."""

    def __init__(self) -> None:
        #: id(code) -> (rule, final) (read by the trace in C too)
        self.rules: dict[int, tuple[Rule, bool]] = {}
        # Tested first, with no call (``sleep(0)`` is the hottest way to the hub): per code, the
        # offsets where a frame suspended in it yields, or the name of a local that says it yields
        # when it is <= 0 (a sleep's seconds). Codes are keyed by id: hashing one hashes its bytecode.
        self.yields: dict[int, frozenset[int] | str] = {}
        #: called after `yields` or `rules` change (the trace in C keeps what it read of them)
        self.on_change: list[Callable[[], None]] = []

    def add_yield(self, func: Any, *, calling: str | None = None, unless: str | None = None) -> None:
        """A frame of `func` on a line `calling` that method yields; or, one whose local `unless` is
        <= 0 does (a sleep of no time). Either way it does not park."""
        code = code_of(func)
        if unless is not None:
            self.yields[id(code)] = unless
        else:
            lines = lines_calling(func, calling or "")
            self.yields[id(code)] = frozenset(ins.offset for ins, line in _numbered(code) if line in lines)
        for changed in self.on_change:
            changed()

    def add(self, func: Any, rule: Rule, *, final: bool = True) -> None:
        """Explain a park inside `func` with `rule`. One that is not `final` (a primitive that pools
        and locks are built on) may be refined by a rule one or two frames further out."""
        self.rules[id(code_of(func))] = (rule, final)
        for changed in self.on_change:
            changed()

    def why(self, frame: FrameType | None) -> Why | None:
        """Why the greenthread whose innermost frame (of Python code) is `frame` parks; None if it yields."""
        rules = self.rules
        for _ in range(DEPTH):
            if frame is None:
                return _UNKNOWN
            found = rules.get(id(frame.f_code))
            if found is not None:
                break
            frame = frame.f_back
        else:
            return _UNKNOWN
        rule, final = found
        why = rule(frame)
        if final or why is None:
            return why
        outer = frame.f_back
        for _ in range(REFINE):
            if outer is None:
                break
            found = rules.get(id(outer.f_code))
            if found is not None and found[1]:
                return found[0](outer)
            outer = outer.f_back
        return why


def self_is(reason: str, view: Callable[[Any], Any] = lambda obj: obj, timeout: str | None = "timeout") -> Rule:
    """A rule for a method that waits on ``self``: `reason`, `view(self)`, and its argument named
    `timeout` as the detail (None: it takes no timeout)."""

    def rule(frame: FrameType) -> Why:
        return reason, view(local(frame, "self")), None if timeout is None else local(frame, timeout, None)

    return rule

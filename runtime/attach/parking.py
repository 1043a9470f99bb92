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
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

__all__ = ["UNKNOWN", "Parking", "Rule", "Why", "code_of", "lines_calling", "self_is"]

Why = tuple[str, Any, Any]
"""(reason, the object waited on or None, detail: the fd or the timeout)."""
Rule = Callable[[FrameType], "Why | None"]

UNKNOWN = "unknown"
"""The reason of a park no rule explains (a wait inside compiled code the adapter cannot see)."""

_UNKNOWN: Why = (UNKNOWN, None, None)
_DEPTH = 8  # frames looked at for a first rule
_REFINE = 2  # frames further out looked at for a refining one


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
        self._rules: dict[int, tuple[Rule, bool]] = {}  # id(code) ->
        # Tested first, with no call (``sleep(0)`` is the hottest way to the hub): per code, the
        # offsets where a frame suspended in it yields, or the name of a local that says it yields
        # when it is <= 0 (a sleep's seconds). Codes are keyed by id: hashing one hashes its bytecode.
        self.yields: dict[int, frozenset[int] | str] = {}

    def add_yield(self, func: Any, *, calling: str | None = None, unless: str | None = None) -> None:
        """A frame of `func` on a line `calling` that method yields; or, one whose local `unless` is
        <= 0 does (a sleep of no time). Either way it does not park."""
        code = code_of(func)
        if unless is not None:
            self.yields[id(code)] = unless
            return
        lines = lines_calling(func, calling or "")
        self.yields[id(code)] = frozenset(ins.offset for ins, line in _numbered(code) if line in lines)

    def add(self, func: Any, rule: Rule, *, final: bool = True) -> None:
        """Explain a park inside `func` with `rule`. One that is not `final` (a primitive that pools
        and locks are built on) may be refined by a rule one or two frames further out."""
        self._rules[id(code_of(func))] = (rule, final)

    def why(self, frame: FrameType | None) -> Why | None:
        """Why the greenthread whose innermost frame (of Python code) is `frame` parks; None if it yields."""
        rules = self._rules
        for _ in range(_DEPTH):
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
        for _ in range(_REFINE):
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
        local = frame.f_locals
        return reason, view(local["self"]), None if timeout is None else local.get(timeout)

    return rule

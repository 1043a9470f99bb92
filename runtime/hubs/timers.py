"""A hub's timer: a callback due at a deadline on the hub's clock (the hub keeps them in a heap)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.hubs.hub import Hub

__all__ = ["Timer"]


class Timer:
    """A callback due at `deadline` on the hub's clock; `cancel()` withdraws it."""

    __slots__ = ("active", "args", "callback", "deadline", "hub")

    def __init__(self, hub: Hub, deadline: float, callback: Callable[..., Any], args: tuple) -> None:
        self.hub = hub
        self.deadline = deadline
        self.callback = callback
        self.args = args
        self.active = True

    @property
    def pending(self) -> bool:
        return self.active

    def cancel(self) -> None:
        if self.active:
            self.active = False
            self.hub._timer_cancelled()

    def __repr__(self) -> str:
        return f"<Timer at {self.deadline:.6f} {getattr(self.callback, '__qualname__', self.callback)}>"

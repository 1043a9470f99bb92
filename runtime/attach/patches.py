"""Attributes set on other libraries' modules and classes, and put back as they were."""

from __future__ import annotations

from typing import Any

__all__ = ["Patches"]

_ABSENT = object()


class Patches:
    """Sets attributes and remembers what was there; `undo` restores them, last first."""

    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any]] = []

    def set(self, owner: Any, name: str, value: Any) -> None:
        """``owner.name = value`` (on the owner itself: a class's own attribute, not an inherited one)."""
        self._saved.append((owner, name, vars(owner).get(name, _ABSENT)))
        setattr(owner, name, value)

    def original(self, owner: Any, name: str) -> Any:
        """What ``owner.name`` was before this set it (or is, if this did not set it)."""
        for who, what, value in self._saved:
            if who is owner and what == name:
                return getattr(owner, name) if value is _ABSENT else value
        return getattr(owner, name)

    def undo(self) -> None:
        while self._saved:
            owner, name, value = self._saved.pop()
            if value is _ABSENT:
                delattr(owner, name)
            else:
                setattr(owner, name, value)

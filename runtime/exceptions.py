"""Exceptions from eventlet-style arguments."""

from __future__ import annotations

__all__ = ["exception_from"]


def exception_from(args: tuple, default: type[BaseException] | None = None) -> BaseException:
    """An exception instance from a class, an instance, ``(class, value)`` or
    ``(class, value, traceback)``; `default()` when `args` is empty (if given)."""
    if not args:
        if default is None:
            raise TypeError("an exception class or instance is needed")
        return default()
    first = args[0]
    if isinstance(first, BaseException):
        return first
    if isinstance(first, type) and issubclass(first, BaseException):
        value = args[1] if len(args) > 1 else None
        if isinstance(value, BaseException):
            exc = value
        elif value is None:
            exc = first()
        elif isinstance(value, tuple):
            exc = first(*value)
        else:
            exc = first(value)
        if len(args) > 2 and args[2] is not None:
            exc = exc.with_traceback(args[2])
        return exc
    raise TypeError(f"an exception class or instance is needed, got {first!r}")

"""Debugging switches, under eventlet's names."""

from __future__ import annotations

from runtime.hubs import get_hub

__all__ = ["hub_exceptions"]


def hub_exceptions(state: bool = True) -> None:
    """Print (True, the default) or not the traceback of an exception that escapes a
    greenthread or a timer callback of this thread's hub."""
    get_hub().report_exceptions = bool(state)

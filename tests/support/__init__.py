"""Helpers shared by the test packages (no tests here)."""


def code_name(fn) -> str:
    """How a location names ``fn``'s code: its qualified name where Python keeps one (3.11+)."""
    return getattr(fn.__code__, "co_qualname", fn.__name__)

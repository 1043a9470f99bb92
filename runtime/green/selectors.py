"""A green `selectors`: `DefaultSelector` is a `SelectSelector` that parks the greenthread.

Its ``select()`` waits through the hub (the green ``select.select``), so the other
greenthreads run meanwhile; registering, modifying and the returned keys are the stdlib's.
`PollSelector`, `EpollSelector`, `DevpollSelector` and `KqueueSelector` are left out (they
would block the hub), so code that picks the best selector it finds gets the green one.
"""

from __future__ import annotations

import selectors as _stdlib
from selectors import EVENT_READ, EVENT_WRITE, BaseSelector, SelectorKey, _BaseSelectorImpl, _SelectorMapping
from typing import Any

from runtime.green import select as _green_select

__all__ = ["EVENT_READ", "EVENT_WRITE", "BaseSelector", "DefaultSelector", "SelectSelector", "SelectorKey"]

_ = (_BaseSelectorImpl, _SelectorMapping)  # re-exported for code that subclasses them


class SelectSelector(_stdlib.SelectSelector):
    """The stdlib's SelectSelector, waiting in the hub instead of in ``select(2)``.

    As with the green select, one fd can be waited on for reading (or writing) by one
    greenthread at a time.
    """

    def _select(self, r: Any, w: Any, x: Any, timeout: float | None = None) -> tuple:
        return _green_select.select(r, w, x, timeout)


DefaultSelector = SelectSelector

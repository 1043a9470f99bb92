"""A python-socketio client that handles a server's messages in the order they came.

python-engineio's client hands each message to a thread of its own, so a batch's binary
attachment can be handled before the packet it belongs to (which then fails to decode,
and the events are lost). The page's client reads them in order; so does this one: its
handlers run in the thread that reads the socket, so they must not block.
"""

from __future__ import annotations

from typing import Any

import engineio
import socketio

__all__ = ["OrderedClient"]


class _InOrder(engineio.Client):
    def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "message":
            kwargs["run_async"] = False
        return super()._trigger_event(event, *args, **kwargs)


class OrderedClient(socketio.Client):
    """`socketio.Client`, its messages handled in order (and text frames not checked for UTF-8 byte by byte in
    Python: a batch's header of megabytes would take the client seconds)."""

    def __init__(self, **options: Any) -> None:
        options.setdefault("websocket_extra_options", {"skip_utf8_validation": True})
        super().__init__(**options)

    def _engineio_client_class(self) -> type:
        return _InOrder

    def _handle_eio_message(self, data: Any) -> None:
        # a batch's attachment that comes in after the client dropped its connection (and the batch's header with
        # it, as python-socketio does) belongs to no packet: the client has left, it is not for anyone
        if isinstance(data, bytes) and self._binary_packet is None and not self.connected:
            return
        super()._handle_eio_message(data)

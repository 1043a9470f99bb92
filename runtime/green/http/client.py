"""A green `http.client`: the stdlib's module, imported over green socket, ssl and time.

Connections park the greenthread while they connect, send and wait for the response;
HTTPS goes through `runtime.green.ssl` (give ``HTTPSConnection`` a context made by
``runtime.green.ssl``, or none).

This is a copy of the stdlib module (`runtime.green._copy.fresh_import`): its classes and
exceptions are not ``http.client``'s.
"""

from __future__ import annotations

from runtime.green import socket as _green_socket
from runtime.green import ssl as _green_ssl
from runtime.green import time as _green_time
from runtime.green._copy import adopt, fresh_import

adopt(
    globals(),
    fresh_import("http.client", [("socket", _green_socket), ("ssl", _green_ssl), ("time", _green_time)]),
)

"""A green `urllib.request`: the stdlib's module over the green http.client, socket, ssl and time.

``urlopen(url).read()`` parks the calling greenthread while it connects and reads, so
many fetches run at once. https goes through `runtime.green.ssl` (pass a ``context``
made by ``runtime.green.ssl``, or none). ``ftp:`` URLs go through the stdlib's ftplib and
block.

This is a copy of the stdlib module (`runtime.green._copy.fresh_import`): its classes are
not ``urllib.request``'s; its errors are ``urllib.error``'s.
"""

from __future__ import annotations

from runtime.green import socket as _green_socket
from runtime.green import ssl as _green_ssl
from runtime.green import time as _green_time
from runtime.green._copy import adopt, fresh_import
from runtime.green.http import client as _green_client

adopt(
    globals(),
    fresh_import(
        "urllib.request",
        [("http.client", _green_client), ("socket", _green_socket), ("ssl", _green_ssl), ("time", _green_time)],
    ),
)

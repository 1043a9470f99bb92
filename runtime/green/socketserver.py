"""A green `socketserver`: the stdlib's module over the green socket, select, selectors,
threading, os and time.

``serve_forever()`` waits for connections by parking the greenthread, ``ThreadingMixIn``
handles each request in a greenthread, ``ForkingMixIn`` reaps its children with the
green ``os.waitpid``. This is a copy of the stdlib module (`runtime.green._copy.fresh_import`):
its classes are not ``socketserver``'s.
"""

from __future__ import annotations

from runtime.green import os as _green_os
from runtime.green import select as _green_select
from runtime.green import selectors as _green_selectors
from runtime.green import socket as _green_socket
from runtime.green import threading as _green_threading
from runtime.green import time as _green_time
from runtime.green._copy import adopt, fresh_import

adopt(
    globals(),
    fresh_import(
        "socketserver",
        [
            ("os", _green_os),
            ("select", _green_select),
            ("selectors", _green_selectors),
            ("socket", _green_socket),
            ("threading", _green_threading),
            ("time", _green_time),
        ],
    ),
)

"""A green `http.server`: the stdlib's module over the green socketserver, socket, select,
os and time.

``HTTPServer(addr, SimpleHTTPRequestHandler).serve_forever()`` in a greenthread serves
while the others run; ``ThreadingHTTPServer`` handles each request in a greenthread. This
is a copy of the stdlib module (`runtime.green._copy.fresh_import`): its classes are not
``http.server``'s.
"""

from __future__ import annotations

from runtime.green import os as _green_os
from runtime.green import select as _green_select
from runtime.green import socket as _green_socket
from runtime.green import socketserver as _green_socketserver
from runtime.green import time as _green_time
from runtime.green._copy import adopt, fresh_import

adopt(
    globals(),
    fresh_import(
        "http.server",
        [
            ("os", _green_os),
            ("select", _green_select),
            ("socket", _green_socket),
            ("socketserver", _green_socketserver),
            ("time", _green_time),
        ],
    ),
)

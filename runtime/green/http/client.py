"""A green `http.client`: the stdlib's module, imported over green socket, ssl and time.

Connections park the greenthread while they connect, send and wait for the response.
HTTPS uses `runtime.green.ssl` when it is there (give ``HTTPSConnection`` a context made
by ``runtime.green.ssl``, or none); without it, ``HTTPSConnection`` uses the stdlib's ssl,
which blocks the hub during TLS I/O.

This is a copy of the stdlib module (`runtime.patcher.import_patched`): its classes and
exceptions are not ``http.client``'s.
"""

from __future__ import annotations

from types import ModuleType

from runtime.green import socket as _green_socket
from runtime.green import time as _green_time
from runtime.patcher import _adopt, import_patched

_green: list[tuple[str, ModuleType]] = [("socket", _green_socket), ("time", _green_time)]
try:
    from runtime.green import ssl as _green_ssl
except ImportError:  # pragma: no cover - the green ssl is optional
    pass
else:
    _green.append(("ssl", _green_ssl))

_adopt(globals(), import_patched("http.client", *_green))

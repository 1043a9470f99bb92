"""What the server writes, in eventlet's words: a text file or a `logging.Logger`.

    (4242) wsgi starting up on http://127.0.0.1:8090
    (4242) accepted ('127.0.0.1', 51234)
    127.0.0.1 - - [30/Nov/2026 09:03:54] "GET / HTTP/1.1" 200 15 0.000175
    wsgi exiting
    (4242) wsgi exited, is_accepting=True

The access lines follow `log_format`; "accepted" lines are written only with ``debug=True`` (the
default); a logger gets the access and start/stop lines at INFO, "accepted" at DEBUG, tracebacks at
ERROR. A log that fails to write is ignored: it never breaks the server.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

from runtime.green import socket as gsocket
from runtime.wsgi.dates import log_date


def socket_url(sock: Any) -> str:
    """The listener as eventlet names it: ``http://127.0.0.1:8090``, ``https://[::1]:443``, a path."""
    scheme = "https" if hasattr(sock, "do_handshake") else "http"
    name = sock.getsockname()
    if sock.family == gsocket.AF_INET:
        return f"{scheme}://{name[0]}:{name[1]}"
    if sock.family == gsocket.AF_INET6:
        return f"{scheme}://[{name[0]}]:{name[1]}"
    return f"{scheme}:{name if isinstance(name, str) else repr(name)}"


class ServerLog:
    """The server's lines, to `log`: a text file (default ``sys.stderr``), or a logger (anything with
    ``info`` and ``debug`` methods)."""

    def __init__(self, log: Any, log_format: str, debug: bool, log_x_forwarded_for: bool) -> None:
        self.pid = os.getpid()
        self.format = log_format
        self.forwarded_for = log_x_forwarded_for
        if callable(getattr(log, "info", None)) and callable(getattr(log, "debug", None)):
            self.file = sys.stderr  # wsgi.errors
            self._info = log.info
            self._debug = log.debug if debug else None
            self._error = getattr(log, "error", log.info)
        else:
            self.file = log if log is not None else sys.stderr
            self._info = self._error = self._write
            self._debug = self._write if debug else None

    def _write(self, line: str) -> None:
        self.file.write(line + "\n")

    def info(self, line: str) -> None:
        try:
            self._info(line)
        except Exception:
            pass

    def debug(self, line: str) -> None:
        if self._debug is not None:
            try:
                self._debug(line)
            except Exception:
                pass

    def exception(self, exc: BaseException, where: str) -> None:
        """A traceback, after a line saying where it happened."""
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        try:
            self._error(f"{where}:\n{text.rstrip()}")
        except Exception:
            pass

    def access(
        self,
        client_ip: str,
        client_port: str,
        request_line: str,
        status: int,
        length: int,
        seconds: float,
        forwarded_for: str | None = None,
    ) -> None:
        """One access line; with `log_x_forwarded_for`, the X-Forwarded-For addresses come before the
        client's own (``203.0.113.9,127.0.0.1``)."""
        if forwarded_for and self.forwarded_for:
            client_ip = f"{forwarded_for.replace(' ', '')},{client_ip}"
        self.info(
            self.format
            % {
                "client_ip": client_ip,
                "client_port": client_port,
                "date_time": log_date(),
                "request_line": request_line,
                "status_code": status,
                "body_length": length,
                "wall_seconds": seconds,
            }
        )

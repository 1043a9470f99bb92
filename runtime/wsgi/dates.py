"""The Date header and the access log's timestamp, formatted once a second."""

from __future__ import annotations

import time
from email.utils import formatdate

_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_second = -1
_date_header = ""
_log_date = ""


def _tick() -> None:
    global _second, _date_header, _log_date
    second = int(time.time())
    if second != _second:
        _second = second
        _date_header = f"Date: {formatdate(second, usegmt=True)}\r\n"
        t = time.localtime(second)
        _log_date = f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon]}/{t.tm_year} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"


def date_header() -> str:
    """``Date: ...\\r\\n`` for a response sent now."""
    if int(time.time()) != _second:  # (each response asks: the check without a call)
        _tick()
    return _date_header


def log_date() -> str:
    """Now, as the access log writes it (``30/Nov/2026 09:03:54``, local time)."""
    _tick()
    return _log_date

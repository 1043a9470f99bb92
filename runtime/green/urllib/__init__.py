"""A green `urllib` package: `request` is green; `error`, `parse` and `response` are the
stdlib's (they do no I/O).

    from runtime.green.urllib import request
    body = request.urlopen("http://127.0.0.1:8000/").read()
"""

from __future__ import annotations

from urllib import error, parse, response

__all__ = ["error", "parse", "response"]

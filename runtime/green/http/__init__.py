"""A green `http` package: the stdlib's `http` (HTTPStatus...), with a green `client` and `server`
(``from runtime.green.http import client, server``)."""

from __future__ import annotations

from http import *  # noqa: F403
from http import __all__  # noqa: F401

"""Who may talk to the dashboard: the checks every request passes before it reaches a view.

- **Host** (every request, Socket.IO's included): the name the browser asked for must be
  one the server serves under — the address it is bound to (and ``localhost`` for
  loopback), or a name given in ``allowed_hosts``. A page on another name that resolves
  here (DNS rebinding) gets 421. A server bound to every address (0.0.0.0) has a token.
- **Token** (when the server has one): ``Authorization: Bearer ...``, Socket.IO's ``auth``,
  or the cookie set by the first page load: that load alone may carry it as ``?token=``,
  and is redirected to the same address without it. Socket.IO's handshake needs the
  cookie or the header, so that nobody without the token costs the server a session.
- **Same origin** for what changes state (POST, PUT, PATCH, DELETE): an ``Origin`` header,
  if sent, must be this server's, and the request must say it is the page's own: the
  ``X-Greenscope`` header (which another origin cannot send without the CORS preflight
  this server never answers) or the browser's ``Sec-Fetch-Site: same-origin``.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, jsonify, redirect, request
from werkzeug.wrappers import Request

__all__ = ["CSRF_HEADER", "TOKEN_COOKIE", "HostGuard", "Policy", "is_loopback", "needs_token"]

TOKEN_COOKIE = "greenscope_token"
CSRF_HEADER = "X-Greenscope"
_DEFAULT_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})  # served without a token
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def needs_token(host: str) -> bool:
    """Whether serving on `host` requires a token: any host but 127.0.0.1 (localhost, ::1) does."""
    return host not in _DEFAULT_HOSTS


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address) is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _unspecified(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def host_of(header: str) -> str:
    """The name in a Host header, without its port (``[::1]:5000`` -> ``::1``), lower-cased."""
    try:
        return (urlsplit(f"//{header}").hostname or "").lower()
    except ValueError:
        return ""


class Policy:
    """The dashboard's rules: its token, and the names it serves under."""

    def __init__(self, host: str, token: str | None, allowed_hosts: Iterable[str] = ()) -> None:
        self.token = token
        self.any_host = _unspecified(host)
        self.hosts = {host.lower(), *(h.lower() for h in allowed_hosts)} | (
            {"localhost"} if is_loopback(host) else set()
        )

    def host_allowed(self, header: str | None) -> bool:
        return self.any_host or (header is not None and host_of(header) in self.hosts)

    def authorized(self, token: Any) -> bool:
        expected = self.token
        return expected is None or (isinstance(token, str) and hmac.compare_digest(token, expected))

    def presented(self, environ_headers: Any, cookies: Any) -> str | None:
        """The token a request shows in its Authorization header or its cookie."""
        header = environ_headers.get("Authorization", "")
        return header.removeprefix("Bearer ") if header.startswith("Bearer ") else cookies.get(TOKEN_COOKIE)

    def install(self, app: Flask, error: Callable[[int, str, str | None], tuple[Response, int]]) -> None:
        """Check each request (token, same origin) before its view; set the cookie from the first page load."""

        @app.before_request
        def check() -> Any:
            if request.path == "/" and request.method == "GET" and "token" in request.args:
                return self._first_load()
            if not self.authorized(self.presented(request.headers, request.cookies)):
                return error(
                    401, "a valid token is required (Authorization: Bearer ..., or the page's cookie)", "token"
                )
            if request.method in _UNSAFE:
                origin = request.headers.get("Origin")
                if origin is not None and origin != f"{request.scheme}://{request.host}":
                    return error(403, f"requests from {origin} may not change anything here", "Origin")
                if CSRF_HEADER not in request.headers and request.headers.get("Sec-Fetch-Site") != "same-origin":
                    return error(403, f"a request that changes something needs the {CSRF_HEADER} header", CSRF_HEADER)
            return None

    def _first_load(self) -> Any:
        token = request.args.get("token")
        if not self.authorized(token):
            return jsonify({"error": "a valid token is required", "field": "token"}), 401
        query = urlencode([(k, v) for k, v in request.args.items(multi=True) if k != "token"])
        response = redirect("/" + (f"?{query}" if query else ""), 303)
        if self.token is not None:
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
        return response


class HostGuard:
    """WSGI middleware around the whole app (Socket.IO included): the Host check, and the
    token and a free viewer slot before a Socket.IO handshake."""

    def __init__(self, wsgi_app: Any, policy: Policy, sockets: Callable[[], int], max_sockets: int) -> None:
        self.wsgi_app = wsgi_app
        self.policy = policy
        self.sockets = sockets  # Engine.IO sessions open now
        self.max_sockets = max_sockets

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        if not self.policy.host_allowed(environ.get("HTTP_HOST")):
            return _answer(start_response, "421 Misdirected Request", "this server does not serve that host", "Host")
        if environ.get("PATH_INFO", "").startswith("/socket.io"):
            req = Request(environ)
            if not self.policy.authorized(self.policy.presented(req.headers, req.cookies)):
                return _answer(start_response, "401 Unauthorized", "a valid token is required", "token")
            if "sid" not in req.args and self.sockets() >= self.max_sockets:
                return _answer(start_response, "503 Service Unavailable", "too many viewers at once", None)
        return self.wsgi_app(environ, start_response)


def _answer(start_response: Callable, status: str, message: str, field: str | None) -> list[bytes]:
    body = json.dumps({"error": message, "field": field}).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]

"""The ways a request can fail: a refusal carries the HTTP status it is answered with."""

from __future__ import annotations


class RequestError(ValueError):
    """A request the server refuses; `status` is the HTTP status it answers with, the message its reason.

    `request_line` is the refused request's first line (for the access log), "-" if there was none.
    """

    status = 400
    request_line = "-"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class BadRequest(RequestError):
    """Malformed request framing (raised by ``wsgi.input`` for a bad chunked body)."""

    status = 400


class RequestTooLarge(RequestError):
    """The request body is larger than the server's `max_body_bytes`."""

    status = 413


class ClientDisconnected(ConnectionError):
    """The client closed the connection before the whole request body arrived."""

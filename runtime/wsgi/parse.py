"""A request's head and its chunked framing, read from bytes: pure functions, no I/O.

`find_head_end` finds where a header section ends in what was received so far, `parse_head` turns it
into a `Head` (the environ's request keys, how the body is framed, whether the connection may stay
open), `chunk_size` reads a chunk-size line of a chunked body. Each refuses what it does not accept
with a `RequestError` carrying the status to answer and the reason.

Where a lenient parser would let a request be smuggled past a proxy that reads it differently, these
refuse it: Content-Length together with Transfer-Encoding, two different Content-Lengths, a
Content-Length that is not plain digits, a transfer coding other than one ``chunked``, a header line
folded onto the next (obs-fold), whitespace between a header name and its colon, a control character
(NUL, a bare CR, a vertical tab...) anywhere in the head, two Host headers, and in chunked framing a
size that is not plain hex or a line not ended by CRLF. Header lines may end in a bare LF.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import islice
from typing import Any, NamedTuple
from urllib.parse import unquote_to_bytes

from runtime.wsgi.errors import BadRequest, RequestError

__all__ = ["DEFAULT_LIMITS", "Head", "Limits", "chunk_size", "find_head_end", "head_too_large", "parse_head"]

DEFAULT_MAX_HEADER_BYTES = 64 * 1024
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
DEFAULT_URL_LENGTH_LIMIT = 8192


@dataclass(frozen=True)
class Limits:
    """What a request may be: its head (`max_header_bytes`, request line `url_length_limit`) and its body."""

    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    url_length_limit: int = DEFAULT_URL_LENGTH_LIMIT
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES


DEFAULT_LIMITS = Limits()


class Head(NamedTuple):
    """A parsed request head."""

    environ: dict[str, Any]
    """REQUEST_METHOD, PATH_INFO, RAW_PATH_INFO, QUERY_STRING, SERVER_PROTOCOL, and a key per header."""
    request_line: str
    http10: bool
    content_length: int
    """The body's length (0 when chunked or absent)."""
    chunked: bool
    keep_alive: bool
    """The client lets the connection serve another request after this one."""
    expect_continue: bool
    """The client waits for "100 Continue" before it sends the body."""


# RFC 9110 token: methods and header names
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z").match
_VERSION = re.compile(r"HTTP/[0-9]\.[0-9]\Z").match
# a translate table: control characters but HTAB, CR and LF -> 0 (a bare CR is refused apart), the rest -> 1
_CONTROLS = bytes(0 if (c < 0x20 and c not in (9, 10, 13)) or c == 0x7F else 1 for c in range(256))
_HEXDIGITS = b"0123456789abcdefABCDEF"
_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"))
_new_head = tuple.__new__  # a Head without NamedTuple's __new__ (a Python call): parse_head makes one a request

_HEADER_KEYS: dict[str, str] = {}  # header name as sent -> environ key ("" to drop it); a bounded cache


def _header_key(name: str) -> str:
    if not _TOKEN(name):
        if name[:1] in (" ", "\t"):
            raise RequestError("a folded header line (obs-fold)")
        if name.rstrip(" \t") != name:
            raise RequestError(f"whitespace between the header name {name.rstrip()!r} and its colon")
        raise RequestError(f"invalid header name {name!r}")
    upper = name.upper()
    if upper == "CONTENT-TYPE":
        key = "CONTENT_TYPE"
    elif upper == "CONTENT-LENGTH":
        key = "CONTENT_LENGTH"
    elif "_" in name:
        key = ""  # dropped: X_Foo and X-Foo would both be HTTP_X_FOO (header spoofing)
    else:
        key = "HTTP_" + upper.replace("-", "_")
    if len(_HEADER_KEYS) < 4096:
        _HEADER_KEYS[name] = key
    return key


def _tokens(value: str) -> set[str]:
    return {t.strip().lower() for t in value.split(",")}


def find_head_end(data: bytes | bytearray, searched: int = 0) -> tuple[int, int] | None:
    """Where the header section at the start of `data` ends: its length without the line break that
    ends it, and where the body begins; None while the blank line has not arrived. The search starts at
    `searched` (what an earlier call searched in vain, less 3 bytes)."""
    i = data.find(b"\n\r\n", searched)
    if i < 0:
        j = data.find(b"\n\n", searched)
        return None if j < 0 else (j, j + 2)
    j = data.find(b"\n\n", searched, i + 1)  # a blank line of a bare LF before it?
    if j >= 0:
        return j, j + 2
    return (i - 1 if data[i - 1] == 13 else i), i + 3


def head_too_large(data: bytes | bytearray, limits: Limits) -> RequestError:
    """The refusal of a head that grew past `limits.max_header_bytes` without ending: 414 if its
    request line is too long, else 431."""
    first = data.find(b"\n", 0, limits.url_length_limit + 2)
    if first < 0:
        return RequestError("request line too long", 414)
    err = RequestError(f"request headers larger than {limits.max_header_bytes} bytes", 431)
    err.request_line = bytes(data[:first]).decode("latin-1").rstrip("\r")
    return err


def parse_head(data: bytes | bytearray, limits: Limits = DEFAULT_LIMITS, environ: dict[str, Any] | None = None) -> Head:
    """The request whose header section is `data` (as `find_head_end` delimits it: no blank line).

    Its keys are added to `environ` (a copy of the server's own keys), or to a new dict. Raises
    `RequestError` (with its `request_line` set) for what it refuses.
    """
    text = data.decode("latin-1")
    lines = text.split("\r\n")
    breaks = len(lines) - 1
    mixed = text.count("\n") != breaks or text.count("\r") != breaks  # bare LFs (accepted) or bare CRs
    if mixed:
        lines = [line[:-1] if line[-1:] == "\r" else line for line in text.split("\n")]
    request_line = lines[0]
    env = {} if environ is None else environ
    try:
        if mixed and any("\r" in line for line in lines):
            raise RequestError("bare CR in the request head")
        if 0 in data.translate(_CONTROLS):  # (a table and no bytes to delete: translate's fast path)
            raise RequestError("control character in the request head")
        if len(request_line) > limits.url_length_limit:
            raise RequestError("request line too long", 414)
        parts = request_line.split(" ")
        if len(parts) != 3:
            raise RequestError("malformed request line")
        method, target, version = parts
        if version == "HTTP/1.1":
            http10 = False
        elif version == "HTTP/1.0":
            http10 = True
        elif _VERSION(version):
            raise RequestError(f"unsupported version {version}", 505)
        else:
            raise RequestError("malformed request line")
        if method not in _METHODS and not _TOKEN(method):
            raise RequestError("malformed method")

        keys = _HEADER_KEYS
        for line in islice(lines, 1, None):
            name, colon, value = line.partition(":")
            if not colon:
                if line[:1] in (" ", "\t"):
                    raise RequestError("a folded header line (obs-fold)")
                raise RequestError("header line without a colon")
            key = keys.get(name)
            if key is None:
                key = _header_key(name)
            if not key:
                continue
            value = value.strip(" \t")
            if key in env:
                old = env[key]
                if key == "CONTENT_LENGTH" or key == "HTTP_HOST" or key == "HTTP_TRANSFER_ENCODING":
                    if old != value or key != "CONTENT_LENGTH":
                        raise RequestError(f"conflicting {name} headers")
                    continue
                env[key] = f"{old}; {value}" if key == "HTTP_COOKIE" else f"{old}, {value}"
            else:
                env[key] = value

        if target[:1] == "/":
            path, _, query = target.partition("?")
        elif target == "*" and method == "OPTIONS":
            path, query = "*", ""
        elif target[:7].lower() == "http://" or target[:8].lower() == "https://":
            authority, _, rest = target.partition("://")[2].partition("/")
            path, _, query = ("/" + rest).partition("?")
            env["HTTP_HOST"] = authority
        else:
            raise RequestError("malformed request target")
        env["REQUEST_METHOD"] = method
        env["PATH_INFO"] = unquote_to_bytes(path).decode("latin-1") if "%" in path else path
        env["RAW_PATH_INFO"] = path
        env["QUERY_STRING"] = query
        env["SERVER_PROTOCOL"] = version
        if not http10 and "HTTP_HOST" not in env:
            raise RequestError("HTTP/1.1 request without Host")

        connection = env.get("HTTP_CONNECTION")
        if http10:
            keep_alive = connection is not None and "keep-alive" in _tokens(connection)
        else:
            keep_alive = connection is None or "close" not in _tokens(connection)
        if "CONTENT_LENGTH" in env or "HTTP_TRANSFER_ENCODING" in env or "HTTP_EXPECT" in env:
            return _framed(env, request_line, http10, keep_alive, limits)
        return _new_head(Head, (env, request_line, http10, 0, False, keep_alive, False))  # no body, nothing expected
    except RequestError as e:
        e.request_line = request_line
        raise


def _framed(env: dict[str, Any], request_line: str, http10: bool, keep_alive: bool, limits: Limits) -> Head:
    # The Head of a request that has a Transfer-Encoding, a Content-Length or an Expect header.
    length = 0
    chunked = False
    te = env.get("HTTP_TRANSFER_ENCODING")
    if te is not None:
        if "CONTENT_LENGTH" in env:
            raise RequestError("both Transfer-Encoding and Content-Length")
        if te.lower() != "chunked":
            if any(coding != "chunked" for coding in _tokens(te)):
                raise RequestError(f"unsupported transfer coding {te!r}", 501)
            raise RequestError(f"chunked applied more than once: {te!r}")
        chunked = True
        keep_alive = keep_alive and not http10
    else:
        cl = env.get("CONTENT_LENGTH")
        if cl is not None:
            if not (cl.isascii() and cl.isdigit()) or len(cl) > 18:
                raise RequestError(f"invalid Content-Length {cl!r}")
            length = int(cl)
            if length > limits.max_body_bytes:
                raise RequestError(f"request body larger than {limits.max_body_bytes} bytes", 413)
    expect_continue = False
    expect = env.get("HTTP_EXPECT")
    if expect is not None:
        if expect.lower() != "100-continue":
            raise RequestError(f"unsupported expectation {expect!r}", 417)
        expect_continue = not http10 and (chunked or length > 0)
    return _new_head(Head, (env, request_line, http10, length, chunked, keep_alive, expect_continue))


def chunk_size(line: bytes) -> int:
    """The size in a chunk-size line of a chunked body (`line` ends with its line break): hex digits,
    then optionally extensions after a ";" (ignored); the line must end with CRLF."""
    if line[-2:] != b"\r\n":
        raise BadRequest(f"chunk-size line not ended by CRLF: {line[:40]!r}")
    size, semicolon, extensions = line[:-2].partition(b";")
    if semicolon:
        size = size.rstrip(b" \t")
    if not size or size.lstrip(_HEXDIGITS) or len(size) > 15 or b"\r" in extensions or b"\x00" in extensions:
        raise BadRequest(f"invalid chunk-size line {line[:40]!r}")
    return int(size, 16)

"""runtime.wsgi.parse, table-driven on bytes: what a request head means, and what is refused.

The refusals include the classic request-smuggling cases, where a proxy and a lenient server could
disagree on where a request ends: both Content-Length and Transfer-Encoding (CL.TE, TE.CL), two
Content-Lengths, a folded header, whitespace before a colon, control characters, odd chunk sizes.
"""

from __future__ import annotations

import pytest

from runtime.wsgi.errors import BadRequest, RequestError
from runtime.wsgi.parse import Limits, chunk_size, find_head_end, head_too_large, parse_head

GET = b"GET / HTTP/1.1\r\nHost: x"


def test_a_simple_get():
    head = parse_head(b"GET /a%20b/caf%C3%A9?x=1 HTTP/1.1\r\nHost: example.org\r\nX-Custom:  v1 \t\r\nCookie: a=1")
    assert head.request_line == "GET /a%20b/caf%C3%A9?x=1 HTTP/1.1"
    assert head.environ == {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/a b/caf\xc3\xa9",  # percent-decoded, bytes as latin-1 (PEP 3333)
        "RAW_PATH_INFO": "/a%20b/caf%C3%A9",
        "QUERY_STRING": "x=1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "example.org",
        "HTTP_X_CUSTOM": "v1",
        "HTTP_COOKIE": "a=1",
    }
    assert (head.http10, head.content_length, head.chunked, head.keep_alive, head.expect_continue) == (
        False,
        0,
        False,
        True,
        False,
    )


def test_a_head_of_many_lines():
    head = parse_head(b"GET / HTTP/1.1\r\nHost: x" + b"\r\nX-A: a" * 150 + b"\nX-B: b")  # a bare LF is taken
    assert head.environ["HTTP_X_A"] == ", ".join(["a"] * 150) and head.environ["HTTP_X_B"] == "b"


def test_the_keys_go_into_the_environ_given():
    base = {"wsgi.version": (1, 0)}
    head = parse_head(GET, environ=base)
    assert head.environ is base and base["wsgi.version"] == (1, 0) and base["PATH_INFO"] == "/"


# (head, what to check: attribute -> value, or environ key -> value)
ACCEPTED = [
    # keep-alive, by version and Connection
    (b"GET / HTTP/1.0", {"keep_alive": False, "http10": True}),
    (b"GET / HTTP/1.0\r\nConnection: Keep-Alive", {"keep_alive": True}),
    (b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, close", {"keep_alive": False}),
    (b"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade", {"keep_alive": True}),
    # bodies
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11", {"content_length": 11, "CONTENT_LENGTH": "11"}),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5", {"content_length": 5}),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked", {"chunked": True, "content_length": 0}),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:  chunked\t", {"chunked": True}),
    (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked", {"chunked": True, "keep_alive": False}),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-Continue", {"expect_continue": True}),
    (b"GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue", {"expect_continue": False}),  # no body to wait for
    (b"POST / HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue", {"expect_continue": False}),
    # a header name with "_" is dropped: it would pass for the "-" one (X_Forwarded_For vs X-Forwarded-For)
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer_Encoding: chunked", {"chunked": False}),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX_Forwarded_For: 6.6.6.6", {"HTTP_X_FORWARDED_FOR": None}),
    # repeated headers are joined; cookies with "; "
    (b"GET / HTTP/1.1\r\nHost: x\r\nAccept: a\r\nAccept: b", {"HTTP_ACCEPT": "a, b"}),
    (b"GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1\r\nCookie: b=2", {"HTTP_COOKIE": "a=1; b=2"}),
    (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Type: a/b", {"CONTENT_TYPE": "a/b", "HTTP_CONTENT_TYPE": None}),
    # request targets
    (b"GET http://example.org:81/p?q=1 HTTP/1.1\r\nHost: x", {"HTTP_HOST": "example.org:81", "PATH_INFO": "/p"}),
    (b"OPTIONS * HTTP/1.1\r\nHost: x", {"PATH_INFO": "*", "QUERY_STRING": ""}),
    # lines ending in a bare LF
    (b"GET /lf HTTP/1.1\nHost: x\nX-A: 1", {"PATH_INFO": "/lf", "HTTP_X_A": "1"}),
    (b"GET /mixed HTTP/1.1\r\nHost: x\nX-A: 1", {"HTTP_X_A": "1"}),
]


@pytest.mark.parametrize(("data", "expected"), ACCEPTED)
def test_accepted(data, expected):
    head = parse_head(data)
    for name, value in expected.items():
        got = getattr(head, name) if name.islower() else head.environ.get(name)
        assert got == value, name


# (head, status, words of the reason)
REFUSED = [
    # request smuggling: where does the body end?
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked", 400, "both"),  # CL.TE
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 6", 400, "both"),  # TE.CL
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4", 400, "conflicting"),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5", 400, "Content-Length"),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5", 400, "Content-Length"),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1", 400, "Content-Length"),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x5", 400, "Content-Length"),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2", 400, "Content-Length"),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \xd9\xa1", 400, "Content-Length"),  # not ASCII digits
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1234567890123456789", 400, "Content-Length"),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked", 400, "conflicting"),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked", 400, "more than once"),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip", 501, "transfer coding"),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked", 501, "transfer coding"),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity", 501, "transfer coding"),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \x0bchunked", 400, "control character"),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\x00", 400, "control character"),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked", 400, "whitespace"),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked", 400, "obs-fold"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\tcontinued", 400, "obs-fold"),
    (b"GET / HTTP/1.1\r\n Host: x", 400, "obs-fold"),
    (b"GET / HTTP/1.1\r\nHost: x\rX-Injected: 1", 400, "bare CR"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb", 400, "control character"),
    # headers
    (b"GET / HTTP/1.1\r\nHost: x\r\nNo colon here", 400, "colon"),
    (b"GET / HTTP/1.1\r\nHost: x\r\n: empty name", 400, "header name"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX(A): 1", 400, "header name"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nHost: y", 400, "conflicting"),
    (b"GET / HTTP/1.1", 400, "without Host"),
    (b"POST / HTTP/1.1\r\nHost: x\r\nExpect: something\r\nContent-Length: 1", 417, "expectation"),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001", 413, "larger than 1000"),
    # request lines
    (b"GARBAGE", 400, "request line"),
    (b"GET /", 400, "request line"),  # HTTP/0.9
    (b"GET / HTTP/1.1 extra\r\nHost: x", 400, "request line"),
    (b"GET  / HTTP/1.1\r\nHost: x", 400, "request line"),
    (b"GET\t/ HTTP/1.1\r\nHost: x", 400, "request line"),
    (b"GET / http/1.1\r\nHost: x", 400, "request line"),
    (b"GET / HTTP/2.0\r\nHost: x", 505, "version"),
    (b"G(T / HTTP/1.1\r\nHost: x", 400, "method"),
    (b"GET nope HTTP/1.1\r\nHost: x", 400, "target"),
    (b"GET /" + b"a" * 100 + b" HTTP/1.1\r\nHost: x", 414, "too long"),
    # heads of many lines are checked as closely as short ones
    (b"GET / HTTP/1.1\r\nHost: x" + b"\r\nX-A: a" * 150 + b"\r\nX-B: \x01", 400, "control character"),
    (b"GET / HTTP/1.1\r\nHost: x" + b"\r\nX-A: a" * 150 + b"\rX-B: b", 400, "bare CR"),
]


@pytest.mark.parametrize(("data", "status", "reason"), REFUSED)
def test_refused(data, status, reason):
    with pytest.raises(RequestError) as info:
        parse_head(data, Limits(max_header_bytes=4096, url_length_limit=100, max_body_bytes=1000))
    assert info.value.status == status
    assert reason in str(info.value)
    assert info.value.request_line == data.split(b"\n")[0].rstrip(b"\r").decode("latin-1")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\nBODY", (23, 27)),
        (b"GET / HTTP/1.1\nHost: x\n\nBODY", (22, 24)),
        (b"GET / HTTP/1.1\r\nHost: x\n\r\nBODY", (23, 26)),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\nBODY", (24, 26)),  # the CR left is dropped by parse_head
        (b"GET / HTTP/1.1\r\nHost: x\r\n", None),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r", None),
    ],
)
def test_find_head_end(data, expected):
    assert find_head_end(data) == expected
    if expected is not None:
        assert data[expected[1] :] == b"BODY"
        assert parse_head(data[: expected[0]]).environ["HTTP_HOST"] == "x"


def test_find_head_end_resumes_where_it_stopped():
    data = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    assert find_head_end(data, len(data) - 4) == (23, 27)


def test_a_head_too_large():
    limits = Limits(max_header_bytes=100, url_length_limit=50)
    long_line = head_too_large(b"GET /" + b"a" * 60, limits)
    assert (long_line.status, long_line.request_line) == (414, "-")
    long_headers = head_too_large(b"GET / HTTP/1.1\r\nX: " + b"a" * 100, limits)
    assert (long_headers.status, long_headers.request_line) == (431, "GET / HTTP/1.1")


@pytest.mark.parametrize(
    ("line", "size"),
    [
        (b"0\r\n", 0),
        (b"a\r\n", 10),
        (b"Ff\r\n", 255),
        (b"5;name=value\r\n", 5),
        (b"5 ; name\r\n", 5),
        (b"f" * 15 + b"\r\n", 16**15 - 1),
    ],
)
def test_chunk_size(line, size):
    assert chunk_size(line) == size


@pytest.mark.parametrize(
    "line",
    [
        b"\r\n",
        b"zz\r\n",
        b"-1\r\n",
        b"+5\r\n",
        b"0x5\r\n",
        b" 5\r\n",
        b"5 \r\n",
        b"5\n",  # a bare LF
        b"5\r\r\n",
        b"5;a\rb\r\n",
        b"5;a\x00\r\n",
        b"f" * 16 + b"\r\n",
    ],
)
def test_chunk_size_refused(line):
    with pytest.raises(BadRequest):
        chunk_size(line)

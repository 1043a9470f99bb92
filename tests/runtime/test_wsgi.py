"""runtime.wsgi.server, driven by real HTTP clients in other processes.

The server runs in a greenthread of the test process; each client is a Python script
(``http.client`` or raw sockets) or curl, started with Popen and waited for in an OS
thread (``tpool``) so the hub keeps serving meanwhile. Each test stops its servers by
closing their listeners and waiting for them: `server` returns once every connection
has ended, so nothing is left on the hub.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from greenlet import GreenletExit

import runtime
from runtime import wsgi

# The start of every client script: argv[1] is the server's port; `out` prints the result as JSON.
PRELUDE = r'''
import http.client, json, socket, struct, sys, threading, time

PORT = int(sys.argv[1])


def out(obj):
    print(json.dumps(obj))


def http_conn(timeout=10):
    return http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)


class Raw:
    """A raw client socket and a parser of the responses it gets, in order."""

    def __init__(self, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
        self.f = self.sock.makefile("rb")

    def send(self, data):
        self.sock.sendall(data)

    def response(self, method="GET"):
        line = self.f.readline()
        if not line:
            return None
        status = int(line.split(b" ", 2)[1])
        headers = {}
        while True:
            h = self.f.readline()
            if h in (b"\r\n", b""):
                break
            k, _, v = h.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        result = {"status": status, "headers": headers, "body": "", "complete": True}
        if method == "HEAD" or status < 200 or status in (204, 304):
            return result
        body = b""
        if headers.get("transfer-encoding") == "chunked":
            while True:
                size_line = self.f.readline()
                if not size_line.endswith(b"\n"):
                    result["complete"] = False
                    break
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    while self.f.readline() not in (b"\r\n", b""):
                        pass
                    break
                body += self.f.read(size)
                self.f.read(2)
        elif "content-length" in headers:
            body = self.f.read(int(headers["content-length"]))
        else:
            body = self.f.read()
        result["body"] = body.decode("latin-1")
        return result

    def closed_by_server(self):
        try:
            return self.f.read(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.f.close()
        self.sock.close()
'''


def run_client(port: int, script: str, *args: Any, timeout: float = 20.0) -> Any:
    """Run a client script in another process; the JSON it printed last."""
    code = PRELUDE + textwrap.dedent(script)
    cmd = [sys.executable, "-c", code, str(port), *map(str, args)]
    return json.loads(_run(cmd, timeout=timeout).decode().strip().splitlines()[-1])


def _run(cmd: list[str], stdin: bytes | None = None, timeout: float = 20.0) -> bytes:
    # Popen, then wait for it in an OS thread: this greenthread parks, the hub keeps serving.
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = runtime.tpool.execute(proc.communicate, stdin, timeout)
    except BaseException:
        proc.kill()
        runtime.tpool.execute(proc.communicate)
        raise
    assert proc.returncode == 0, f"{cmd[0]} failed ({proc.returncode}):\n{err.decode(errors='replace')}"
    return out


class Server:
    """`wsgi.server` in a greenthread, on 127.0.0.1 (or `listener`), logging to a StringIO."""

    def __init__(self, app: Callable[..., Any], listener: Any = None, **kwargs: Any) -> None:
        self.listener = listener if listener is not None else runtime.listen(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.log = io.StringIO()
        kwargs.setdefault("log", self.log)
        self.thread = runtime.spawn(wsgi.server, self.listener, app, **kwargs)

    def client(self, script: str, *args: Any, timeout: float = 20.0) -> Any:
        return run_client(self.port, script, *args, timeout=timeout)

    def stop(self) -> None:
        self.listener.close()
        try:
            self.thread.wait()  # returns once every connection has ended
        except GreenletExit:
            pass


@pytest.fixture
def start_server() -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(app: Callable[..., Any], **kwargs: Any) -> Server:
        server = Server(app, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the hub run until `condition()` holds."""
    with runtime.Timeout(timeout, AssertionError(f"timed out waiting for {condition}")):
        while not condition():
            runtime.sleep(0.002)


def json_response(start_response: Callable[..., Any], obj: Any, status: str = "200 OK") -> list[bytes]:
    body = json.dumps(obj).encode()
    start_response(status, [("Content-Type", "application/json")])
    return [body]


def echo_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """Answers with the request body, read the way ?how= says."""
    inp = environ["wsgi.input"]
    how = environ["QUERY_STRING"].partition("how=")[2] or "read"
    if how == "read":
        body = inp.read()
    elif how == "read3":
        parts = []
        while part := inp.read(3):
            assert len(part) <= 3
            parts.append(part)
        body = b"".join(parts)
    elif how == "readline":
        lines = []
        while line := inp.readline():
            lines.append(line)
        assert all(line.endswith(b"\n") for line in lines[:-1])
        body = b"".join(lines)
    elif how == "readline5":
        lines = []
        while line := inp.readline(5):
            assert len(line) <= 5
            lines.append(line)
        body = b"".join(lines)
    elif how == "iter":
        body = b"".join(inp)
    elif how == "readlines":
        body = b"".join(inp.readlines())
    else:
        body = b""
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [body]


# ---------------------------------------------------------------- requests and responses


def test_get_and_post_with_content_length(start_server):
    seen = []

    def app(environ, start_response):
        seen.append(environ)
        body = environ["wsgi.input"].read()
        return json_response(start_response, {"method": environ["REQUEST_METHOD"], "body": body.decode()})

    srv = start_server(app, environ={"app.extra": 42})
    result = srv.client("""
        c = http_conn()
        c.request("GET", "/a%20b/caf%C3%A9?x=1&y=%20", headers={"X-Custom": "v1", "Cookie": "a=1"})
        r = c.getresponse()
        get = [r.status, r.getheader("Content-Type"), r.getheader("Content-Length"), r.read().decode()]
        c.request("POST", "/submit", body=b"hello world", headers={"Content-Type": "text/plain"})
        r = c.getresponse()
        post = [r.status, r.getheader("Content-Length"), r.read().decode()]
        out({"get": get, "post": post, "port": c.sock.getsockname()[1]})
    """)
    assert result["get"] == [200, "application/json", "29", '{"method": "GET", "body": ""}']
    assert result["post"] == [200, "41", '{"method": "POST", "body": "hello world"}']

    get, post = seen
    assert get["REQUEST_METHOD"] == "GET"
    assert get["SCRIPT_NAME"] == ""
    assert get["PATH_INFO"] == "/a b/caf\xc3\xa9"  # percent-decoded, bytes as latin-1 (PEP 3333)
    assert get["RAW_PATH_INFO"] == "/a%20b/caf%C3%A9"
    assert get["QUERY_STRING"] == "x=1&y=%20"
    assert get["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert get["SERVER_NAME"] == "127.0.0.1"
    assert get["SERVER_PORT"] == str(srv.port)
    assert get["REMOTE_ADDR"] == "127.0.0.1"
    assert get["REMOTE_PORT"] == str(result["port"])
    assert get["HTTP_HOST"] == f"127.0.0.1:{srv.port}"
    assert get["HTTP_X_CUSTOM"] == "v1"
    assert get["HTTP_COOKIE"] == "a=1"
    assert "CONTENT_LENGTH" not in get and "HTTP_CONTENT_LENGTH" not in get
    assert get["wsgi.version"] == (1, 0)
    assert get["wsgi.url_scheme"] == "http"
    assert get["wsgi.errors"] is srv.log
    assert get["wsgi.multithread"] is True and get["wsgi.run_once"] is False
    assert get["app.extra"] == 42
    assert all(type(v) is str for k, v in get.items() if k.isupper())  # native strings only
    assert post["CONTENT_TYPE"] == "text/plain"
    assert post["CONTENT_LENGTH"] == "11"
    assert "HTTP_CONTENT_TYPE" not in post

    # eventlet's lines: starting up, each connection accepted, then an access line per request
    lines = srv.log.getvalue().splitlines()
    assert len(lines) == 4
    assert lines[0] == f"({os.getpid()}) wsgi starting up on http://127.0.0.1:{srv.port}"
    assert lines[1] == f"({os.getpid()}) accepted ('127.0.0.1', {result['port']})"
    assert lines[2].startswith("127.0.0.1 - - [")
    assert '"GET /a%20b/caf%C3%A9?x=1&y=%20 HTTP/1.1" 200 29 ' in lines[2]
    assert '"POST /submit HTTP/1.1" 200 41 ' in lines[3]


def test_access_log_can_be_switched_off(start_server):
    srv = start_server(echo_app, log_output=False)
    result = srv.client("""
        c = http_conn()
        c.request("GET", "/")
        out(c.getresponse().status)
    """)
    assert result == 200
    assert srv.log.getvalue() == ""


def test_keepalive_serves_many_requests_on_one_connection(start_server):
    ports = []

    def app(environ, start_response):
        ports.append(environ["REMOTE_PORT"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode()]

    srv = start_server(app)
    result = srv.client(r"""
        c = http_conn()
        bodies = []
        for i in range(5):
            c.request("GET", f"/r{i}")
            bodies.append(c.getresponse().read().decode())
        # HTTP/1.0 with keep-alive: the connection stays open
        r = Raw()
        r.send(b"GET /k1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        k1 = r.response()
        r.send(b"GET /k2 HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
        k2 = r.response()
        # HTTP/1.0 without it: closed after the response
        r.send(b"GET /k3 HTTP/1.0\r\n\r\n")
        k3 = r.response()
        k3_closed = r.closed_by_server()
        # HTTP/1.1 with Connection: close
        r2 = Raw()
        r2.send(b"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        c1 = r2.response()
        out({"bodies": bodies, "k": [k1, k2, k3], "k3_closed": k3_closed, "c1": c1, "c1_closed": r2.closed_by_server()})
    """)
    assert result["bodies"] == ["/r0", "/r1", "/r2", "/r3", "/r4"]
    assert len(set(ports[:5])) == 1  # one connection for the five
    k1, k2, k3 = result["k"]
    assert k1["body"] == "/k1" and k1["headers"]["connection"] == "keep-alive"
    assert k2["body"] == "/k2" and k2["headers"]["connection"] == "keep-alive"
    assert k3["body"] == "/k3" and k3["headers"]["connection"] == "close" and result["k3_closed"]
    assert ports[5] == ports[6] == ports[7]
    assert result["c1"]["body"] == "/c" and result["c1"]["headers"]["connection"] == "close"
    assert result["c1_closed"]


@pytest.mark.parametrize("keepalive", [False, 0])
def test_keepalive_off_closes_after_each_response(start_server, keepalive):
    srv = start_server(echo_app, keepalive=keepalive)
    result = srv.client(r"""
        r = Raw()
        r.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        out([r.response()["headers"]["connection"], r.closed_by_server()])
    """)
    assert result == ["close", True]


def test_pipelined_requests_are_answered_in_order(start_server):
    srv = start_server(echo_app)
    result = srv.client(r"""
        r = Raw()
        r.send(
            b"POST /1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none"
            b"POST /2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n"
            b"GET /3 HTTP/1.1\r\nHost: x\r\n\r\n"
            b"\r\n"  # a stray empty line between requests is ignored
            b"POST /4?how=readline HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfour\n"
        )
        out([r.response()["body"] for _ in range(4)])
    """)
    assert result == ["one", "two", "", "four\n"]


@pytest.mark.parametrize("how", ["read", "read3", "readline", "readline5", "iter", "readlines"])
def test_chunked_request_body(start_server, how):
    seen = []

    def app(environ, start_response):
        seen.append((environ.get("CONTENT_LENGTH"), environ["HTTP_TRANSFER_ENCODING"]))
        return echo_app(environ, start_response)

    srv = start_server(app)
    result = srv.client(
        r"""
        how = sys.argv[2]
        body = b"line one\nline two\n\nthe end, no newline"
        r = Raw()
        for size in (1, 5, 7, 64):  # chunk boundaries across line boundaries
            chunks = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
                              for i in range(0, len(body), size))
            r.send(b"POST /?how=" + how.encode() + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            for i in range(0, len(chunks), 13):  # and arriving in pieces
                r.send(chunks[i:i + 13])
            r.send(b"0\r\nX-Trailer: yes\r\n\r\n")
            assert r.response()["body"] == body.decode(), size
        # http.client's own chunked encoding, from an iterable body
        c = http_conn()
        c.request("POST", "/?how=" + how, body=iter([b"ab\n", b"", b"cd"]), encode_chunked=True)
        out(c.getresponse().read().decode())
        """,
        how,
    )
    assert result == "ab\ncd"
    assert seen == [(None, "chunked")] * 5


def test_chunked_response_and_close_delimited_on_http10(start_server):
    closed = []

    class Body:
        def __iter__(self):
            yield b"first,"
            yield b""
            yield b"second"

        def close(self):
            closed.append(True)

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/write":
            write = start_response("200 OK", [("Content-Type", "text/plain")])
            write(b"via write,")
            return [b"then returned"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Body()

    srv = start_server(app)
    result = srv.client("""
        c = http_conn()
        c.request("GET", "/gen")
        r = c.getresponse()
        gen = [r.getheader("Transfer-Encoding"), r.getheader("Content-Length"), r.read().decode()]
        c.request("GET", "/write")
        r = c.getresponse()
        write = [r.getheader("Transfer-Encoding"), r.read().decode()]
        raw = Raw()
        raw.send(b"GET /gen HTTP/1.0\\r\\n\\r\\n")
        http10 = raw.response()
        out({"gen": gen, "write": write, "http10": http10})
    """)
    assert result["gen"] == ["chunked", None, "first,second"]
    assert result["write"] == ["chunked", "via write,then returned"]
    http10 = result["http10"]
    assert "transfer-encoding" not in http10["headers"] and "content-length" not in http10["headers"]
    assert http10["body"] == "first,second"  # delimited by the close
    assert closed == [True, True]


def test_head_responses_have_no_body(start_server):
    closed = []

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        if environ["PATH_INFO"] == "/gen":

            def gen():
                try:
                    yield b"hello"
                    yield b" world"
                finally:
                    closed.append(True)

            return gen()
        return [b"hello"]

    srv = start_server(app)
    result = srv.client("""
        c = http_conn()
        got = []
        for method, path in [("HEAD", "/"), ("GET", "/"), ("HEAD", "/gen"), ("GET", "/gen")]:
            c.request(method, path)
            r = c.getresponse()
            got.append([r.status, r.getheader("Content-Length"), r.getheader("Transfer-Encoding"), r.read().decode()])
        # the raw bytes: nothing follows the headers of a HEAD response
        raw = Raw(timeout=10)
        raw.send(b"HEAD /gen HTTP/1.1\\r\\nHost: x\\r\\n\\r\\nGET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
        head = raw.response("HEAD")
        after = raw.response()
        out({"got": got, "after": after["body"], "head": head["headers"].get("content-length")})
    """)
    assert result["got"] == [
        [200, "5", None, ""],
        [200, "5", None, "hello"],
        [200, "11", None, ""],
        [200, None, "chunked", "hello world"],
    ]
    assert result["after"] == "hello"
    assert result["head"] == "11"
    assert closed == [True, True, True]


def test_expect_100_continue(start_server):
    seen = []

    def app(environ, start_response):
        seen.append(environ.get("HTTP_EXPECT"))
        if environ["PATH_INFO"] == "/ignore":  # answers without reading the body
            start_response("200 OK", [("Content-Length", "2")])
            return [b"no"]
        return echo_app(environ, start_response)

    srv = start_server(app)
    result = srv.client(r"""
        r = Raw()
        r.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        interim = r.response()  # sent when the application starts reading: the body is not sent yet
        r.send(b"hello")
        final = r.response()
        # the same connection goes on
        r.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
        again = r.response()
        # an application that never reads: no 100, and the connection is closed after the answer
        r2 = Raw()
        r2.send(b"POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        ignored = r2.response()
        out({"interim": interim["status"], "final": final["body"], "again": again["body"],
             "ignored": [ignored["status"], ignored["body"], r2.closed_by_server()]})
    """)
    assert result == {"interim": 100, "final": "hello", "again": "ok", "ignored": [200, "no", True]}
    assert seen == ["100-continue", None, "100-continue"]


# ---------------------------------------------------------------- refused requests and failures


CHUNK_300 = b"300\r\n" + b"a" * 0x300 + b"\r\n"  # two of them: over a 1000-byte limit
BAD_REQUESTS = [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n\r\n", 400),  # HTTP/1.1 without Host
    (b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
    (b"GET nope HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12a\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),  # bad chunk size
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX", 400),  # no CRLF after data
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n 3\r\nabc\r\n0\r\n\r\n", 400),  # " 3"
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", 400),  # bare LF
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n", 400),  # bare LF
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400),  # NUL
    (b"POST / HTTP/1.1\r\nHost: x\r\nExpect: something\r\nContent-Length: 1\r\n\r\nx", 417),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n", 431),
    (b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n", 413),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + CHUNK_300 * 2 + b"0\r\n\r\n", 413),
]


def test_bad_requests_are_refused_and_the_server_goes_on(start_server):
    calls = []

    def app(environ, start_response):
        calls.append(environ["PATH_INFO"])
        return echo_app(environ, start_response)

    srv = start_server(app, max_header_bytes=4096, url_length_limit=1000, max_body_bytes=1000)
    requests = [req.decode("latin-1") for req, _ in BAD_REQUESTS]
    result = srv.client(
        r"""
        got = []
        for req in json.loads(sys.argv[2]):
            r = Raw()
            r.send(req.encode("latin-1"))
            resp = r.response()
            got.append([resp["status"], resp["headers"].get("connection"), r.closed_by_server()])
            r.close()
        c = http_conn()
        c.request("POST", "/after", body=b"still fine")
        got.append(c.getresponse().read().decode())
        out(got)
        """,
        json.dumps(requests),
    )
    assert result[-1] == "still fine"
    assert result[:-1] == [[status, "close", True] for _, status in BAD_REQUESTS]
    assert len(calls) == 6 + 1  # the bad chunked bodies reached the application: they fail in wsgi.input
    log = srv.log.getvalue()
    assert "Traceback" not in log
    assert '"GARBAGE" 400 0 ' in log and '"GET / HTTP/2.0" 505 0 ' in log


def test_a_smuggled_request_never_reaches_the_application(start_server):
    calls = []

    def app(environ, start_response):
        calls.append(environ["PATH_INFO"])
        return echo_app(environ, start_response)

    srv = start_server(app)
    result = srv.client(r"""
        r = Raw()
        # CL.TE: by Content-Length the second request is body; by chunked framing it is a request of its own
        r.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 35\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
        resp = r.response()
        out([resp["status"], resp["body"], r.closed_by_server()])
    """)
    assert result == [400, "400 Bad Request\nboth Transfer-Encoding and Content-Length\n", True]
    assert calls == []


def test_application_errors(start_server):
    closed = []

    class Failing:
        def __iter__(self):
            yield b"partial"
            raise RuntimeError("boom-after")

        def close(self):
            closed.append("failing")

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/before":
            raise RuntimeError("boom-before")
        if path == "/after":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return Failing()
        if path == "/exc_info":  # a second start_response with exc_info replaces the first
            start_response("200 OK", [("Content-Type", "text/plain")])
            try:
                raise ValueError("handled")
            except ValueError:
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")], sys.exc_info())
            return [b"sorry"]
        if path == "/exc_info_late":  # ... unless the headers are out: then it raises the error again
            write = start_response("200 OK", [("Content-Type", "text/plain")])
            write(b"sent")
            try:
                raise ValueError("too-late")
            except ValueError:
                start_response("500 Internal Server Error", [], sys.exc_info())
            raise AssertionError("start_response should have raised")
        if path == "/twice":
            start_response("200 OK", [])
            start_response("200 OK", [])
        if path == "/int":
            start_response("200 OK", [])
            return [42]
        if path == "/unicode":  # str chunks must be ASCII, as on eventlet
            start_response("200 OK", [])
            return ["caf\xe9"]
        if path == "/badheader":
            start_response("200 OK", [("X-Bad", "a\r\nInjected: yes")])
            return [b"x"]
        if path == "/nostart":
            return [b"x"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"fine"]

    srv = start_server(app)
    paths = [
        "/before",
        "/after",
        "/exc_info",
        "/exc_info_late",
        "/twice",
        "/int",
        "/unicode",
        "/badheader",
        "/nostart",
        "/ok",
    ]
    result = srv.client(
        r"""
        got = {}
        for path in json.loads(sys.argv[2]):
            r = Raw()
            r.send(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            resp = r.response()
            # a kept-alive connection would make closed_by_server() wait: look only where a close is due
            due = resp["headers"].get("connection") == "close" or not resp["complete"]
            got[path] = [resp["status"], resp["body"], resp["complete"], due and r.closed_by_server()]
            r.close()
        out(got)
        """,
        json.dumps(paths),
    )
    error = [500, "500 Internal Server Error\n", True, True]
    assert result["/before"] == error
    assert result["/after"] == [200, "partial", False, True]  # no last chunk: the client sees the failure
    assert result["/exc_info"] == [503, "sorry", True, False]
    assert result["/exc_info_late"] == [200, "sent", False, True]
    for path in ["/twice", "/int", "/unicode", "/badheader", "/nostart"]:
        assert result[path] == error, path
    assert result["/ok"] == [200, "fine", True, False]
    assert closed == ["failing"]
    log = srv.log.getvalue()
    for message in ["boom-before", "boom-after", "too-late", "called a second time", "must be bytes", "must be ASCII"]:
        assert message in log
    assert "CR or LF" in log
    assert log.count("Traceback") == 8  # all but /exc_info, which handled its error


def test_response_framing_from_the_application_is_enforced(start_server):
    kept = []

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/short":  # announces 10 bytes, sends 5: the connection must end
            start_response("200 OK", [("Content-Length", "10")])
            return [b"hello"]
        if path == "/long":  # announces 3, sends 7: the excess is dropped
            start_response("200 OK", [("Content-Length", "3")])
            return iter([b"too", b"long"])
        if path == "/nocontent":  # 204 has no body, whatever the application yields
            start_response("204 No Content", [])
            return [b"ignored"]
        if path == "/keep":
            kept.append(start_response("200 OK", []))
            return [b"kept"]
        kept[0](b"late")  # the write() of an earlier response
        return []

    srv = start_server(app)
    result = srv.client(r"""
        got = {}
        for path in ["/short", "/long"]:
            r = Raw()
            r.send(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            resp = r.response()
            got[path] = [resp["body"], r.closed_by_server()]
        r = Raw()
        r.send(b"GET /nocontent HTTP/1.1\r\nHost: x\r\n\r\nGET /keep HTTP/1.1\r\nHost: x\r\n\r\n")
        got["/nocontent"] = [r.response()["status"], r.response()["body"]]
        r.send(b"GET /late HTTP/1.1\r\nHost: x\r\n\r\n")
        got["/late"] = r.response()["status"]
        out(got)
    """)
    assert result == {"/short": ["hello", True], "/long": ["too", True], "/nocontent": [204, "kept"], "/late": 500}
    assert "write() after the response ended" in srv.log.getvalue()


def test_idle_client_is_dropped_after_the_socket_timeout(start_server):
    srv = start_server(echo_app, max_size=1, socket_timeout=0.3)
    result = srv.client(r"""
        idle = socket.create_connection(("127.0.0.1", PORT), timeout=10)
        start = time.monotonic()
        # the only slot is the idle client's: this request waits until it is dropped
        c = http_conn()
        c.request("GET", "/")
        served = [c.getresponse().status, time.monotonic() - start]
        c.close()
        idle.setblocking(False)
        dropped_first = idle.recv(10)  # its end is already here (else BlockingIOError): it went first
        # a client that stops in the middle of its headers gets 408
        stalled = Raw()
        stalled.send(b"GET / HTTP/1.1\r\nHo")
        s408 = stalled.response()["status"]
        out({"served": served, "dropped": dropped_first.decode(), "stalled": s408,
             "stalled_closed": stalled.closed_by_server()})
    """)
    status, waited = result["served"]
    assert status == 200
    assert waited >= 0.25  # the socket timeout, not something sooner, freed the slot
    assert result["dropped"] == ""  # the idle client was dropped before the waiting request was served
    assert result["stalled"] == 408 and result["stalled_closed"]
    access = [line for line in srv.log.getvalue().splitlines() if line.startswith("127.0.0.1 - - ")]
    assert len(access) == 2  # the served request and the 408; the idle one: nothing


def test_a_client_reset_mid_request_ends_only_its_own_handler(start_server):
    errors = []
    failed = runtime.Event()
    pool = runtime.GreenPool(10)

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/upload":
            try:
                environ["wsgi.input"].read()
            except Exception as e:
                errors.append(e)
                failed.send()
                raise
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"served"]

    srv = start_server(app, custom_pool=pool)
    result = srv.client(r"""
        other = http_conn()
        other.request("GET", "/")
        first = other.getresponse().read().decode()
        r = Raw()
        r.send(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n")
        assert r.response()["status"] == 100  # the application is reading the body
        r.send(b"x" * 1000)
        r.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        r.close()  # RST
        other.request("GET", "/")
        second = other.getresponse().read().decode()
        third = http_conn()
        third.request("GET", "/")
        out([first, second, third.getresponse().read().decode()])
    """)
    assert result == ["served", "served", "served"]
    assert failed.wait(5) is not None or failed.ready()
    assert isinstance(errors[0], OSError)  # ConnectionResetError, or ClientDisconnected if the FIN won
    wait_until(lambda: pool.running() == 0)
    assert "Traceback" not in srv.log.getvalue()


def test_many_concurrent_clients(start_server):
    ports = set()

    def app(environ, start_response):
        ports.add(environ["REMOTE_PORT"])
        query = dict(p.split("=") for p in environ["QUERY_STRING"].split("&"))
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        text = f"{query['c']}/{query['r']}/{body.decode()}".encode()
        if int(query["r"]) % 3 == 0:
            return iter([text[:2], text[2:]])  # chunked
        return [text]

    srv = start_server(app, log_output=False)
    result = srv.client(r"""
        ok = []
        errors = []

        def worker(c):
            try:
                conn = http_conn()
                for r in range(20):
                    body = f"b{c}.{r}".encode() if r % 2 else None
                    conn.request("POST" if body else "GET", f"/w?c={c}&r={r}", body=body)
                    got = conn.getresponse().read().decode()
                    expected = f"{c}/{r}/" + (body.decode() if body else "")
                    if got == expected:
                        ok.append(1)
                    else:
                        errors.append([got, expected])
                conn.close()
            except Exception as e:
                errors.append(repr(e))

        threads = [threading.Thread(target=worker, args=(c,)) for c in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        out({"ok": len(ok), "errors": errors[:5]})
    """)
    assert result == {"ok": 1000, "errors": []}
    assert len(ports) == 50  # each client kept its connection


def test_the_concurrency_limit_holds(start_server):
    pool = runtime.GreenPool(3)
    active = []
    most = [0]
    release = runtime.Event()

    def app(environ, start_response):
        active.append(1)
        most[0] = max(most[0], len(active))
        release.wait()
        active.pop()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"done"]

    srv = start_server(app, custom_pool=pool)
    client = runtime.spawn(
        srv.client,
        """
        results = []

        def fetch():
            c = http_conn()
            c.request("GET", "/")
            results.append(c.getresponse().read().decode())
            c.close()

        threads = [threading.Thread(target=fetch) for _ in range(7)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        out(results)
        """,
    )
    # three requests in the application, the accept loop waiting for a slot for the fourth
    wait_until(lambda: len(active) == 3 and pool.waiting() == 1)
    assert pool.running() == 3
    release.send()
    assert client.wait() == ["done"] * 7
    assert most[0] == 3


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl(start_server):
    seen = []

    def app(environ, start_response):
        seen.append((environ["REQUEST_METHOD"], environ.get("HTTP_TRANSFER_ENCODING"), environ.get("HTTP_EXPECT")))
        return echo_app(environ, start_response)

    srv = start_server(app)
    url = f"http://127.0.0.1:{srv.port}"
    opts = ["-sS", "--http1.1", "--max-time", "10"]
    curl = ["curl", *opts]
    # two requests, one connection
    fmt = ["-w", " %{http_code} %{num_connects}\n"]
    out = _run([*curl, *fmt, "-d", "one", f"{url}/a", "--next", *opts, *fmt, "-d", "two", f"{url}/b"])
    assert out.decode() == "one 200 1\ntwo 200 0\n"
    # a chunked upload from stdin
    data = b"".join(b"line %d\n" % i for i in range(2000))
    out = _run([*curl, "-H", "Transfer-Encoding: chunked", "--data-binary", "@-", f"{url}/?how=readline"], data)
    assert out == data
    # Expect: 100-continue
    out = _run([*curl, "-H", "Expect: 100-continue", "--data-binary", "@-", f"{url}/?how=iter"], data)
    assert out == data
    # HEAD
    out = _run([*curl, "-I", f"{url}/"])
    assert out.startswith(b"HTTP/1.1 200 OK\r\n") and b"Content-Length" not in out  # empty body: no length
    assert ("POST", "chunked", None) in seen and ("POST", None, "100-continue") in seen and seen[-1][0] == "HEAD"


def test_tls(start_server, tmp_path):
    import trustme

    from runtime.green import ssl

    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    schemes = []

    def app(environ, start_response):
        schemes.append(environ["wsgi.url_scheme"])
        return echo_app(environ, start_response)

    listener = ctx.wrap_socket(runtime.listen(("127.0.0.1", 0)), server_side=True)
    # no timeouts: a server that waited for the silent client's handshake would wait forever
    srv = start_server(app, listener=listener, socket_timeout=None, shutdown_timeout=None)
    try:
        client = runtime.spawn(
            srv.client,
            r"""
            import ssl
            # a client that never shakes hands, and one that is not speaking TLS
            silent = socket.create_connection(("127.0.0.1", PORT))
            plain = Raw()
            plain.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            plain_closed = plain.closed_by_server()
            c = http.client.HTTPSConnection("127.0.0.1", PORT, timeout=10,
                                            context=ssl.create_default_context(cafile=sys.argv[2]))
            bodies = []
            for body in [b"one", b"two" * 10000]:
                c.request("POST", "/", body=body)
                bodies.append(len(c.getresponse().read()))
            out({"plain_closed": plain_closed, "bodies": bodies})
            sys.stdout.flush()
            silent.recv(1)  # until the server stops: it must not wait for this handshake
            """,
            tmp_path / "ca.pem",
        )
        wait_until(lambda: len(schemes) == 2)
    finally:
        with runtime.Timeout(10, AssertionError("the server waited for the silent client's handshake")):
            srv.stop()
    assert client.wait() == {"plain_closed": True, "bodies": [3, 30000]}
    assert schemes == ["https", "https"]


# ---------------------------------------------------------------- stopping


def test_closing_the_listener_stops_the_server(start_server):
    served = runtime.Event()
    release = runtime.Event()

    def app(environ, start_response):
        if environ["PATH_INFO"] == "/slow":
            served.send()
            release.wait()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode()]

    srv = start_server(app)
    client = runtime.spawn(
        srv.client,
        r"""
        idle = Raw()
        idle.send(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
        first = idle.response()["body"]
        busy = Raw()
        busy.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        slow = busy.response()["body"]  # finished although the server is stopping
        out({"first": first, "idle_closed": idle.closed_by_server(), "slow": slow,
             "busy_closed": busy.closed_by_server()})
        """,
    )
    served.wait()
    srv.listener.close()
    runtime.sleep(0.05)  # the server waits for the request in flight (the idle connection is closed)
    assert not srv.thread.dead
    release.send()
    assert srv.thread.wait() is None
    assert client.wait() == {"first": "/first", "idle_closed": True, "slow": "/slow", "busy_closed": True}


def test_killing_the_server_and_the_shutdown_timeout(start_server):
    entered = runtime.Event()
    never = runtime.Event()

    def app(environ, start_response):
        entered.send()
        never.wait()  # stuck: killed when the shutdown timeout expires

    srv = start_server(app, shutdown_timeout=0.2)
    client = runtime.spawn(
        srv.client,
        r"""
        r = Raw()
        r.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        out(r.response())
        """,
    )
    entered.wait()
    srv.thread.kill()
    with pytest.raises(GreenletExit):
        srv.thread.wait()
    assert client.wait() is None  # closed without an answer
    assert not never.ready()


# ---------------------------------------------------------------- as eventlet's wsgi.server


def test_str_body_chunks_are_sent_as_on_eventlet(start_server):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        path = environ["PATH_INFO"]
        if path == "/one":
            return ["Hello, World!\r\n"]  # eventlet's examples/wsgi.py
        if path == "/list":
            return ["Hello, ", "World!\r\n"]
        if path == "/mixed":
            return [b"bytes ", "and str"]
        return iter(["gener", "ated"])

    srv = start_server(app)
    result = srv.client("""
        c = http_conn()
        got = {}
        for path in ["/one", "/list", "/mixed", "/gen"]:
            c.request("GET", path)
            r = c.getresponse()
            got[path] = [r.status, r.getheader("Content-Length"), r.read().decode()]
        out(got)
    """)
    assert result == {
        "/one": [200, "15", "Hello, World!\r\n"],
        "/list": [200, "15", "Hello, World!\r\n"],
        "/mixed": [200, "13", "bytes and str"],
        "/gen": [200, None, "generated"],
    }


ACCESS_LINE = (
    r"(?P<client>\S+) - - \[\d\d/\w{3}/\d{4} \d\d:\d\d:\d\d\] "
    r'"(?P<request>[^"]*)" (?P<status>\d+) (?P<length>\d+) \d+\.\d{6}'
)


def test_the_log_says_what_eventlets_says(start_server):
    srv = start_server(echo_app)
    port = srv.client("""
        c = http_conn()
        c.request("POST", "/a", body=b"four", headers={"X-Forwarded-For": "203.0.113.9, 198.51.100.1"})
        c.getresponse().read()
        out(c.sock.getsockname()[1])
    """)
    srv.stop()
    pid = os.getpid()
    lines = srv.log.getvalue().splitlines()
    assert lines[0] == f"({pid}) wsgi starting up on http://127.0.0.1:{srv.port}"
    assert lines[1] == f"({pid}) accepted ('127.0.0.1', {port})"
    access = re.fullmatch(ACCESS_LINE, lines[2])
    assert access is not None, lines[2]
    assert access.group("client", "request", "status", "length") == (
        "203.0.113.9,198.51.100.1,127.0.0.1",  # log_x_forwarded_for: the forwarded addresses first
        "POST /a HTTP/1.1",
        "200",
        "4",
    )
    assert lines[3:] == [f"({pid}) wsgi exited, is_accepting=True"]
    assert srv.listener.fileno() == -1  # closed by the server, as eventlet's does


def test_debug_and_log_x_forwarded_for_can_be_switched_off(start_server):
    srv = start_server(echo_app, debug=False, log_x_forwarded_for=False)
    srv.client("""
        c = http_conn()
        c.request("GET", "/", headers={"X-Forwarded-For": "203.0.113.9"})
        out(c.getresponse().status)
    """)
    lines = srv.log.getvalue().splitlines()
    assert not any(" accepted " in line for line in lines)
    assert [re.fullmatch(ACCESS_LINE, line).group("client") for line in lines[1:]] == ["127.0.0.1"]


def test_a_logger_as_the_log(start_server):
    records = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append((record.levelname, record.getMessage().splitlines()[0]))

    logger = logging.getLogger("test_wsgi.server")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    handler = Keep()
    logger.addHandler(handler)
    errors = []

    def app(environ, start_response):
        errors.append(environ["wsgi.errors"])
        if environ["PATH_INFO"] == "/fail":
            raise RuntimeError("boom")
        return echo_app(environ, start_response)

    try:
        srv = start_server(app, log=logger)
        srv.client("""
            c = http_conn()
            for path in ["/", "/fail"]:
                c.request("GET", path)
                c.getresponse().read()
                c = http_conn()
            out(None)
        """)
        srv.stop()
    finally:
        logger.removeHandler(handler)
    pid = os.getpid()
    assert [(level, message.split(" - - ")[0]) for level, message in records] == [
        ("INFO", f"({pid}) wsgi starting up on http://127.0.0.1:{srv.port}"),
        ("DEBUG", records[1][1]),
        ("INFO", "127.0.0.1"),
        ("DEBUG", records[3][1]),
        ("ERROR", "error in the application for 'GET /fail HTTP/1.1':"),
        ("INFO", "127.0.0.1"),
        ("INFO", f"({pid}) wsgi exited, is_accepting=True"),
    ]
    assert " accepted ('127.0.0.1', " in records[1][1] and " accepted ('127.0.0.1', " in records[3][1]
    assert errors == [sys.stderr, sys.stderr]  # wsgi.errors: a file, never the logger


def test_max_http_version_answers_as_http10(start_server):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"first,", b"second"])

    srv = start_server(app, max_http_version="HTTP/1.0")
    result = srv.client(r"""
        r = Raw()
        r.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        out(r.f.read().decode())  # to the end: the server closes
    """)
    head, _, body = result.partition("\r\n\r\n")
    lines = head.split("\r\n")
    assert lines[0] == "HTTP/1.0 200 OK"
    assert "Connection: close" in lines and not any(line.startswith("Transfer-Encoding") for line in lines)
    assert body == "first,second"  # ended by the close


def test_server_event_gets_the_server(start_server):
    event = runtime.Event()
    srv = start_server(echo_app, server_event=event)
    it = event.wait()
    assert it.sock is srv.listener and it.app is echo_app
    assert it.options.keepalive is True


def test_the_protocol_keyword_is_refused_with_a_reason():
    listener = runtime.listen(("127.0.0.1", 0))
    with listener, pytest.raises(TypeError, match="BaseHTTPRequestHandler"):
        wsgi.server(listener, echo_app, protocol=object)


def test_minimum_chunk_size_gathers_small_chunks(start_server):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"x" * 100] * 10)

    srv = start_server(app, minimum_chunk_size=450)
    result = srv.client(r"""
        r = Raw()
        r.send(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        out(r.f.read().decode())
    """)
    body = result.partition("\r\n\r\n")[2]
    assert body == "1f4\r\n" + "x" * 500 + "\r\n" + "1f4\r\n" + "x" * 500 + "\r\n0\r\n\r\n"


def test_response_header_names_are_capitalized_unless_told_not_to(start_server):
    def app(environ, start_response):
        start_response("200 OK", [("content-TYPE", "text/plain"), ("x-api-key", "k")])
        return [b"ok"]

    script = r"""
        r = Raw()
        r.send(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        out(r.f.read().decode().split("\r\n")[1:3])
    """
    assert start_server(app).client(script) == ["Content-Type: text/plain", "X-Api-Key: k"]
    assert start_server(app, capitalize_response_headers=False).client(script) == [
        "content-TYPE: text/plain",
        "x-api-key: k",
    ]


def test_a_number_as_keepalive_is_how_long_a_connection_may_idle(start_server):
    srv = start_server(echo_app, keepalive=0.2, socket_timeout=None)
    result = srv.client("""
        c = http_conn(timeout=20)
        c.request("GET", "/")
        status = c.getresponse().status
        out([status, c.sock.recv(1).decode()])  # "" once the server closes the idle connection
    """)
    assert result == [200, ""]


def test_ctrl_c_ends_the_server_normally(start_server):
    srv = start_server(echo_app)
    runtime.sleep(0)  # the server is in accept
    srv.thread.kill(KeyboardInterrupt)
    assert srv.thread.wait() is None
    assert "\nwsgi exiting\n" in srv.log.getvalue()
    assert srv.listener.fileno() == -1


def test_eventlet_input_is_wsgi_input_and_gives_the_socket(start_server):
    seen = []

    def app(environ, start_response):
        inp = environ["eventlet.input"]
        seen.append([inp is environ["wsgi.input"], inp.get_socket().getpeername()[1]])
        return echo_app(environ, start_response)

    srv = start_server(app)
    port = srv.client("""
        c = http_conn()
        c.request("GET", "/")
        c.getresponse().read()
        c.request("POST", "/", body=b"body")
        c.getresponse().read()
        out(c.sock.getsockname()[1])
    """)
    assert seen == [[True, port], [True, port]]

"""TLS over green sockets: both sides green, parking on want-read / want-write."""

from __future__ import annotations

import ssl as stdlib_ssl

import pytest
import trustme

import runtime
from runtime.green import socket, ssl


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def tls_server(ca):
    """A green TLS listener on 127.0.0.1 and a client context that trusts it."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    listener = server_ctx.wrap_socket(runtime.listen(("127.0.0.1", 0)), server_side=True)
    yield listener, client_ctx
    listener.close()


def _echo_once(listener):
    conn, _ = listener.accept()
    with conn:
        f = conn.makefile("rwb")
        for line in f:
            f.write(line.upper())
            f.flush()


def test_handshake_and_echo_between_green_tls_sockets(tls_server):
    listener, client_ctx = tls_server
    server = runtime.spawn(_echo_once, listener)
    port = listener.getsockname()[1]
    with client_ctx.wrap_socket(socket.create_connection(("localhost", port)), server_hostname="localhost") as c:
        assert isinstance(c, ssl.SSLSocket) and isinstance(c, socket.socket)
        assert c.version().startswith("TLS")
        for i in range(3):
            c.sendall(b"line %d\n" % i)
            assert c.recv(100) == b"LINE %d\n" % i
    server.wait()


def test_megabytes_both_ways_at_once(tls_server):
    listener, client_ctx = tls_server
    payload = bytes(range(256)) * 8192  # 2 MiB: both sides must park on want-write

    def server():
        conn, _ = listener.accept()
        with conn:
            writer = runtime.spawn(conn.sendall, payload)
            got = bytearray()
            while len(got) < len(payload):
                got += conn.recv(65536)
            writer.wait()
            return bytes(got)

    srv = runtime.spawn(server)
    port = listener.getsockname()[1]
    with client_ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost") as c:
        sender = runtime.spawn(c.sendall, payload)
        got = bytearray()
        while len(got) < len(payload):
            got += c.recv(65536)
        sender.wait()
    assert bytes(got) == payload
    assert srv.wait() == payload


def test_other_greenthreads_run_during_a_handshake(tls_server):
    listener, client_ctx = tls_server
    ticks = []

    def ticker():
        for _ in range(5):
            ticks.append(1)
            runtime.sleep(0)

    server = runtime.spawn(_echo_once, listener)
    t = runtime.spawn(ticker)
    port = listener.getsockname()[1]
    with client_ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost"):
        pass
    t.wait()
    server.wait()
    assert len(ticks) == 5


def test_an_untrusted_certificate_is_refused(tls_server):
    listener, _ = tls_server
    stranger = ssl.create_default_context()  # trusts nothing of ours

    def server():
        with pytest.raises(ssl.SSLError, match="UNKNOWN_CA"):  # the client's alert, in the handshake
            listener.accept()

    srv = runtime.spawn(server)
    with pytest.raises(ssl.SSLCertVerificationError):
        stranger.wrap_socket(
            socket.create_connection(("127.0.0.1", listener.getsockname()[1])), server_hostname="localhost"
        )
    srv.wait()


def test_a_silent_peer_times_the_handshake_out():
    quiet = runtime.listen(("127.0.0.1", 0))  # accepts (in the backlog) but never speaks TLS
    try:
        raw = socket.create_connection(quiet.getsockname())
        raw.settimeout(0.05)
        with pytest.raises(socket.timeout):
            ssl.create_default_context().wrap_socket(raw, server_hostname="localhost")
        raw.close()
    finally:
        quiet.close()


def test_wrap_ssl_and_unwrap(ca, tmp_path):
    cert = ca.issue_cert("localhost")
    certfile = tmp_path / "server.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(certfile)
    listener = runtime.listen(("127.0.0.1", 0))

    def server():
        raw, _ = listener.accept()
        tls = runtime.wrap_ssl(raw, certfile=str(certfile), keyfile=str(certfile), server_side=True)
        assert tls.recv(5) == b"hello"
        plain = tls.unwrap()
        assert plain.recv(5) == b"plain"
        plain.close()

    srv = runtime.spawn(server)
    client = runtime.wrap_ssl(runtime.connect(listener.getsockname()))  # CERT_NONE: no verification
    client.sendall(b"hello")
    plain = client.unwrap()
    plain.sendall(b"plain")
    srv.wait()
    plain.close()
    listener.close()


def test_a_plain_stdlib_socket_is_made_green_by_the_green_context(tls_server):
    import socket as stdlib_socket

    listener, client_ctx = tls_server
    server = runtime.spawn(_echo_once, listener)
    raw = stdlib_socket.create_connection(listener.getsockname())  # blocking connect: it is local
    with client_ctx.wrap_socket(raw, server_hostname="localhost") as c:
        assert isinstance(c, ssl.SSLSocket)
        c.sendall(b"x\n")
        assert c.recv(10) == b"X\n"
    server.wait()


def test_green_ssl_keeps_the_stdlib_names():
    assert ssl.SSLError is stdlib_ssl.SSLError
    assert ssl.PROTOCOL_TLS_CLIENT == stdlib_ssl.PROTOCOL_TLS_CLIENT
    assert isinstance(ssl.create_default_context(), stdlib_ssl.SSLContext)

"""listen() and serve(), the listener and the accept loop under wsgi.server, as eventlet's: SO_REUSEPORT on
a given port, a connection closed when its handler returns, and no client able to hold up the accepting."""

from __future__ import annotations

import errno
import socket as stdlib_socket
import ssl as stdlib_ssl

import pytest

import runtime
from runtime.green import socket, ssl


def _free_port() -> int:
    with stdlib_socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _reuse_port(sock: socket.socket) -> int:
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)


@pytest.mark.skipif(not hasattr(stdlib_socket, "SO_REUSEPORT"), reason="no SO_REUSEPORT here")
def test_listen_shares_a_given_port_unless_told_not_to():
    port = _free_port()
    first = runtime.listen(("127.0.0.1", port))
    second = runtime.listen(("127.0.0.1", port))  # SO_REUSEPORT: both listen on the port
    with first, second:
        assert _reuse_port(first) == _reuse_port(second) == 1
    port = _free_port()
    with runtime.listen(("127.0.0.1", port), reuse_port=False) as alone:
        assert _reuse_port(alone) == 0
        with pytest.raises(OSError) as info:
            runtime.listen(("127.0.0.1", port))
        assert info.value.errno == errno.EADDRINUSE
    with runtime.listen(("127.0.0.1", 0)) as picked:  # a port the system picks is never shared
        assert _reuse_port(picked) == 0


def test_serve_closes_a_connection_when_its_handler_returns():
    kept = []

    def handle(conn: socket.socket, addr: object) -> None:
        kept.append(conn)  # a reference that outlives the handler: only serve can close the connection
        conn.sendall(b"hi")

    listener = runtime.listen(("127.0.0.1", 0))
    server = runtime.spawn(runtime.serve, listener, handle)
    with runtime.connect(listener.getsockname()) as client:
        client.settimeout(10)
        assert client.recv(10) == b"hi"
        assert client.recv(10) == b""
    assert kept[0].fileno() == -1
    listener.close()
    assert server.wait() is None  # serve returns once its listener is closed


def test_a_tls_client_that_never_shakes_hands_does_not_hold_up_serve(tmp_path):
    import trustme

    ca = trustme.CA()
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    client_ctx = stdlib_ssl.create_default_context()
    ca.configure_trust(client_ctx)
    listener = server_ctx.wrap_socket(runtime.listen(("127.0.0.1", 0)), server_side=True)
    port = listener.getsockname()[1]

    def handle(conn: socket.socket, addr: object) -> None:
        try:
            data = conn.recv(100)  # the handshake happens here, in the handler's greenthread
        except OSError:
            return  # the silent client left without shaking hands
        conn.sendall(data.upper())

    def clients() -> bytes:
        with stdlib_socket.create_connection(("127.0.0.1", port)):  # connects, then says nothing
            raw = stdlib_socket.create_connection(("127.0.0.1", port), timeout=10)
            with client_ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(b"hello")
                return tls.recv(100)

    server = runtime.spawn(runtime.serve, listener, handle)
    assert runtime.tpool.execute(clients) == b"HELLO"
    listener.close()
    assert server.wait() is None

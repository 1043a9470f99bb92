"""Green sockets when the network misbehaves: refused, unknown hosts, resets, idle peers, closes, timeouts; the
rest of the socket API (makefile, dup, socketpair, fromfd, create_connection, UDP); and the memory that 1,000 idle
connections cost an echo server.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import resource
import socket as stdlib_socket
import struct
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import runtime
from runtime import tpool
from runtime.green import socket
from runtime.hubs import Hub, IOClosed, get_hub

LOCALHOST = "127.0.0.1"


# ---------------------------------------------------------------- helpers


@pytest.fixture
def listener(hub: Hub) -> Iterator[socket.socket]:
    """A green socket listening on 127.0.0.1 (closed at the end)."""
    sock = runtime.listen((LOCALHOST, 0))
    yield sock
    sock.close()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port of 127.0.0.1 where nothing listens: held by a bound socket, so nobody else takes it."""
    with stdlib_socket.socket() as holder:
        holder.bind((LOCALHOST, 0))
        yield holder.getsockname()[1]


class Server:
    """`runtime.serve` in a greenthread, with a queue of what its handlers report."""

    def __init__(self, listener: socket.socket, handle: Callable[..., Any], concurrency: int = 1000) -> None:
        self.address = listener.getsockname()
        self.events: runtime.Queue = runtime.Queue()
        self.thread = runtime.spawn(runtime.serve, listener, handle, concurrency)

    def next_event(self, timeout: float = 5.0) -> Any:
        """The next event a handler reported (AssertionError if none comes within `timeout`)."""
        try:
            return self.events.get(timeout=timeout)
        except runtime.queue.Empty:
            raise AssertionError(f"no handler event within {timeout}s") from None

    def stop(self) -> None:
        self.thread.kill()


def _echo_lines(conn: socket.socket, server: Server) -> None:
    """A handler: echo lines until the client leaves; report how it left."""
    with conn, conn.makefile("rwb") as f:
        try:
            for line in f:
                f.write(line)
                f.flush()
        except ConnectionResetError as e:
            server.events.put(("reset", e.errno))
            return
    server.events.put(("eof", None))


def _echoes(sock: socket.socket, text: bytes) -> bool:
    """Send one line on `sock` and check it comes back."""
    sock.sendall(text + b"\n")
    got = b""
    while not got.endswith(b"\n"):
        chunk = sock.recv(100)
        if not chunk:
            return False
        got += chunk
    return got == text + b"\n"


# ---------------------------------------------------------------- connecting


def test_connection_refused_raises_connection_refused_error(closed_port):
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect((LOCALHOST, closed_port))
    with socket.socket() as sock:
        assert sock.connect_ex((LOCALHOST, closed_port)) == errno.ECONNREFUSED
    with pytest.raises(ConnectionRefusedError):
        runtime.connect((LOCALHOST, closed_port))
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((LOCALHOST, closed_port), timeout=5)


def test_an_unknown_host_raises_gaierror():
    host = "no-such-host.invalid"  # RFC 6761: never resolves
    with pytest.raises(socket.gaierror):
        socket.gethostbyname(host)
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo(host, 80)
    with pytest.raises(socket.gaierror):
        runtime.connect((host, 80))
    with pytest.raises(socket.gaierror):
        socket.create_connection((host, 80), timeout=5)
    assert socket.gaierror is stdlib_socket.gaierror


def test_other_greenthreads_run_while_a_name_is_looked_up():
    ticks: list[int] = []

    def ticker() -> None:
        for i in range(3):
            ticks.append(i)
            runtime.sleep(0)

    gt = runtime.spawn(ticker)
    with pytest.raises(socket.gaierror):
        socket.gethostbyname("no-such-host.invalid")  # in an OS thread, while this greenthread parks
    assert ticks, "the lookup blocked the hub"
    gt.wait()


# ---------------------------------------------------------------- faults under serve


def test_a_peer_resetting_mid_readline_ends_only_its_own_handler(listener):
    server = Server(listener, lambda conn, addr: _echo_lines(conn, server))
    try:
        with runtime.connect(server.address) as before:
            assert _echoes(before, b"before the reset")

            with runtime.connect(server.address) as victim:
                assert _echoes(victim, b"a whole line")
                victim.sendall(b"half a li")  # the handler is left waiting for the rest of the line
                victim.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                victim.close()  # SO_LINGER 0: close sends RST
            assert server.next_event() == ("reset", errno.ECONNRESET)

            assert _echoes(before, b"still served")
            with runtime.connect(server.address) as after:
                assert _echoes(after, b"a new client after the reset")
            assert server.next_event() == ("eof", None)
        assert server.next_event() == ("eof", None)
        assert not server.thread.dead
    finally:
        server.stop()


def test_an_idle_client_does_not_hold_a_pool_slot_past_its_timeout(listener):
    def handle(conn: socket.socket, addr: Any) -> None:
        with conn:
            conn.settimeout(0.1)
            try:
                data = conn.recv(100)
            except socket.timeout:
                server.events.put(("timed out", addr))
                return
            conn.sendall(data.upper())
            server.events.put(("served", addr))

    server = Server(listener, handle, concurrency=1)  # one slot: the idle client takes it first
    try:
        with runtime.connect(server.address) as idle, runtime.connect(server.address) as busy:
            busy.sendall(b"ping")
            busy.settimeout(5)
            assert busy.recv(100) == b"PING"  # served only once the idle client's handler gave up its slot
            assert server.next_event() == ("timed out", idle.getsockname())
            assert server.next_event() == ("served", busy.getsockname())
            idle.settimeout(5)
            assert idle.recv(100) == b""  # the server hung up on it
    finally:
        server.stop()


def test_serve_reraises_a_handler_exception_and_stops(listener):
    handled: list[Any] = []

    def handle(conn: socket.socket, addr: Any) -> None:
        conn.close()
        handled.append(addr)
        raise ValueError("handler failed")

    def client() -> bytes:
        with runtime.connect(listener.getsockname()) as sock:
            return sock.recv(1)

    peer = runtime.spawn(client)
    get_hub().report_exceptions = False  # the handler's traceback is expected
    with pytest.raises(ValueError, match="handler failed"):
        runtime.serve(listener, handle)
    assert peer.wait() == b""
    runtime.sleep(0)  # the failed handler finishes exiting
    assert len(handled) == 1
    assert get_hub().is_idle()  # nobody waits on the listener: the server has stopped


def test_stop_serve_from_a_handler_ends_serve_quietly(listener):
    def handle(conn: socket.socket, addr: Any) -> None:
        with conn:
            if conn.recv(100) == b"stop":
                raise runtime.StopServe
            conn.sendall(b"ok")

    def talk(message: bytes) -> bytes:
        with runtime.connect(listener.getsockname()) as sock:
            sock.sendall(message)
            return sock.recv(100)

    def client() -> list[bytes]:
        return [talk(b"hello"), talk(b"stop")]

    peer = runtime.spawn(client)
    get_hub().report_exceptions = False  # the hub prints what ends a greenthread, StopServe too
    assert runtime.serve(listener, handle) is None
    assert peer.wait() == [b"ok", b""]
    runtime.sleep(0)  # the stopping handler finishes exiting
    assert get_hub().is_idle()


# ---------------------------------------------------------------- closing, timeouts


def test_closing_a_socket_wakes_a_greenthread_parked_in_recv_with_ioclosed():
    a, b = socket.socketpair()
    with b:
        reader = runtime.spawn(a.recv, 100)
        runtime.sleep(0)  # the reader parks in recv
        a.close()
        with pytest.raises(IOClosed) as caught:
            reader.wait()
        assert isinstance(caught.value, OSError) and caught.value.errno == errno.EBADF


def test_recv_times_out_with_socket_timeout():
    a, b = socket.socketpair()
    with a, b:
        a.settimeout(0.05)
        assert a.gettimeout() == 0.05
        start = time.monotonic()
        with pytest.raises(socket.timeout):
            a.recv(1)
        assert time.monotonic() - start >= 0.04
        b.sendall(b"x")
        assert a.recv(1) == b"x"  # still usable after a timeout


def test_accept_times_out(listener):
    listener.settimeout(0.05)
    with pytest.raises(socket.timeout):
        listener.accept()


def test_timeout_zero_raises_blocking_io_error(listener):
    a, b = socket.socketpair()
    with a, b:
        a.settimeout(0)
        assert not a.getblocking()
        with pytest.raises(BlockingIOError):
            a.recv(1)
        a.setblocking(True)
        assert a.gettimeout() is None
        a.setblocking(False)
        assert a.gettimeout() == 0.0
        with pytest.raises(BlockingIOError):
            a.recv_into(bytearray(1))
    listener.setblocking(False)
    with pytest.raises(BlockingIOError):
        listener.accept()
    with socket.socket() as client:
        client.setblocking(False)
        assert client.connect_ex(listener.getsockname()) in (0, errno.EINPROGRESS)


def test_sendall_to_a_peer_that_never_reads_times_out():
    a, b = socket.socketpair()
    with a, b:
        a.settimeout(0.1)
        with pytest.raises(socket.timeout):
            a.sendall(b"x" * (16 << 20))


def test_sendall_to_a_slow_reader_completes():
    payload = os.urandom(4 << 20)
    a, b = socket.socketpair()
    with a, b:
        a.settimeout(10)

        def slow_reader() -> bytes:
            got = bytearray()
            while len(got) < len(payload):
                got += b.recv(4096)
                runtime.sleep(0)  # a reader slower than the writer: the writer parks again and again
            return bytes(got)

        reader = runtime.spawn(slow_reader)
        a.sendall(payload)
        assert reader.wait() == payload


def test_sendall_timeout_is_one_deadline_for_the_whole_call(clock):
    # The reader drains a little every 20 ms, so no single wait takes the 0.3 s timeout; the call as a whole does.
    a, b = socket.socketpair()
    with a, b:
        a.settimeout(0.3)
        drained = 0
        done = runtime.Event()

        def trickle() -> None:
            nonlocal drained
            while not done.ready():
                try:
                    drained += len(b.recv(65536))
                except BlockingIOError:
                    pass
                runtime.sleep(0.02)

        b.setblocking(False)
        reader = runtime.spawn(trickle)
        try:
            with pytest.raises(socket.timeout):
                a.sendall(b"x" * (64 << 20))
            assert clock() == 0.3  # virtual time: the call's deadline, to the tick
        finally:
            done.send()
            reader.wait()
        assert 0 < drained < 64 << 20


def test_sendall_resumed_after_its_deadline_raises_socket_timeout(clock):
    # The writer is woken (room to write) but runs only after its deadline: the next wait raises socket.timeout,
    # not BlockingIOError (which a zero time left would mean).
    a, b = socket.socketpair()  # a writes, b reads
    c, d = socket.socketpair()  # wakes the greenthread that lets time pass
    with a, b, c, d:
        a.settimeout(1.0)

        def late() -> None:
            c.recv(1)  # woken in the same poll as the writer, and queued before it
            clock.advance(2.0)  # a slow greenthread: time passes before the writer runs

        def drain() -> None:
            runtime.sleep(0.5)
            d.sendall(b"x")  # ready first...
            b.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                while b.recv(1 << 20):  # ...then room for the writer
                    pass

        helpers = [runtime.spawn(late), runtime.spawn(drain)]
        with pytest.raises(socket.timeout):
            a.sendall(b"x" * (64 << 20))
        for gt in helpers:
            gt.wait()


# ---------------------------------------------------------------- the rest of the API


def test_makefile_binary_mode():
    a, b = socket.socketpair()
    with a, b, a.makefile("wb") as out, b.makefile("rb") as inp:

        def write() -> None:
            out.write(b"first line\nsecond")
            out.flush()
            runtime.sleep(0)
            out.write(b" line\n" + bytes(range(256)))
            out.flush()
            a.shutdown(socket.SHUT_WR)

        writer = runtime.spawn(write)
        assert inp.readline() == b"first line\n"
        assert inp.readline() == b"second line\n"  # waited for the rest of the line
        assert inp.read(256) == bytes(range(256))
        assert inp.read() == b""
        writer.wait()


def test_makefile_text_mode():
    a, b = socket.socketpair()
    with a, b:
        with a.makefile("rw", encoding="utf-8", newline="\n") as fa, b.makefile("rw", encoding="utf-8") as fb:
            fa.write("héllo wörld ✓\n")
            fa.flush()
            assert fb.readline() == "héllo wörld ✓\n"
            fb.write("ünïcode back\n")
            fb.flush()
            assert fa.readline() == "ünïcode back\n"
        a.sendall(b"one\ntwo\n")  # closing its files left the socket open
        a.shutdown(socket.SHUT_WR)
        lines = b.makefile("r", encoding="utf-8")
        b.close()  # the open file keeps the socket open...
        assert b.fileno() != -1
        assert list(lines) == ["one\n", "two\n"]
        lines.close()  # ...until it is closed too
        assert b.fileno() == -1


def test_dup_is_a_green_socket_on_the_same_connection():
    a, b = socket.socketpair()
    a.settimeout(5)
    d = a.dup()
    with a, b, d:
        assert type(d) is socket.socket
        assert d.fileno() != a.fileno()
        assert d.gettimeout() == 5
        reader = runtime.spawn(d.recv, 100)
        runtime.sleep(0)  # parked in recv on the duplicate
        b.sendall(b"to the dup")
        assert reader.wait() == b"to the dup"
        a.close()
        d.sendall(b"from the dup after the original closed")
        assert b.recv(100) == b"from the dup after the original closed"


def test_socketpair_carries_megabytes_both_ways_at_once():
    payload = os.urandom(2 << 20)  # larger than the socket buffers: both sides must park in sendall
    a, b = socket.socketpair()
    with a, b:
        assert type(a) is socket.socket and type(b) is socket.socket
        assert a.family == socket.AF_UNIX

        def pump(sock: socket.socket) -> bytes:
            sender = runtime.spawn(sock.sendall, payload)
            got = bytearray()
            while len(got) < len(payload):
                got += sock.recv(65536)
            sender.wait()
            return bytes(got)

        ends = [runtime.spawn(pump, a), runtime.spawn(pump, b)]
        assert [gt.wait() for gt in ends] == [payload, payload]


def test_fromfd_makes_a_green_socket_on_a_duplicate_fd():
    a, b = stdlib_socket.socketpair()
    with a, b:
        g = socket.fromfd(a.fileno(), a.family, a.type)
        with g:
            assert type(g) is socket.socket
            assert g.fileno() != a.fileno()
            reader = runtime.spawn(g.recv, 100)
            runtime.sleep(0)  # parked in recv: the fd is non-blocking, the hub waits for it
            b.sendall(b"via fromfd")
            assert reader.wait() == b"via fromfd"
        a.sendall(b"the original still works")
        assert b.recv(100) == b"the original still works"


def test_create_connection_by_name_with_timeout_and_source_address(listener):
    port = listener.getsockname()[1]

    def accept_one() -> tuple[bytes, Any]:
        conn, addr = listener.accept()
        with conn:
            return conn.recv(100), addr

    server = runtime.spawn(accept_one)
    with socket.create_connection(("localhost", port), timeout=3, source_address=(LOCALHOST, 0)) as sock:
        assert type(sock) is socket.socket
        assert sock.gettimeout() == 3
        sock.sendall(b"by name")
        data, addr = server.wait()
        assert data == b"by name"
        assert addr == sock.getsockname()


def test_udp_recvfrom_and_sendto():
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with a, b:
        a.bind((LOCALHOST, 0))
        b.bind((LOCALHOST, 0))
        receiver = runtime.spawn(a.recvfrom, 100)
        runtime.sleep(0)  # parked in recvfrom
        assert b.sendto(b"ping", a.getsockname()) == 4
        assert receiver.wait() == (b"ping", b.getsockname())
        assert a.sendto(b"pong", 0, b.getsockname()) == 4  # the (data, flags, address) form
        buf = bytearray(100)
        assert b.recvfrom_into(buf) == (4, a.getsockname())
        assert buf[:4] == b"pong"
        a.settimeout(0.05)
        with pytest.raises(socket.timeout):
            a.recvfrom(100)


@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_a_socket_freed_without_close_leaves_its_fd_number_usable():
    # Its finalizer closes the fd: the hub must forget the fd, or a new socket given the same number is never
    # registered with the poller and waits forever.
    def recv_one(sock: socket.socket) -> bytes:
        return sock.recv(1)

    a, b = socket.socketpair()
    reader = runtime.spawn(recv_one, a)
    runtime.sleep(0)  # the hub now watches a's fd
    b.sendall(b"x")
    assert reader.wait() == b"x"
    fd = a.fileno()
    del a, reader  # the last references: the socket's finalizer closes the fd
    gc.collect()
    c, d = socket.socketpair()
    with b, c, d:
        assert c.fileno() == fd  # the lowest free number: a's
        c.settimeout(0.2)
        reader = runtime.spawn(recv_one, c)
        runtime.sleep(0)  # parked in recv on the reused fd number
        d.sendall(b"y")
        assert reader.wait() == b"y"


# ---------------------------------------------------------------- memory

IDLE_SERVER = """
import runtime


def handle(sock, addr):
    with sock, sock.makefile("rw") as f:
        while True:
            line = f.readline()
            if not line:
                break
            f.write(line)
            f.flush()


server = runtime.listen(("127.0.0.1", 0), backlog=1024)
print(server.getsockname()[1], flush=True)
runtime.serve(server, handle, concurrency=10_000)
"""

IDLE_CONNECTIONS = 1000
MAX_BYTES_PER_CONNECTION = 64 << 10


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


@pytest.fixture
def enough_fds() -> Iterator[None]:
    """Raise the soft limit on open files (for this process and its children) if 1,000 connections need it."""
    need = 2 * IDLE_CONNECTIONS + 200
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            pytest.skip(f"needs {need} open files, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads VmRSS from /proc")
def test_1000_idle_connections_cost_bounded_memory(tmp_path: Path, hub: Hub, enough_fds: None):
    program = tmp_path / "echo_server.py"
    program.write_text(textwrap.dedent(IDLE_SERVER).lstrip())
    env = {**os.environ, "GREENSCOPE_HUB": hub.poller.name}
    proc = subprocess.Popen([sys.executable, str(program)], stdout=subprocess.PIPE, env=env)
    clients: list[socket.socket] = []
    try:
        assert proc.stdout is not None
        first_line = tpool.execute(proc.stdout.readline)
        assert first_line, "the server did not start"
        address = (LOCALHOST, int(first_line))

        def connect_and_echo(i: int) -> socket.socket:
            sock = runtime.connect(address)
            sock.settimeout(10)
            assert _echoes(sock, b"hello %d" % i)  # its handler is running, and is now idle in readline
            return sock

        pool = runtime.GreenPool(50)  # fewer connects at once than the listen backlog
        for sock in list(pool.imap(connect_and_echo, range(20))):  # warm up: code paths, first allocations
            sock.close()
        before = _rss_kib(proc.pid)
        clients.extend(pool.imap(connect_and_echo, range(IDLE_CONNECTIONS)))
        after = _rss_kib(proc.pid)
        per_connection = (after - before) * 1024 / IDLE_CONNECTIONS
        print(
            f"\n[{hub.poller.name}] server RSS {before} KiB -> {after} KiB with {IDLE_CONNECTIONS} idle connections:"
            f" {per_connection / 1024:.1f} KiB per connection"
        )
        assert per_connection < MAX_BYTES_PER_CONNECTION
        assert all(_echoes(sock, b"still there") for sock in clients[:: IDLE_CONNECTIONS // 10])
    finally:
        for sock in clients:
            sock.close()
        proc.kill()
        tpool.execute(proc.communicate, timeout=10)


def test_a_handler_failing_after_serve_ended_does_not_reach_its_caller():
    listener = runtime.listen(("127.0.0.1", 0))
    release, after = runtime.Event(), runtime.Event()

    def handle(conn, addr):
        with conn:
            if conn.recv(1) == b"!":
                raise runtime.StopServe
            release.wait()
            raise ValueError("late failure")

    ended = runtime.Event()

    def caller():
        runtime.serve(listener, handle)
        ended.send()
        after.wait()  # the caller goes on with its life: a late failure must not land here
        return "unharmed"

    gt = runtime.spawn(caller)
    slow = runtime.connect(listener.getsockname())
    slow.sendall(b"x")
    stopper = runtime.connect(listener.getsockname())
    stopper.sendall(b"!")
    runtime.debug.hub_exceptions(False)
    ended.wait()
    release.send()  # the slow handler fails now, after serve() has ended...
    assert slow.recv(1) == b""  # ...closing its connection as it goes
    after.send()
    assert gt.wait() == "unharmed"
    for s in (slow, stopper, listener):
        s.close()

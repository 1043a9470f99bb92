"""A green `socket` module: the stdlib's API; blocking calls park the greenthread.

A green socket is a `socket.socket` whose fd is always non-blocking in the OS. A call
that would block waits for the fd through the hub (``Hub.wait_fd``) and retries, so
the other greenthreads run meanwhile. `settimeout`, `setblocking` and `gettimeout` keep
the stdlib's meaning (``socket.timeout`` when a call takes too long; 0 means a call
that would block raises `BlockingIOError`).

Name resolution (`getaddrinfo`, `gethostbyname`, ...) never blocks the hub: a numeric
address is resolved in place (no lookup is needed); anything else runs in an OS thread
through `runtime.tpool.execute` while the calling greenthread parks.

`close()` tells the hub first, so a greenthread parked on the socket wakes with
`runtime.hubs.IOClosed` instead of waiting forever.
"""

from __future__ import annotations

import errno
import os
import socket as _stdlib
from socket import *  # noqa: F403 -- the constants and the rest of the stdlib's API
from typing import Any

from runtime import tpool
from runtime.hubs import _local, existing_hub, get_hub

try:  # the optional C helper: recv and recv_into that return None where the C socket's raise BlockingIOError
    if os.environ.get("GREENSCOPE_PURE_PYTHON"):
        raise ImportError("GREENSCOPE_PURE_PYTHON is set")
    from runtime import _sockio
except ImportError:
    _sockio = None  # type: ignore[assignment]

__all__ = list(_stdlib.__all__)  # the same names as the stdlib's

timeout = _stdlib.timeout
error = OSError
_C = _stdlib._socket.socket  # the C socket type: its methods never wait in our fds
_GLOBAL_DEFAULT_TIMEOUT = _stdlib._GLOBAL_DEFAULT_TIMEOUT  # http.client and others use it
# The stdlib's own functions, taken now: monkey_patch may put ours in their place later.
_getaddrinfo = _stdlib.getaddrinfo
_gethostbyname = _stdlib.gethostbyname
_gethostbyname_ex = _stdlib.gethostbyname_ex
_gethostbyaddr = _stdlib.gethostbyaddr
_getnameinfo = _stdlib.getnameinfo
_getfqdn = _stdlib.getfqdn
_socketpair = _stdlib.socketpair
_create_server = _stdlib.create_server
_getdefaulttimeout = _stdlib.getdefaulttimeout
_CONNECTING = {errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK}
if _sockio is not None:
    _recv, _recv_into = _sockio.recv, _sockio.recv_into


class socket(_stdlib.socket):
    """A socket whose blocking calls park the calling greenthread."""

    __slots__ = ("_gs_hub", "_gs_peer", "_gs_timeout")

    def __init__(
        self,
        family: int = -1,
        type: int = -1,
        proto: int = -1,
        fileno: int | None = None,
    ) -> None:
        super().__init__(family, type, proto, fileno)
        _C.setblocking(self, False)
        self._gs_timeout: float | None = _getdefaulttimeout()
        self._gs_hub: Any = None  # the hub that watched its fd, told when the fd closes
        self._gs_peer: str | None = None  # who is at the other end, as the tracer shows its waits

    # -------------------------------------------------------------- timeouts

    def settimeout(self, value: float | None) -> None:
        if value is not None:
            value = float(value)
            if value < 0:
                raise ValueError("Timeout value out of range")
        self._gs_timeout = value

    def gettimeout(self) -> float | None:
        return self._gs_timeout

    def setblocking(self, flag: bool) -> None:
        self._gs_timeout = None if flag else 0.0

    def getblocking(self) -> bool:
        return self._gs_timeout != 0.0

    def _wait(self, write: bool, timeout: float | None) -> None:
        # Park until the fd is ready, or raise what the stdlib would for this timeout.
        if timeout == 0.0:
            raise BlockingIOError(errno.EWOULDBLOCK, "operation would block")
        try:
            hub = _local.hub  # get_hub() without the call
        except AttributeError:
            hub = get_hub()
        self._gs_hub = hub
        if not hub.wait_fd(self.fileno(), write, timeout, self._gs_peer or self._peer()):
            raise TimeoutError("timed out")

    def _peer(self) -> str | None:
        """`peer_name`, kept once known (connect_ex names its target while connecting)."""
        self._gs_peer = peer_name(self)
        return self._gs_peer

    # -------------------------------------------------------------- connecting

    def accept(self) -> tuple[socket, Any]:
        while True:
            try:
                fd, addr = self._accept()
            except BlockingIOError:
                self._wait(False, self._gs_timeout)
                continue
            sock = socket(self.family, self.type, self.proto, fileno=fd)
            sock._gs_peer = _address(addr)
            if _getdefaulttimeout() is None and self._gs_timeout is not None:
                sock.settimeout(self._gs_timeout)  # as the stdlib does
            return sock, addr

    def connect(self, address: Any) -> None:
        err = self.connect_ex(address)
        if err:
            raise OSError(err, os.strerror(err))

    def connect_ex(self, address: Any) -> int:
        address = _resolved(self.family, address)
        err = _C.connect_ex(self, address)
        if err in _CONNECTING:
            self._gs_peer = _address(address)
            try:
                self._wait(True, self._gs_timeout)
            except BlockingIOError:
                return err
            err = self.getsockopt(SOL_SOCKET, SO_ERROR)  # noqa: F405
        return 0 if err == errno.EISCONN else err

    # -------------------------------------------------------------- receiving

    if _sockio is None:

        def recv(self, bufsize: int, flags: int = 0) -> bytes:
            while True:
                try:
                    return _C.recv(self, bufsize, flags)
                except BlockingIOError:
                    self._wait(False, self._gs_timeout)

        def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
            while True:
                try:
                    return _C.recv_into(self, buffer, nbytes, flags)
                except BlockingIOError:
                    self._wait(False, self._gs_timeout)

    else:  # the same without an exception per wait

        def recv(self, bufsize: int, flags: int = 0) -> bytes:
            while True:
                data = _recv(self.fileno(), bufsize, flags)
                if data is not None:
                    return data
                self._wait(False, self._gs_timeout)

        def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
            while True:
                n = _recv_into(self.fileno(), buffer, nbytes, flags)
                if n is not None:
                    return n
                self._wait(False, self._gs_timeout)

    def recvfrom(self, bufsize: int, flags: int = 0) -> tuple[bytes, Any]:
        while True:
            try:
                return _C.recvfrom(self, bufsize, flags)
            except BlockingIOError:
                self._wait(False, self._gs_timeout)

    def recvfrom_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> tuple[int, Any]:
        while True:
            try:
                return _C.recvfrom_into(self, buffer, nbytes, flags)
            except BlockingIOError:
                self._wait(False, self._gs_timeout)

    # -------------------------------------------------------------- sending

    def send(self, data: Any, flags: int = 0) -> int:
        while True:
            try:
                return _C.send(self, data, flags)
            except BlockingIOError:
                self._wait(True, self._gs_timeout)

    def sendto(self, data: Any, flags_or_address: Any, address: Any = None) -> int:
        args = (data, flags_or_address) if address is None else (data, flags_or_address, address)
        while True:
            try:
                return _C.sendto(self, *args)
            except BlockingIOError:
                self._wait(True, self._gs_timeout)

    def sendall(self, data: Any, flags: int = 0) -> None:
        # One deadline for the whole call, as the stdlib has had since 3.5.
        view = memoryview(data).cast("B")
        deadline = None if not self._gs_timeout else get_hub().clock() + self._gs_timeout
        sent = 0
        while sent < len(view):
            try:
                sent += _C.send(self, view[sent:], flags)
            except BlockingIOError:
                if deadline is None:
                    self._wait(True, self._gs_timeout)
                else:
                    left = deadline - get_hub().clock()
                    if left <= 0:
                        raise TimeoutError("timed out") from None
                    self._wait(True, left)

    def sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        # The stdlib's os.sendfile path blocks in its own selector: send in chunks instead.
        return self._sendfile_use_send(file, offset, count)

    # -------------------------------------------------------------- closing

    def _forget_fd(self) -> None:
        # The fd is about to close or leave: the hub that watched it (through this socket,
        # or through select) must forget it first, and wake whoever waits on it.
        fd = self.fileno()
        hub = self._gs_hub or existing_hub()
        if hub is not None and fd >= 0:
            self._gs_hub = None
            hub.notify_close(fd)

    def _real_close(self, _ss: Any = _stdlib.socket) -> None:
        self._forget_fd()
        super()._real_close()

    def detach(self) -> int:
        self._forget_fd()
        return super().detach()

    def __del__(self) -> None:
        # Dropped without close() (eventlet's echo server example drops its sockets): the C
        # finalizer closes the fd, so the hub must forget it now, or a new socket that
        # gets the same fd number would never be watched.
        self._forget_fd()
        super().__del__()


SocketType = socket


def _green(sock: _stdlib.socket) -> socket:
    """The green socket for a stdlib one (which gives up its fd)."""
    timeout_ = sock.gettimeout()
    green = socket(sock.family, sock.type, sock.proto, fileno=sock.detach())
    green.settimeout(timeout_)
    return green


def socketpair(family: int = AF_UNIX, type: int = SOCK_STREAM, proto: int = 0) -> tuple[socket, socket]:  # noqa: F405
    """A pair of connected green sockets."""
    a, b = _socketpair(family, type, proto)
    return _green(a), _green(b)


def fromfd(fd: int, family: int, type: int, proto: int = 0) -> socket:
    """A green socket on a duplicate of `fd`."""
    return socket(family, type, proto, fileno=os.dup(fd))


# -------------------------------------------------------------- name resolution


def _numeric(host: Any) -> bool:
    if host is None or host == "" or isinstance(host, int):
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    for family in (AF_INET, AF_INET6):  # noqa: F405
        try:
            inet_pton(family, host.split("%", 1)[0])  # noqa: F405
            return True
        except (OSError, ValueError):
            pass
    return False


def getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0) -> list:
    """The stdlib's getaddrinfo; a name (not a numeric address) is looked up in an OS thread."""
    if _numeric(host):
        return _getaddrinfo(host, port, family, type, proto, flags)
    return tpool.execute(_getaddrinfo, host, port, family, type, proto, flags)


def gethostbyname(hostname: str) -> str:
    """The stdlib's gethostbyname, looked up in an OS thread unless numeric."""
    if _numeric(hostname):
        return _gethostbyname(hostname)
    return tpool.execute(_gethostbyname, hostname)


def gethostbyname_ex(hostname: str) -> tuple[str, list[str], list[str]]:
    """The stdlib's gethostbyname_ex, in an OS thread."""
    return tpool.execute(_gethostbyname_ex, hostname)


def gethostbyaddr(ip_address: str) -> tuple[str, list[str], list[str]]:
    """The stdlib's gethostbyaddr, in an OS thread."""
    return tpool.execute(_gethostbyaddr, ip_address)


def getnameinfo(sockaddr: tuple, flags: int) -> tuple[str, str]:
    """The stdlib's getnameinfo, in an OS thread."""
    return tpool.execute(_getnameinfo, sockaddr, flags)


def getfqdn(name: str = "") -> str:
    """The stdlib's getfqdn, in an OS thread."""
    return tpool.execute(_getfqdn, name)


def peer_name(sock: Any) -> str | None:
    """Who is at the other end of `sock` (``127.0.0.1:8080``), or for a listening socket ``listening``
    and its address: what the tracer names a wait on it by. None if neither can be told."""
    try:
        return _address(sock.getpeername())
    except OSError:  # not connected: listening
        try:
            return f"listening {_address(sock.getsockname())}"
        except OSError:
            return None


def _address(address: Any) -> str:
    """An address as people read it: ``127.0.0.1:8080``, ``[::1]:8080``, a unix socket's path."""
    if isinstance(address, tuple) and len(address) >= 2:
        host = str(address[0])
        return f"[{host}]:{address[1]}" if ":" in host else f"{host}:{address[1]}"
    if isinstance(address, bytes):
        address = address.decode("utf-8", "replace")
    return str(address) or "an unnamed unix socket"


def _resolved(family: int, address: Any) -> Any:
    # An (host, port, ...) address whose host is a name becomes a numeric one, looked up
    # off the hub: the C connect would otherwise resolve it and block every greenthread.
    if family not in (AF_INET, AF_INET6) or not isinstance(address, tuple) or _numeric(address[0]):  # noqa: F405
        return address
    infos = getaddrinfo(address[0], address[1], family, SOCK_STREAM)  # noqa: F405
    return (infos[0][4][0], *address[1:])


def create_connection(
    address: tuple, timeout: Any = _GLOBAL_DEFAULT_TIMEOUT, source_address: Any = None, **kw: Any
) -> socket:
    """Connect to (host, port), trying each address getaddrinfo gives; the stdlib's semantics."""
    host, port = address
    errors = []
    for family, type_, proto, _canonname, sockaddr in getaddrinfo(host, port, 0, SOCK_STREAM):  # noqa: F405
        sock = None
        try:
            sock = socket(family, type_, proto)
            if timeout is not _GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as e:
            errors.append(e)
            if sock is not None:
                sock.close()
    if errors:
        raise errors[0]
    raise OSError("getaddrinfo returns an empty list")


def create_server(address: Any, *, family: int = AF_INET, backlog: int | None = None, **kw: Any) -> socket:  # noqa: F405
    """The stdlib's create_server, returning a green socket."""
    return _green(_create_server(address, family=family, backlog=backlog, **kw))

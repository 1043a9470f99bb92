"""eventlet's echo server: a greenthread per connection, reading lines and writing them back.
Ctrl-C stops it.

    python eventlet_echo.py [PORT]          # then: nc 127.0.0.1 6000
"""

import sys

import eventlet


def handle(fd):
    print("client connected", flush=True)
    while True:
        line = fd.readline()  # parks this greenthread until the client sends a line
        if not line:
            break
        fd.write(line)
        fd.flush()
    print("client disconnected", flush=True)


server = eventlet.listen(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 6000))
print(f"echo server on 127.0.0.1:{server.getsockname()[1]}", flush=True)
pool = eventlet.GreenPool()
try:
    while True:
        sock, address = server.accept()
        pool.spawn_n(handle, sock.makefile("rw"))
except KeyboardInterrupt:
    print("bye", flush=True)

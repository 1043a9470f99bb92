"""gevent's echo server: a StreamServer spawns a greenlet per connection, which echoes its lines.
Ctrl-C stops it.

    python gevent_echo.py [PORT]            # then: nc 127.0.0.1 6000
"""

import sys

from gevent.server import StreamServer


def echo(sock, address):
    print("client connected", flush=True)
    rfile = sock.makefile("rb")
    while True:
        line = rfile.readline()  # parks this greenlet until the client sends a line
        if not line:
            break
        sock.sendall(line)
    rfile.close()
    print("client disconnected", flush=True)


server = StreamServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 6000), echo)
server.start()
print(f"echo server on 127.0.0.1:{server.server_port}", flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    print("bye", flush=True)

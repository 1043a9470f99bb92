"""An echo server, written as eventlet's examples/echoserver.py is: a GreenPool of handlers, each
echoing the lines of one client through a file made from its socket; Ctrl-C stops it.

    python examples/eventlet_style/echo_server.py [PORT]     # then: telnet 127.0.0.1 6000
"""

import sys

import runtime as eventlet

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 6000


def handle(fd):
    print("client connected")
    while True:
        # pass through every non-eof line
        x = fd.readline()
        if not x:
            break
        fd.write(x)
        fd.flush()
        print("echoed", x, end="")
    print("client disconnected")


server = eventlet.listen(("127.0.0.1", PORT))
print(f"server socket listening on port {server.getsockname()[1]}")
pool = eventlet.GreenPool()
while True:
    try:
        new_sock, address = server.accept()
        print("accepted", address)
        pool.spawn_n(handle, new_sock.makefile("rw"))
    except (SystemExit, KeyboardInterrupt):
        break

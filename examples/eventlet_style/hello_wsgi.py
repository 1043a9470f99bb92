"""A WSGI application on runtime.wsgi, written as eventlet's examples/wsgi.py is: str bodies, the
server's log on stderr, Ctrl-C to stop ("wsgi exiting", exit status 0).

    python examples/eventlet_style/hello_wsgi.py [PORT]     # then: curl http://127.0.0.1:8090/
"""

import sys

import runtime as eventlet
from runtime import wsgi

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 8090


def hello_world(env, start_response):
    if env["PATH_INFO"] != "/":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return ["Not Found\r\n"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return ["Hello, World!\r\n"]


wsgi.server(eventlet.listen(("127.0.0.1", PORT)), hello_world)

"""A websocket server on runtime.websocket, written as eventlet's examples/websocket.py is: one
handler for two paths (/echo sends back what it gets, /data streams numbers), the page elsewhere.

    python examples/eventlet_style/websocket_echo.py [PORT]     # then open http://127.0.0.1:7000/
"""

import random
import sys

import runtime as eventlet
from runtime import websocket, wsgi

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 7000

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>websocket data</title></head>
<body><pre id="out"></pre>
<script>
const ws = new WebSocket("ws://" + location.host + "/data");
ws.onmessage = (e) => { out.textContent = e.data + out.textContent; };
</script></body></html>
"""


@websocket.WebSocketWSGI
def handle(ws):
    """Dispatches on the path too: /echo or /data."""
    if ws.path == "/echo":
        while True:
            m = ws.wait()
            if m is None:
                break
            ws.send(m)
    elif ws.path == "/data":
        for i in range(10000):
            ws.send(f"0 {i} {random.random()}\n")
            eventlet.sleep(0.1)


def dispatch(environ, start_response):
    """The websocket for its paths, the page for the others."""
    if environ["PATH_INFO"] in ("/echo", "/data"):
        return handle(environ, start_response)
    start_response("200 OK", [("content-type", "text/html")])
    return [PAGE]


if __name__ == "__main__":
    listener = eventlet.listen(("127.0.0.1", PORT))
    print(f"\nVisit http://localhost:{listener.getsockname()[1]}/ in your websocket-capable browser.\n")
    wsgi.server(listener, dispatch)

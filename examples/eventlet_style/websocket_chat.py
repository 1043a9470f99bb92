"""A chat room on websockets, written as eventlet's examples/websocket_chat.py is: every message a
participant sends goes to every participant (the sender too).

    python examples/eventlet_style/websocket_chat.py [PORT]     # then open http://127.0.0.1:7000/
"""

import sys

import runtime as eventlet
from runtime import websocket, wsgi

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 7000

participants = set()

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>chat</title></head>
<body><form id="f"><input id="m" autocomplete="off"><button>Send</button></form><ul id="log"></ul>
<script>
const ws = new WebSocket("ws://localhost:%(port)s/chat");
ws.onmessage = (e) => { const li = document.createElement("li"); li.textContent = e.data; log.append(li); };
f.onsubmit = (e) => { e.preventDefault(); ws.send(m.value); m.value = ""; };
</script></body></html>
"""


@websocket.WebSocketWSGI
def handle(ws):
    participants.add(ws)
    try:
        while True:
            m = ws.wait()
            if m is None:
                break
            for p in participants:
                p.send(m)
    finally:
        participants.remove(ws)


def dispatch(environ, start_response):
    """The chat's websocket at /chat, the page elsewhere."""
    if environ["PATH_INFO"] == "/chat":
        return handle(environ, start_response)
    start_response("200 OK", [("content-type", "text/html")])
    return [PAGE % {"port": PORT}]


if __name__ == "__main__":
    listener = eventlet.listen(("127.0.0.1", PORT))
    PORT = listener.getsockname()[1]
    print(f"\nVisit http://localhost:{PORT}/ in your websocket-capable browser.\n")
    wsgi.server(listener, dispatch)

"""A chat room over plain TCP, written as eventlet's examples/chat_server.py is: a line from one
participant goes to all the others; Ctrl-C stops it.

    python examples/eventlet_style/chat_server.py [PORT]     # then: telnet 127.0.0.1 3001, twice
"""

import errno
import sys

import runtime as eventlet

PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 3001
participants = set()


def read_chat_forever(writer, reader):
    line = reader.readline()
    while line:
        print("Chat:", line.strip())
        for p in participants:
            try:
                if p is not writer:  # Don't echo
                    p.write(line)
                    p.flush()
            except OSError as e:
                # a broken pipe just means the participant closed its connection already
                if e.errno != errno.EPIPE:
                    raise
        line = reader.readline()
    participants.remove(writer)
    print("Participant left chat.")


try:
    server = eventlet.listen(("127.0.0.1", PORT))
    print(f"ChatServer starting up on port {server.getsockname()[1]}")
    while True:
        new_connection, address = server.accept()
        print("Participant joined chat.")
        new_writer = new_connection.makefile("w")
        participants.add(new_writer)
        eventlet.spawn_n(read_chat_forever, new_writer, new_connection.makefile("r"))
except (KeyboardInterrupt, SystemExit):
    print("ChatServer exiting.")

"""One lane of N tiny intervals: a greenthread that yields N/2 times in a row.

greenscope record -o tiny.gsc examples/timeline/tiny.py [N]
"""

import sys

import runtime as eventlet

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000


def yielder():
    for _ in range(N // 2):
        eventlet.sleep(0)


eventlet.spawn(yielder).wait()

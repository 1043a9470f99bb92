"""A greenthread calls blocking code — the real `time.sleep` — and stalls the hub: every
other greenthread stops with it. This workload runs without monkey-patching.

`tickers` greenthreads tick every `tick` seconds; every `every` seconds the blocker blocks
for `block` seconds, `stalls` times; `continuous`: until stopped.
"""

import itertools
import time

import runtime as eventlet
from visualizer.workloads.schema import parse

MONKEY_PATCH = False
PARAMS = {
    "tickers": {"type": "int", "default": 5, "min": 1, "max": 1000, "description": "greenthreads ticking along"},
    "tick": {"type": "float", "default": 0.1, "min": 0.001, "max": 1.0, "description": "a ticker's period (s)"},
    "stalls": {"type": "int", "default": 10, "min": 1, "max": 1000, "description": "times the blocker blocks"},
    "block": {"type": "float", "default": 0.5, "min": 0.0, "max": 30.0, "description": "how long each block lasts (s)"},
    "every": {"type": "float", "default": 1.0, "min": 0.0, "max": 60.0, "description": "time between blocks (s)"},
    "continuous": {"type": "bool", "default": False, "description": "block again and again until stopped"},
}

args = parse(PARAMS)


def ticker():
    while True:
        eventlet.sleep(args.tick)


def blocker():
    for _ in itertools.count() if args.continuous else range(args.stalls):
        eventlet.sleep(args.every)
        time.sleep(args.block)  # blocks the OS thread: the hub, and every greenthread, waits


tickers = [eventlet.spawn(ticker) for _ in range(args.tickers)]
eventlet.spawn(blocker).wait()
for t in tickers:
    t.kill()
print(f"blocked the hub {args.stalls} times")

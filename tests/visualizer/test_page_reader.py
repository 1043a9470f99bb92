"""The page's reader (static/js/events.js `readBatch`, run by Node) on batches made by `visualizer.sessions.wire`:
every value as the events had it, timestamps counted exactly from an origin past 2**53 ns."""

from __future__ import annotations

import base64
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.trace.events import BLOCK, EXIT, KIND_NAMES, SPAWN, SWITCH, WAKE
from runtime.trace.states import schema
from visualizer.sessions import Chunk, wire

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = 2**60 + 12_345  # a machine up for 36 years: its ns are not exact in a float64


@pytest.fixture(scope="module")
def node() -> str:
    """A Node.js (scripts/find_node.sh installs one if need be)."""
    found = subprocess.run([str(ROOT / "scripts" / "find_node.sh")], capture_output=True, text=True, check=True)
    return found.stdout.strip()


def read_by_the_page(node: str, batches: list[dict]) -> list[list]:
    request = {
        "schema": schema(),
        "batches": [{**b, "data": base64.b64encode(b["data"]).decode(), "origin": str(ORIGIN)} for b in batches],
    }
    result = subprocess.run(
        [node, str(ROOT / "tests" / "js" / "read_cli.mjs")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
        env={"GREENSCOPE_PYTHON": sys.executable, "PATH": "/usr/bin:/bin:/usr/local/bin"},
    )
    return json.loads(result.stdout)


def events(rng: random.Random, first: int, n: int, places: int) -> list[tuple]:
    """`n` events from index `first`: ints past 2**32 and below 0, strings and numbers over and over (`places`
    distinct code lines), None, a mostly distinct column."""
    out = []
    for i in range(first, first + n):
        ts, gid = ORIGIN + 1_000 * i + rng.randrange(1_000), rng.choice((2, 3, 2**40 + 1))
        roll = rng.random()
        if roll < 0.4:
            out.append((SWITCH, ts, rng.choice((0, -1, gid)), gid))
        elif roll < 0.7:
            reason = rng.choice(("io_read", "sleep", "lock"))
            detail = rng.choice((None, 0.25, 7, "10.0.0.1:80"))
            out.append((BLOCK, ts, gid, reason, rng.choice((None, 2**45)), detail, f"a.py:{rng.randrange(places)}"))
        elif roll < 0.9:
            out.append((WAKE, ts, gid, rng.choice(("timer", "fd_ready")), rng.choice((None, 0, 5)), i))
        elif roll < 0.97:
            out.append((SPAWN, ts, 10_000 + i, 1, "work", f"b.py:{i}", None))  # a site each: a list
        else:
            out.append((EXIT, ts, gid, "error", f"E: {i % 3}"))
    return out


def as_read(evs: list[tuple]) -> list[list]:
    return [[KIND_NAMES[kind], ts - ORIGIN, *fields] for kind, ts, *fields in evs]


@pytest.mark.parametrize("places", [3, 300])  # indexes of 1 byte, and of 2
def test_the_page_reads_back_every_event_a_batch_of_several_chunks_holds(node: str, places: int):
    rng = random.Random(places)
    parts = [events(rng, first, 2500, places) for first in (0, 2500, 5000)]
    chunks = [Chunk.of(2500 * k, part) for k, part in enumerate(parts)]
    batches = [wire(chunks), wire([chunks[1].slice(3, 500)]), wire(chunks[2:])]
    where = batches[0]["columns"]["block"]["where"]
    assert isinstance(where, dict) and (len(where["table"]) > 256) == (places > 256)
    assert isinstance(batches[0]["columns"]["spawn"]["site"], list)
    read = read_by_the_page(node, batches)
    assert read == [as_read(parts[0] + parts[1] + parts[2]), as_read(parts[1][3:500]), as_read(parts[2])]

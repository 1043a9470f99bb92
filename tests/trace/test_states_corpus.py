"""The state semantics, held in one place: the golden corpus (tests/corpus/states) against
`runtime.trace.states`, and random event streams through both `states.py` and the page's
`static/js/trace.js` (run by Node) giving the same intervals."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.trace.events import KIND_CODES
from runtime.trace.states import intervals, schema

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted((ROOT / "tests" / "corpus" / "states").glob("*.json"))


def coded(events: list[list]) -> list[tuple]:
    return [(KIND_CODES[kind], *rest) for kind, *rest in events]


def as_lists(ivs: dict[int, list]) -> dict[str, list]:
    return {str(gid): [list(iv) for iv in lane] for gid, lane in ivs.items()}


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_the_golden_corpus(path: Path):
    case = json.loads(path.read_text())
    assert as_lists(intervals(coded(case["events"]), case.get("midway", False))) == case["intervals"], case["about"]


def random_stream(rng: random.Random, length: int) -> list[tuple]:
    """Any stream at all — plausible or not — that both sides must read alike: a few gids, every kind the
    state machine looks at, ts mostly rising, sometimes going back."""
    reasons = [*schema()["blocked_by"], "semaphore", "event", "join", "lock", "odd"]
    ts = rng.randrange(10**6, 10**9)
    out: list[tuple] = []
    pick = rng.choice
    for _ in range(length):
        ts += pick((0, 1, 5, 100, 10_000)) if rng.random() > 0.05 else -rng.randrange(0, 500)
        gid = rng.randrange(1, 6)
        roll = rng.random()
        if roll < 0.35:
            out.append((KIND_CODES["switch"], ts, pick((0, gid)), pick((0, rng.randrange(1, 6)))))
        elif roll < 0.5:
            out.append((KIND_CODES["block"], ts, gid, pick(reasons), pick((None, 7)), pick((None, 3))))
        elif roll < 0.65:
            out.append((KIND_CODES["wake"], ts, gid, pick(("timer", "put", "fd_ready", None)), rng.randrange(0, 6)))
        elif roll < 0.75:
            out.append((KIND_CODES["spawn"], ts, gid, 1, "f", "p.py:1", pick((None, 99))))
        elif roll < 0.83:
            out.append((KIND_CODES["exit"], ts, gid, pick(("ok", "error", "killed")), None))
        elif roll < 0.86:
            out.append((KIND_CODES["dropped"], ts, rng.randrange(1, 50)))
        else:
            out.append((KIND_CODES["hub_wait"], ts, None) if roll < 0.93 else (KIND_CODES["timers"], ts, 1))
    return out


@pytest.fixture(scope="module")
def node() -> str:
    """A Node.js (scripts/find_node.sh installs one if need be)."""
    found = subprocess.run([str(ROOT / "scripts" / "find_node.sh")], capture_output=True, text=True, check=True)
    return found.stdout.strip()


@pytest.mark.parametrize(("batch", "midway"), [(1, False), (7, False), (10_000, False), (7, True)])
def test_the_page_and_python_read_every_stream_alike(node: str, batch: int, midway: bool):
    rng = random.Random(batch)
    streams = [random_stream(rng, rng.randrange(1, 120)) for _ in range(300)]
    request = json.dumps({"schema": schema(), "streams": streams, "batch": batch, "midway": midway})
    result = subprocess.run(
        [node, str(ROOT / "tests" / "js" / "intervals_cli.mjs")],
        input=request,
        capture_output=True,
        text=True,
        check=True,
        env={"GREENSCOPE_PYTHON": sys.executable, "PATH": "/usr/bin:/bin:/usr/local/bin"},
    )
    for events, js in zip(streams, json.loads(result.stdout), strict=True):
        assert js == as_lists(intervals(events, midway)), events

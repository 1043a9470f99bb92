"""The built-in workloads run for real, traced (`greenscope record`, real sockets on 127.0.0.1): what
their defaults last, that `continuous` goes on until SIGTERM ends it, the shapes the classic
programs are shown for, and the names their pools and queues carry in the recording."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from runtime.trace.codec import EVENTS, Decoder, read_recording
from runtime.trace.events import KIND_NAMES
from runtime.trace.states import IO, check, intervals
from tests.support.dashboard import Server, wait_until
from visualizer.workloads import workloads
from visualizer.workloads.schema import to_argv

#: a short run of each workload: over in well under a second, long enough to show its shape
SHORT = {
    "crawler": {"pages": 5, "delay": 0.01},
    "webcrawler": {"urls": 9, "size": 3, "delay": 0.02},
    "echo": {"clients": 3, "lines": 4, "pause": 0.01, "rude": 1},
    "pile": {"urls": 3, "rounds": 2, "delay": 0.02},
    "pipeline": {"items": 3, "produce": 0.002, "work": 0.003},
    "saturation": {"duration": 0.2, "service": 0.02},
    "blocker": {"stalls": 2, "block": 0.05, "every": 0.02, "tick": 0.01},
}

# a workload run on virtual time (the runtime's TestClock: sleeps take none, sockets stay real): prints how
# long its schedule took, then its exit status
VIRTUAL = """
import sys
from pathlib import Path

import runtime
from runtime import hubs
from runtime.tracer import run_program

hub = hubs.use_hub(None, hubs.TestClock())
runtime.monkey_patch()
status = run_program(Path(sys.argv[1]), sys.argv[1:])
print(hub.clock(), status)
"""


def command(name: str, params: dict, out: Path) -> list[str]:
    """`greenscope record` running workload `name` with `params` (validated, as the launcher passes them)."""
    workload = workloads()[name]
    patch = [] if workload.monkey_patch else ["--no-patch"]
    argv = to_argv(workload.validate(params))
    return [sys.executable, "-m", "visualizer", "record", "-o", str(out), *patch, str(workload.path), *argv]


_recorded: dict[str, list[tuple]] = {}


def recorded(name: str, tmp_path_factory: pytest.TempPathFactory) -> list[tuple]:
    """The events of `name`'s SHORT run (made once per test session), which ended by itself."""
    if name not in _recorded:
        out = tmp_path_factory.mktemp(name) / "once.gsc"
        result = subprocess.run(command(name, SHORT[name], out), capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        _, events, complete = read_recording(out.read_bytes())
        assert complete and check(events) == []
        _recorded[name] = events
    return _recorded[name]


def written(path: Path) -> int:
    """Events in the whole frames of a recording being written."""
    data = path.read_bytes() if path.exists() else b""
    return sum(len(batch.kinds) for kind, batch in Decoder().feed(data) if kind == EVENTS)


def of_kind(events: Iterable[tuple], kind: str) -> list[tuple]:
    return [e for e in events if KIND_NAMES[e[0]] == kind]


def names(events: list[tuple]) -> set[str]:
    """The names of the pools and queues made, with the port of an address left out (``127.0.0.1:*``)."""
    made = [name for *_, name, _ in of_kind(events, "resource")]
    return {name.rsplit(":", 1)[0] + ":*" if "127.0.0.1:" in name else name for name in made}


def gids_of(events: list[tuple], func: str) -> set[int]:
    return {e[2] for e in of_kind(events, "spawn") if e[4] == func}


def test_every_workload_has_a_short_run_here():
    assert set(SHORT) == set(workloads())


@pytest.mark.parametrize("name", sorted(workloads()))
def test_the_defaults_make_a_ten_to_thirty_second_run(name: str, tmp_path: Path):
    """Measured on virtual time, which takes only the CPU time of the run; the blocker's stalls block the
    OS thread for real, which no clock skips: its length is counted from its parameters."""
    workload = workloads()[name]
    if name == "blocker":
        defaults = workload.validate({})
        seconds = defaults["stalls"] * (defaults["every"] + defaults["block"])
    else:
        run = [sys.executable, "-c", VIRTUAL, str(workload.path)]
        result = subprocess.run(run, capture_output=True, text=True, timeout=60, cwd=tmp_path)
        seconds, status = result.stdout.splitlines()[-1].split()
        assert status == "0", result.stderr
    assert 10 <= float(seconds) <= 30


@pytest.mark.parametrize("name", sorted(workloads()))
def test_continuous_goes_on_past_a_whole_run_until_sigterm_ends_it(
    name: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
):
    once = len(recorded(name, tmp_path_factory))
    out, err = tmp_path / "on.gsc", tmp_path / "stderr"
    with err.open("w") as stderr:
        proc = subprocess.Popen(command(name, {**SHORT[name], "continuous": True}, out), stderr=stderr)
    try:
        while written(out) <= 2 * once:  # twice what the same parameters do once, and on
            assert proc.poll() is None, err.read_text()
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=2) == 128 + signal.SIGTERM  # unwound at once by SystemExit
    _, events, complete = read_recording(out.read_bytes())
    assert complete and check(events) == [] and err.read_text() == ""


@pytest.mark.parametrize(
    ("name", "pools"),
    [
        ("crawler", {"crawler", "wsgi.server 127.0.0.1:*"}),
        ("webcrawler", {"crawler", "wsgi.server 127.0.0.1:*"}),
        ("echo", {"clients", "handlers"}),
        ("pile", {"pile", "serve 127.0.0.1:*"}),
        ("pipeline", {"jobs"}),
        ("saturation", {"servers"}),
    ],
)
def test_pools_and_queues_carry_the_names_users_know(
    name: str, pools: set[str], tmp_path_factory: pytest.TempPathFactory
):
    assert pools <= names(recorded(name, tmp_path_factory))


def test_the_classic_crawler_fills_its_pool_through_imap(tmp_path_factory: pytest.TempPathFactory):
    events = recorded("webcrawler", tmp_path_factory)
    [crawler] = [e[2] for e in of_kind(events, "resource") if e[4] == "crawler"]
    slots = [e[4:] for e in of_kind(events, "pool") if e[2] == crawler]  # (running, waiting)
    size, urls = SHORT["webcrawler"]["size"], SHORT["webcrawler"]["urls"]
    assert max(running for running, _ in slots) == size  # every slot busy
    [spawner] = gids_of(events, "imap_spawner")  # imap's own: it spawns as slots free, whatever main does
    waits = [e[3] for e in of_kind(events, "block") if e[2] == spawner]
    assert waits and set(waits) == {"pool_slot"}  # it waited for slots (the pool full), never for main
    main_waits = {e[3] for e in of_kind(events, "block") if e[2] == 1}
    assert main_waits <= {"join", "queue_get"}  # main only ever waits for the next fetch's answer
    assert len(gids_of(events, "fetch")) == urls


def test_the_classic_echo_servers_handlers_block_on_reads(tmp_path_factory: pytest.TempPathFactory):
    events = recorded("echo", tmp_path_factory)
    handlers = gids_of(events, "handle")
    assert len(handlers) == SHORT["echo"]["clients"]
    reads = {gid: 0 for gid in handlers}
    for e in of_kind(events, "block"):
        if e[2] in reads:
            assert e[3] == "io_read"  # a handler waits for nothing else
            reads[e[2]] += 1
    lines = SHORT["echo"]["lines"]
    typed = [lines // 2, lines, lines]  # the rude client hung up halfway
    # a wait for each line as it is typed (the first may have come before) and for the hang-up
    assert all(waits >= n for waits, n in zip(sorted(reads.values()), typed, strict=True))


def test_the_classic_piles_fetches_run_at_once(tmp_path_factory: pytest.TempPathFactory):
    events = recorded("pile", tmp_path_factory)
    fetches = gids_of(events, "geturl")
    urls, rounds = SHORT["pile"]["urls"], SHORT["pile"]["rounds"]
    assert len(fetches) == urls * rounds
    edges = sorted(
        (ts, step)
        for gid, ivs in intervals(events).items()
        if gid in fetches
        for start, end, state, _ in ivs
        if state == IO
        for ts, step in ((start, 1), (end, -1))
    )
    waiting, most = 0, 0
    for _, step in edges:  # an end before a start at the same instant: -1 sorts first
        waiting += step
        most = max(most, waiting)
    assert most == urls  # every fetch of a round waiting on its server at the same time


def test_serve_launches_its_demo_with_the_parameters_given_and_refuses_bad_ones(tmp_path: Path):
    """What `make run` does (``serve --open --demo crawler continuous=true``), here on a small site."""
    server = Server("--demo", "crawler", "continuous=true", "pages=5", "delay=0.01", log=tmp_path / "serve.log")
    try:
        [session] = server.get("api/sessions").json()
        assert session["workload"] == "crawler"
        assert session["params"] == workloads()["crawler"].validate({"continuous": True, "pages": 5, "delay": 0.01})
        url = f"api/sessions/{session['id']}"
        wait_until(lambda: (s := server.get(url).json())["state"] == "running" and s["events"] > 0, what="its events")
    finally:
        server.close()
    bad = subprocess.run(
        [sys.executable, "-m", "visualizer", "serve", "--port", "0", "--demo", "crawler", "pages=lots"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().endswith("--demo: params.pages: must be an integer, got 'lots'")

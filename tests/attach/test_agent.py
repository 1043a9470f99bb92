"""The agent of an eventlet or gevent program leaves greenscope's hub alone: the dashboard's live
control paces greenscope's runtime only (it refuses, and the agent would ignore it), and the HELLO
names no poller of ours."""

from __future__ import annotations

import threading
from pathlib import Path

from runtime.agent import Agent, process_info
from runtime.sinks import FileSink
from runtime.trace.codec import read_recording
from runtime.trace.recorder import Recorder
from tests.support.dashboard import Server, wait_until
from tests.support.programs import Program


def _started(tmp_path: Path, paced: bool) -> tuple[Agent, dict]:
    out = tmp_path / f"paced-{paced}.gsc"
    agents: list[Agent] = []

    def program() -> None:  # a thread of its own: no hub of ours there unless the agent makes one
        process = process_info("prog.py", traced_by=None if paced else "gevent 26.9.0")
        agents.append(Agent(Recorder(), [FileSink(str(out))], process, stall_ms=0, paced=paced).start())
        agents[0].stop()

    thread = threading.Thread(target=program)
    thread.start()
    thread.join()
    return agents[0], read_recording(out.read_bytes())[0]


def test_a_peers_agent_paces_nothing_and_names_no_poller(tmp_path: Path):
    agent, process = _started(tmp_path, paced=False)
    assert agent.pace is None  # pause, step and slow motion are ignored
    assert "poller" not in process and process["runtime"] == "gevent 26.9.0"


def test_greenscopes_agent_paces_its_hub(tmp_path: Path):
    agent, process = _started(tmp_path, paced=True)
    assert agent.pace is not None and process["poller"]


PEER_APP = """\
import sys

import gevent

print("ready", flush=True)
sys.stdin.readline()  # until the test says
"""


def test_the_dashboard_refuses_to_pace_a_peers_program(server: Server, tmp_path: Path):
    (tmp_path / "app.py").write_text(PEER_APP)
    program = Program(server, tmp_path, stdin=True)
    try:
        wait_until(lambda: program.lines, what="the program's start")
        # what it runs on comes with its agent's HELLO, which may reach the dashboard after the program's first line
        wait_until(lambda: server.get(f"api/sessions/{program.id}").json()["runtime"], what="its HELLO")
        r = program.control("pause")
        assert (r.status_code, r.json()["field"]) == (409, "session")
        assert "runs on gevent" in r.json()["error"]
    finally:
        program.stop()

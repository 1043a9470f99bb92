"""The agent of an eventlet or gevent program leaves greenscope's hub alone: the dashboard's live
control paces greenscope's runtime only, and the HELLO names no poller of ours."""

from __future__ import annotations

import threading
from pathlib import Path

from runtime.agent import Agent, FileSink, process_info
from runtime.trace.codec import read_recording
from runtime.trace.recorder import Recorder


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

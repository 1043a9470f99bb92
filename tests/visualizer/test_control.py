"""Live control through the dashboard: ``POST /api/sessions/<id>/control`` relayed to the program's agent as
COMMAND frames, obeyed by its hub; and ``GET /api/sessions/<id>/source``, the program's files only.

Real server, real programs (``greenscope run``); what the hub did is read back from the session's recording.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.trace.events import BLOCK, CONTROL, SWITCH
from tests.support.dashboard import Server, wait_until
from tests.support.programs import Controlled, Program, sources
from visualizer.source import MAX_SOURCE

APP = """\
import sys

import runtime as eventlet
from helper import consume

q = eventlet.Queue()
done = eventlet.spawn(consume, q)
for i in range(int(sys.argv[1])):
    eventlet.sleep(0.02)
    q.put(i)
q.put(None)
done.wait()
"""
HELPER = """\
def consume(q):
    while True:
        item = q.get()  # the consumer waits here
        if item is None:
            return
        print("got", item, flush=True)
"""
PARKED_LINE = 3  # helper.py's q.get()


@pytest.fixture
def app(tmp_path: Path) -> Path:
    return sources(tmp_path, APP, HELPER)


@pytest.fixture
def program(server: Server, app: Path) -> Iterator[Program]:
    it = Program(server, app, "300")
    yield it
    it.stop()


def runs_after(events: list[tuple], i: int) -> list[int]:
    """The greenthreads switched into after event `i`, until the next control event."""
    out = []
    for e in events[i + 1 :]:
        if e[0] == CONTROL:
            break
        if e[0] == SWITCH and e[3] > 0:
            out.append(e[3])
    return out


def steps(events: list[tuple]) -> list[int]:
    """The indices of the ``stepped`` events."""
    return [i for i, e in enumerate(events) if e[0] == CONTROL and e[2] == "stepped"]


def stepped(program: Controlled, count: int) -> list[tuple]:
    """The events once the hub has made `count` steps, each with its switch."""

    def done() -> list[tuple] | None:
        events = program.events()
        at = steps(events)
        return events if len(at) >= count and runs_after(events, at[count - 1]) else None

    return wait_until(done, what=f"{count} steps")


def test_paused_nothing_runs_each_step_is_one_switch_and_resume_goes_on(program: Program):
    wait_until(lambda: len(program.lines) >= 3, what="the program's output")
    assert program.control("pause").status_code == 202
    program.obeyed("paused")
    time.sleep(0.3)  # what it printed before the pause reaches us
    printed = len(program.lines)
    time.sleep(0.5)
    assert len(program.lines) == printed  # its own output stopped
    paused_at = next(i for i, e in enumerate(program.events()) if e[0] == CONTROL)
    assert runs_after(program.events(), paused_at) == []  # no switch into a greenthread
    for k in range(1, 4):  # each step taken before the next is sent
        assert program.control("step").status_code == 202
        stepped(program, k)
    for _ in range(3):  # steps sent at once add up
        assert program.control("step").status_code == 202
    events = stepped(program, 6)
    assert [len(runs_after(events, i)) for i in steps(events)] == [1] * 6
    assert program.control("speed", speed=0.5).status_code == 202
    assert [e[3] for e in program.obeyed("speed") if e[0] == CONTROL][-1] == 0.5
    assert program.control("resume").status_code == 202
    assert program.close() == 0
    assert program.lines == [f"got {i}" for i in range(300)]  # nothing lost, nothing twice
    session = program.server.get(f"api/sessions/{program.id}").json()
    assert session["pace"] == {"action": "resumed", "speed": 1.0} and session["poller"]


# each built-in workload, running until stopped at a quick pace
STAGE = {
    "crawler": {"delay": 0.02},
    "webcrawler": {"delay": 0.05},
    "echo": {"clients": 3, "pause": 0.02},
    "pile": {"delay": 0.05},
    "pipeline": {"produce": 0.01, "work": 0.01},
    "saturation": {"rate": 50.0},
    "blocker": {"tick": 0.01, "block": 0.02, "every": 0.1},
}


@pytest.mark.parametrize("workload", sorted(STAGE))
def test_a_launched_workload_pauses_steps_and_resumes(server: Server, workload: str):
    session = server.launch(workload, continuous=True, **STAGE[workload])
    it = Controlled(server, session["id"])
    try:
        wait_until(lambda: server.get(f"api/sessions/{it.id}").json()["state"] == "running", what="its HELLO")
        wait_until(lambda: sum(e[0] == SWITCH for e in it.events()) > 20, what="it to run")
        assert it.control("pause").status_code == 202
        it.obeyed("paused")
        for k in range(1, 4):
            assert it.control("step").status_code == 202
            stepped(it, k)
        assert it.control("resume").status_code == 202
        events = it.obeyed("resumed")  # the third step's switches end at the resume
        assert [len(runs_after(events, i)) for i in steps(events)] == [1] * 3
        resumed = next(i for i, e in enumerate(events) if e[0] == CONTROL and e[2] == "resumed")
        wait_until(lambda: len(runs_after(it.events(), resumed)) > 20, what="it to run on at full speed")
    finally:
        assert server.http.delete(f"{server.base}api/sessions/{session['id']}", timeout=10).status_code < 300
    final = wait_until(lambda: (s := server.get(f"api/sessions/{session['id']}").json())["state"] != "running" and s)
    assert final["state"] == "stopped"


def test_the_control_endpoint_checks_what_it_is_sent(program: Program, server: Server):
    base = f"{server.base}api/sessions/{program.id}/control"
    for body, field in [
        ([], "body"),
        ({"action": "faster"}, "action"),
        ({}, "action"),
        ({"action": "pause", "speed": 0.5}, "speed"),
        ({"action": "speed"}, "speed"),
        ({"action": "speed", "speed": 0}, "speed"),
        ({"action": "speed", "speed": "0.1"}, "speed"),
        ({"action": "speed", "speed": 3}, "speed"),
        ({"action": "pause", "then": "resume"}, "then"),
    ]:
        r = server.http.post(base, json=body, timeout=10)
        assert (r.status_code, r.json()["field"]) == (400, field), body
    r = server.http.post(base, data="{", headers={"Content-Type": "application/json"}, timeout=10)
    assert (r.status_code, r.json()["field"]) == (400, "body")
    r = server.http.post(f"{server.base}api/sessions/nope/control", json={"action": "pause"}, timeout=10)
    assert r.status_code == 404
    r = server.http.post(base, json={"action": "pause"}, headers={"X-Greenscope": None}, timeout=10)
    assert (r.status_code, r.json()["field"]) == (403, "X-Greenscope")  # only the page itself may


def test_an_ended_program_or_a_recording_cannot_be_controlled(server: Server, app: Path):
    program = Program(server, app, "3")
    assert program.close() == 0
    wait_until(lambda: server.get(f"api/sessions/{program.id}").json()["state"] == "ended", what="its end")
    r = program.control("pause")
    assert (r.status_code, r.json()["field"]) == (409, "session")
    recording = server.get(f"api/sessions/{program.id}/recording").content
    loaded = server.http.post(f"{server.base}api/recordings", data=recording, timeout=10).json()
    r = server.http.post(f"{server.base}api/sessions/{loaded['id']}/control", json={"action": "step"}, timeout=10)
    assert (r.status_code, r.json()["field"]) == (409, "session")
    r = server.get(f"api/sessions/{loaded['id']}/source")
    assert (r.status_code, r.json()["field"]) == (404, "path")  # a recording's events could name any file


def test_the_source_of_the_program_and_of_the_files_its_events_name(program: Program, app: Path, server: Server):
    wait_until(lambda: len(program.lines) >= 2, what="the program's output")
    script = server.get(f"api/sessions/{program.id}/source").json()
    assert script["path"] == "app.py" and script["text"] == APP and script["file"] == str((app / "app.py").resolve())
    where = wait_until(
        lambda: next((e[6] for e in program.events() if e[0] == BLOCK and e[3] == "queue_get"), None),
        what="the consumer's wait",
    )
    path, line = where.split(" in ")[0].rsplit(":", 1)
    assert (Path(path).name, int(line)) == ("helper.py", PARKED_LINE)
    helper = server.get(f"api/sessions/{program.id}/source", params={"path": path}).json()
    assert helper["text"] == HELPER
    (app / "secret.txt").write_text("no")
    (app / "other.py").write_text("x = 1\n")
    (app / "link.py").symlink_to(app / "secret.txt")
    for asked in [
        "/etc/passwd",
        str(app / "secret.txt"),
        str(app / "other.py"),  # a .py file, but not one its events name
        "../" * 10 + "etc/passwd",
        path + "/../secret.txt",
        str(app / "link.py"),
    ]:
        r = server.get(f"api/sessions/{program.id}/source", params={"path": asked})
        assert (r.status_code, r.json()["field"]) == (404, "path"), asked
    r = server.get(f"api/sessions/{program.id}/source", params={"path": "x" * 5000})
    assert (r.status_code, r.json()["field"]) == (400, "path")


def test_a_source_file_larger_than_the_bound_is_refused(server: Server, tmp_path: Path):
    (tmp_path / "app.py").write_text(
        "import runtime\n" + f"# {'x' * 100}\n" * (MAX_SOURCE // 100) + "runtime.sleep(0.01)\nprint('done')\n"
    )
    program = Program(server, tmp_path)
    assert program.close() == 0
    r = server.get(f"api/sessions/{program.id}/source")
    assert (r.status_code, r.json()["field"]) == (413, "path")


def test_a_launched_workload_serves_its_own_file(server: Server):
    session = server.launch("pipeline", items=5)
    wait_until(lambda: server.get(f"api/sessions/{session['id']}").json()["state"] == "ended", what="its end")
    got = server.get(f"api/sessions/{session['id']}/source").json()
    assert Path(got["path"]).name == "pipeline.py" and "jobs.get()" in got["text"]
    assert os.path.samefile(got["file"], got["path"])

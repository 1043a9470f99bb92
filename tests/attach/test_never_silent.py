"""Never silent: a traced run that recorded no scheduling event says so, and why, on stderr, in its
recording and on the dashboard; and a program on eventlet or gevent is never patched with ours."""

from __future__ import annotations

import importlib.metadata
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from runtime.trace.codec import END, read_frames
from tests.support.attach import EXAMPLES, run_traced
from tests.support.dashboard import wait_until
from visualizer.app import create_app

NOTE = "no scheduling events were recorded: "


def _end_note(path: Path) -> str | None:
    ends = [payload for kind, payload, _ in read_frames(io.BytesIO(path.read_bytes())) if kind == END]
    assert len(ends) == 1
    return ends[0].get("note")


def _program(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "prog.py"
    path.write_text(textwrap.dedent(source))
    return path


def test_a_program_of_threads_only_says_so(tmp_path: Path):
    program = _program(
        tmp_path,
        """
        import threading
        threads = [threading.Thread(target=sum, args=([1, 2],)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        """,
    )
    out = tmp_path / "t.gsc"
    result = run_traced(out, program, options=("--no-patch",))
    assert result.returncode == 0
    note = NOTE + "it used threads only (3 started): greenscope traces green threads"
    assert f"greenscope: {note}\n" in result.stderr
    assert _end_note(out) == note


def test_a_gevent_program_forced_on_greenscopes_runtime_is_not_patched_and_says_what_it_runs_on(tmp_path: Path):
    out = tmp_path / "t.gsc"
    result = run_traced(out, EXAMPLES / "gevent_handoff.py", options=("--runtime", "greenscope"))
    assert result.returncode == 0, result.stderr  # it runs (patched with ours, it would hang)
    assert result.stdout == "got it\n"
    assert "not patching it with greenscope's runtime: it imports gevent (gevent_handoff.py:" in result.stderr
    assert _end_note(out) == NOTE + "it runs on gevent, not on greenscope's runtime: trace it with --runtime gevent"


def test_a_program_that_never_imports_what_it_was_detected_to_use_says_so(tmp_path: Path):
    program = _program(
        tmp_path,
        """
        def later():
            import eventlet
        print("done")
        """,
    )
    out = tmp_path / "t.gsc"
    result = run_traced(out, program)
    assert result.returncode == 0 and result.stdout == "done\n"
    assert _end_note(out) == NOTE + "it never imported eventlet (detected from its source): is it the right --runtime?"


def test_the_dashboard_session_says_why_it_is_empty_and_what_traced_it(tmp_path: Path):
    app = create_app({"interval": 0.02, "data_dir": tmp_path / "data"})
    dashboard = app.extensions["greenscope"]
    try:
        program = _program(tmp_path, "import gevent\nprint('nothing to do')\n")
        proc = subprocess.run(
            [sys.executable, "-m", "visualizer", "record", "--connect", dashboard.listener.address, str(program)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "GREENSCOPE_SECRET": dashboard.listener.key},
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
        wait_until(lambda: [s for s in dashboard.store.all() if s.state == "ended"], what="the session to end")
        (session,) = [s.to_dict() for s in dashboard.store.all()]
    finally:
        dashboard.close()
    assert session["state"] == "ended" and session["events"] == 0
    assert session["error"] == NOTE + "it never spawned or switched a greenthread"
    assert session["runtime"] == f"gevent {importlib.metadata.version('gevent')}"

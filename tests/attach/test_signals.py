"""Never hung: SIGINT and SIGTERM end a traced program within 2 s whatever it runs on, idle, with its
hub blocked in a system call, or deaf to the exception the signal raises; its recording ends whole."""

from __future__ import annotations

import signal
import textwrap
import time
from pathlib import Path

import pytest

from tests.support.attach import greenscope_record, recording

RUNTIMES = {"greenscope": "runtime", "eventlet": "eventlet", "gevent": "gevent"}
JOIN = {"greenscope": "g.wait()", "eventlet": "g.wait()", "gevent": "g.join()"}

PROGRAMS = {
    # the hub waits in its poller: nothing is ready
    "idle": """
        import {module} as lib

        def forever():
            while True:
                lib.sleep(1)

        g = lib.spawn(forever)
        print("ready", flush=True)
        {join}
    """,
    # a greenthread holds the hub in a system call (time.sleep, unpatched)
    "blocked": """
        import time
        import {module} as lib

        def block():
            print("ready", flush=True)
            time.sleep(60)

        g = lib.spawn(block)
        {join}
    """,
    # the program swallows whatever the signal raises
    "deaf": """
        import {module} as lib

        print("ready", flush=True)
        while True:
            try:
                lib.sleep(0.05)
            except BaseException:
                pass
    """,
}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("shape", list(PROGRAMS))
@pytest.mark.parametrize("runtime", list(RUNTIMES))
def test_a_signal_ends_the_traced_program_within_2_s(runtime: str, shape: str, signum: int, tmp_path: Path):
    program = tmp_path / f"{shape}.py"
    program.write_text(textwrap.dedent(PROGRAMS[shape]).format(module=RUNTIMES[runtime], join=JOIN[runtime]))
    out = tmp_path / "trace.gsc"
    options = ("--runtime", runtime, "--no-patch")  # unpatched: time.sleep really blocks the hub
    proc = greenscope_record(out, program, options=options, cwd=tmp_path)
    try:
        assert proc.stdout.readline() == "ready\n", proc.stderr.read()
        time.sleep(0.2)  # into the wait
        sent = time.monotonic()
        proc.send_signal(signum)
        status = proc.wait(timeout=2)
        elapsed = time.monotonic() - sent
    finally:
        proc.kill()
        _, err = proc.communicate()
    assert status == 128 + signum, err
    assert elapsed < 2
    assert recording(out).complete
    if shape == "deaf":
        assert "did not stop within 1.5 s of the signal" in err

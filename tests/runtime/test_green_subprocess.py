"""The green subprocess and os, used directly (no monkey patching): real children, real pipes.

Concurrency is proven by barriers, not by timing: a child that waits for something only
another greenthread (or another child) can do fails after 30 s if the hub was blocked."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import runtime
from runtime.green import os as gos
from runtime.green import subprocess as gsubprocess

# A child that says it started (a file named after its pid in DIR), then waits until N
# children have started (exit status 3 after 30 s): it ends only if they all ran at once.
BARRIER = textwrap.dedent(
    """
    import os, sys, time, pathlib
    where, count = pathlib.Path(sys.argv[1]), int(sys.argv[2])
    (where / str(os.getpid())).touch()
    deadline = time.monotonic() + 30
    while len(list(where.iterdir())) < count:
        if time.monotonic() > deadline:
            sys.exit(3)
        time.sleep(0.005)
    print(os.getpid())
    """
)
# A child that prints "a", waits for the file argv[1] to exist (30 s at most), prints "b".
WAIT_FOR_FILE = textwrap.dedent(
    """
    import os, sys, time
    print("a", flush=True)
    deadline = time.monotonic() + 30
    while not os.path.exists(sys.argv[1]) and time.monotonic() < deadline:
        time.sleep(0.005)
    print("b" if os.path.exists(sys.argv[1]) else "gave up", flush=True)
    """
)


def _touch_soon(path: Path) -> runtime.GreenThread:
    """A greenthread that creates `path` once the hub lets it run."""
    return runtime.spawn(path.touch)


def test_five_runs_in_five_greenthreads_have_their_children_alive_at_once(tmp_path):
    def run_one():
        return gsubprocess.run([sys.executable, "-c", BARRIER, str(tmp_path), "5"], capture_output=True, text=True)

    done = [gt.wait() for gt in [runtime.spawn(run_one) for _ in range(5)]]
    assert [p.returncode for p in done] == [0] * 5, [p.stderr for p in done]
    assert sorted(int(p.stdout) for p in done) == sorted(int(f.name) for f in tmp_path.iterdir())


def test_popen_wait_parks_the_greenthread(tmp_path):
    flag = tmp_path / "flag"
    child = gsubprocess.Popen([sys.executable, "-c", WAIT_FOR_FILE, str(flag)], stdout=subprocess.DEVNULL)
    toucher = runtime.spawn_after(0.05, flag.touch)
    assert child.wait() == 0
    toucher.wait()


def test_pipe_reads_park_while_others_run(tmp_path):
    flag = tmp_path / "flag"
    child = gsubprocess.Popen([sys.executable, "-c", WAIT_FOR_FILE, str(flag)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "a\n"
    toucher = _touch_soon(flag)
    assert child.stdout.readline() == "b\n"  # the toucher ran while this greenthread read
    assert child.stdout.read() == ""
    assert child.wait() == 0
    child.stdout.close()
    toucher.wait()


def test_communicate_with_input_and_both_pipes():
    code = "import sys; data = sys.stdin.read(); sys.stdout.write(data.upper()); sys.stderr.write(str(len(data)))"
    big = "x" * 200_000  # more than a pipe holds: input and output must interleave
    ticks = []
    ticker = runtime.spawn(lambda: [ticks.append(runtime.sleep(0.001)) for _ in range(3)])
    done = gsubprocess.run([sys.executable, "-c", code], input=big, capture_output=True, text=True, check=True)
    assert done.stdout == big.upper() and done.stderr == "200000"
    ticker.wait()
    assert len(ticks) == 3


def test_errors_are_the_stdlib_classes():
    with pytest.raises(subprocess.CalledProcessError) as caught:
        gsubprocess.check_output([sys.executable, "-c", "import sys; print('out'); sys.exit(4)"])
    assert caught.value.returncode == 4 and caught.value.output == b"out\n"
    with pytest.raises(subprocess.TimeoutExpired):
        gsubprocess.run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.1)
    assert isinstance(gsubprocess.run([sys.executable, "-c", ""]), subprocess.CompletedProcess)


def test_wait_with_a_timeout_then_kill():
    child = gsubprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    with pytest.raises(subprocess.TimeoutExpired):
        child.wait(timeout=0.05)
    assert child.poll() is None
    child.kill()
    assert child.wait(timeout=30) == -9


# ---------------------------------------------------------------- os


def test_os_read_parks_on_an_empty_pipe_until_written():
    r, w = os.pipe()
    try:
        writer = runtime.spawn_after(0.01, gos.write, w, b"hello")
        assert gos.read(r, 100) == b"hello"
        assert writer.wait() == 5
        os.set_blocking(r, False)
        writer = runtime.spawn_after(0.01, gos.write, w, b"again")
        assert gos.read(r, 100) == b"again"  # parks instead of raising BlockingIOError
        writer.wait()
    finally:
        os.close(r)
        os.close(w)


def test_os_write_parks_on_a_full_pipe_until_read():
    r, w = os.pipe()
    os.set_blocking(w, False)
    try:
        while True:  # fill it
            try:
                os.write(w, b"x" * 65536)
            except BlockingIOError:
                break
        reader = runtime.spawn(lambda: len(gos.read(r, 1 << 20)))
        assert gos.write(w, b"more") == 4  # parked until the reader made room
        assert reader.wait() > 0
    finally:
        os.close(r)
        os.close(w)


def test_os_read_after_the_fd_number_is_reused():
    first_r, first_w = os.pipe()
    runtime.spawn_after(0.01, os.write, first_w, b"1")
    assert gos.read(first_r, 10) == b"1"
    os.close(first_r)  # closed behind the hub's back
    os.close(first_w)
    r, w = os.pipe()
    try:
        assert r == first_r  # the same number, a new pipe
        writer = runtime.spawn_after(0.01, os.write, w, b"2")
        assert gos.read(r, 10) == b"2"
        writer.wait()
    finally:
        os.close(r)
        os.close(w)


def test_os_read_and_write_of_regular_files_are_the_stdlib_calls(tmp_path):
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT)
    try:
        assert gos.write(fd, b"data") == 4
        os.lseek(fd, 0, os.SEEK_SET)
        assert gos.read(fd, 10) == b"data"
    finally:
        os.close(fd)


def test_os_waitpid_parks_until_the_child_ends(tmp_path):
    flag = tmp_path / "flag"
    child = subprocess.Popen([sys.executable, "-c", WAIT_FOR_FILE, str(flag)], stdout=subprocess.DEVNULL)
    toucher = runtime.spawn_after(0.05, flag.touch)
    pid, status = gos.waitpid(child.pid, 0)
    assert pid == child.pid and os.waitstatus_to_exitcode(status) == 0
    toucher.wait()
    child.returncode = 0  # reaped here: tell Popen


OS_WAIT = textwrap.dedent(
    """
    import subprocess, sys
    import runtime
    from runtime.green import os as gos

    child = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]], stdout=subprocess.DEVNULL)
    ran = []  # what ran while the main greenthread waited for its child
    toucher = runtime.spawn_after(0.05, lambda: (ran.append("toucher"), open(sys.argv[2], "w").close()))
    print(gos.wait() == (child.pid, 0), ran)
    child.returncode = 0
    """
)


def test_os_wait_parks_until_a_child_ends(tmp_path):
    # os.wait reaps any child: in a process of its own, where the child is the only one
    run = subprocess.run(
        [sys.executable, "-c", OS_WAIT, WAIT_FOR_FILE, str(tmp_path / "flag")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.stdout.split("\n")[0] == "True ['toucher']", run.stderr


def test_child_exited_times_out_then_sees_the_exit():
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    assert gos.child_exited(child.pid, 0.05) is False
    child.stdin.close()
    assert gos.child_exited(child.pid, None) is True
    assert child.wait() == 0  # not reaped by child_exited


def test_fdopen_of_a_pipe_parks_and_of_a_file_is_the_stdlib_file(tmp_path):
    r, w = os.pipe()
    with gos.fdopen(r, "r") as reader, gos.fdopen(w, "w") as writer:
        assert isinstance(reader.buffer.raw, gos.PipeIO)
        runtime.spawn_after(0.01, lambda: (writer.write("line\n"), writer.flush()))
        assert reader.readline() == "line\n"
    with gos.fdopen(os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT), "w") as f:
        assert isinstance(f.buffer.raw, io.FileIO)


def test_child_exited_without_pidfds_polls(monkeypatch):
    # what macOS and old kernels get: this kernel has pidfds, so take them away
    monkeypatch.delattr(os, "pidfd_open")
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    assert gos.child_exited(child.pid, 0.05) is False
    closer = runtime.spawn_after(0.05, child.stdin.close)
    assert gos.child_exited(child.pid, None) is True
    closer.wait()
    assert child.wait() == 0

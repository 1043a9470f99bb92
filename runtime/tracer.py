"""Run a Python program traced: what ``greenscope record`` and ``greenscope run`` do. No Flask.

    status = record(Path("app.py"), ["--flag"], output="app.gsc")   # the program's exit status

The recorder goes on the runtime's hooks (the program monkey-patched, unless told not
to), the agent ships its events to a recording file and/or a dashboard, and the program
runs as ``__main__``. SIGTERM (a dashboard's stop) unwinds it, so its recording ends cleanly.

A dashboard says who it is in a file only its user can read (`identity_path`: the
runtime directory, ``$XDG_RUNTIME_DIR/greenscope``): its pid, its URL, where agents
connect and the key their HELLO must carry. A traced program finds its dashboard there
rather than trusting whatever answers on a port. A program the dashboard launched gets a
secret of its own (``$GREENSCOPE_SECRET``) and a lifeline (``$GREENSCOPE_LIFELINE``, a
pipe's read end): when the dashboard dies, however it dies, the pipe ends and the
program's process group is stopped.
"""

from __future__ import annotations

import _thread
import json
import os
import runpy
import signal
import stat
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

__all__ = [
    "TraceError",
    "find_dashboard",
    "identity_path",
    "read_identity",
    "record",
    "run_program",
    "runtime_dir",
    "write_chrome",
    "write_identity",
]

_read = os.read  # the real one, before any monkey-patching


class TraceError(Exception):
    """A one-line error for the user (exit status 2)."""


# ---------------------------------------------------------------- where dashboards say who they are


def runtime_dir() -> Path:
    """This user's private directory for greenscope (created 0700; TraceError if someone else can use it)."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    path = Path(base) / "greenscope" if base else Path(tempfile.gettempdir()) / f"greenscope-{os.getuid()}"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise TraceError(f"{path} is not a directory only you can use")
    return path


def identity_path(port: int) -> Path:
    """Where the dashboard serving on `port` says who it is."""
    return runtime_dir() / f"dashboard-{port}.json"


def write_identity(port: int, identity: dict[str, Any]) -> Path:
    """Say who the dashboard on `port` is (readable by this user only); returns the file."""
    path = identity_path(port)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(identity, f)
    os.replace(tmp, path)
    return path


def read_identity(path: Path) -> dict[str, Any] | None:
    """The identity in `path` if this user wrote it (only they can read it) and its dashboard is alive."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd) as f:
        info = os.fstat(f.fileno())
        if info.st_uid != os.getuid() or info.st_mode & 0o077:
            return None
        try:
            identity = json.load(f)
        except ValueError:
            return None
    if not isinstance(identity, dict) or not isinstance(identity.get("pid"), int):
        return None
    try:
        os.kill(identity["pid"], 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # someone else's process has that pid now
        return None
    return identity


def find_dashboard(agent: str | None = None, port: int | None = None) -> dict[str, Any] | None:
    """The identity of this user's live dashboard serving on `port`, or taking agents at `agent`."""
    if port is not None:
        return read_identity(identity_path(port))
    for path in sorted(runtime_dir().glob("dashboard-*.json")):
        identity = read_identity(path)
        if identity is not None and identity.get("agent") == agent:
            return identity
    return None


# ---------------------------------------------------------------- running a program traced


def record(
    program: Path,
    args: list[str],
    *,
    output: str | None = None,
    chrome: str | None = None,
    connect: str | None = None,
    fallback: str | None = None,
    secret: str | None = None,
    flush_timeout: float = 5.0,
    patch: bool = True,
    stall_ms: float = 20.0,
) -> int:
    """Run `program` with `args` traced; its exit status. The recording goes to `output`
    and/or the dashboard at `connect` (with `secret`, else ``$GREENSCOPE_SECRET``, else the key
    in its identity file); what the dashboard could not take at exit, within `flush_timeout` seconds, goes to
    `fallback` (default: PROGRAM.gsc). A greenthread that holds the hub longer than `stall_ms` (0: never
    mind) is caught with its stack."""
    from runtime.agent import Agent, FileSink, SocketSink, process_info
    from runtime.trace.recorder import Recorder

    _hold_lifeline()
    if not program.is_file():
        raise TraceError(f"{program}: no such program")
    secret = os.environ.pop("GREENSCOPE_SECRET", None) or secret  # the program's children do not inherit it
    sinks: list[Any] = []
    try:
        if output:
            sinks.append(FileSink(output))
        if connect:
            if secret is None:
                secret = (find_dashboard(agent=connect) or {}).get("key")
            if secret is None:
                raise TraceError(f"no dashboard of yours takes agents at {connect} (none said so in {runtime_dir()})")
            sinks.append(SocketSink(connect, secret=secret, fallback=fallback or str(program.with_suffix(".gsc"))))
    except (OSError, ValueError) as e:
        raise TraceError(str(e)) from None
    argv = [str(program), *args]
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # before the agent: it obeys a stop as soon as it connects
    recorder = Recorder().install()
    process = process_info(program.name, argv)
    agent = Agent(recorder, sinks, process, flush_timeout=flush_timeout, stall_ms=stall_ms).start()
    if patch:
        import runtime

        runtime.monkey_patch()
    try:
        status = run_program(program, argv)
    finally:
        recorder.uninstall()
        for note in agent.stop():
            print(f"greenscope: {note}", file=sys.stderr)
    if chrome and output:
        write_chrome(output, chrome)
    return status


def _exit_on_sigterm(signum: int, frame: object) -> None:
    from runtime.hubs import get_hub

    get_hub().raise_in_main(SystemExit(128 + signum))


def run_program(program: Path, argv: list[str]) -> int:
    """Run `program` as ``__main__`` with `argv`; its exit status (1 and the traceback if it raised)."""
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = argv
    sys.path.insert(0, str(program.resolve().parent))
    try:
        runpy.run_path(str(program), run_name="__main__")
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        traceback.print_exc()
        return 1
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    return 0


def _hold_lifeline() -> None:
    """If the dashboard that launched us gave us a lifeline, stop our process group when it ends."""
    fd = os.environ.pop("GREENSCOPE_LIFELINE", None)
    if fd is None or not fd.isdigit():
        return
    _thread.start_new_thread(_watch, (int(fd),))


def _watch(fd: int) -> None:
    try:
        while _read(fd, 1):  # nothing is ever written: this returns when the dashboard is gone
            pass
    except OSError:
        pass
    pid = os.getpid()
    kill = os.killpg if os.getpgrp() == pid else os.kill  # our group, if we lead one (a launched program does)
    kill(pid, signal.SIGTERM)  # unwinds the program (its recording ends), and its children
    time.sleep(1.0)
    kill(pid, signal.SIGKILL)


# ---------------------------------------------------------------- Chrome traces


def write_chrome(recording: str, out: str) -> None:
    """Write the Chrome trace of `recording` to `out`; TraceError (one line) if it cannot."""
    from runtime.trace.chrome import to_chrome
    from runtime.trace.codec import FormatError, read_recording

    try:
        with open(recording, "rb") as f:
            process, events, complete = read_recording(f)
    except OSError as e:
        raise TraceError(f"{recording}: {e.strerror}") from None
    except FormatError as e:
        raise TraceError(f"{recording}: {e}") from None
    except MemoryError:
        raise TraceError(f"{recording}: too large to export in this machine's memory") from None
    if not complete:
        print(
            f"greenscope: note: {recording} has no end mark (the program crashed?); exporting what it holds",
            file=sys.stderr,
        )
    try:
        trace = json.dumps(to_chrome(process, events))
    except MemoryError:
        raise TraceError(f"{recording}: too large to export in this machine's memory") from None
    try:
        Path(out).write_text(trace)
    except OSError as e:
        raise TraceError(f"{out}: {e.strerror}") from None

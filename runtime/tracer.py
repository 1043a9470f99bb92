"""Run a Python program traced: what ``greenscope record`` and ``greenscope run`` do. No Flask.

    status = record(Path("app.py"), ["--flag"], output="app.gsc")   # the program's exit status

The program runs on greenscope's runtime, eventlet or gevent: detected from what it imports
(`runtime.attach.detect`) or chosen. The recorder goes on the runtime's hooks: a greenscope
program is monkey-patched with the runtime (unless told not to), an eventlet or gevent one
never is: an adapter (`runtime.attach`) feeds the same hooks from its library. The agent
ships the events to a recording file and/or a dashboard, its HELLO saying which runtime and
version ran, and the program runs as ``__main__``. Never silent: a run that recorded no
event says why, on stderr and in the recording's END (the dashboard shows it). Never hung:
SIGINT and SIGTERM (a dashboard's stop) unwind it so its recording ends cleanly, and end the
process within 2 s if it does not unwind.

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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.attach import Detection

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

# the real ones, before any monkey-patching
_read = os.read
_sleep = time.sleep
_start_thread = _thread.start_new_thread
_allocate_lock = _thread.allocate_lock


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
    runtime: str | None = None,
) -> int:
    """Run `program` with `args` traced; its exit status. The recording goes to `output`
    and/or the dashboard at `connect` (with `secret`, else ``$GREENSCOPE_SECRET``, else the key
    in its identity file); what the dashboard could not take at exit, within `flush_timeout` seconds, goes to
    `fallback` (default: PROGRAM.gsc). A greenthread that holds the hub longer than `stall_ms` (0: never
    mind) is caught with its stack.

    `runtime` is what the program runs on (``greenscope``, ``eventlet``, ``gevent``; None: detected
    from its imports). A greenscope program is monkey-patched with the runtime (unless not
    `patch`); an eventlet or gevent one never is: an adapter attaches to its library instead."""
    from runtime.agent import Agent, process_info
    from runtime.sinks import FileSink, SocketSink
    from runtime.trace.recorder import Recorder

    _hold_lifeline()
    if not program.is_file():
        raise TraceError(f"{program}: no such program")
    runtime, version, found = choose_runtime(program, runtime)
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
    witness = _Witness(runtime)
    stopper = _Stopper(runtime).install()  # before the agent: it obeys a stop as soon as it connects
    recorder = Recorder().install()
    process = process_info(program.name, argv, traced_by=f"{runtime} {version}")
    paced = runtime == "greenscope"  # the live control paces greenscope's hub, not eventlet's or gevent's
    agent = Agent(recorder, sinks, process, flush_timeout=flush_timeout, stall_ms=stall_ms, paced=paced).start()
    stopper.agent = agent
    adapter = None
    if runtime == "greenscope":
        if patch and found.runtime in ("eventlet", "gevent"):
            print(f"greenscope: not patching it with greenscope's runtime: it {found.why}", file=sys.stderr)
        elif patch:
            import runtime as greenscope

            greenscope.monkey_patch()
    else:
        from runtime.attach import attach

        adapter = attach(runtime).start()
    try:
        status = run_program(program, argv)
    finally:
        if adapter is not None:
            witness.attached = adapter.attached
            adapter.stop()
        recorder.uninstall()
        for note in stopper.end(witness.explain):
            print(f"greenscope: {note}", file=sys.stderr)
    if chrome and output:
        write_chrome(output, chrome)
    return status


def choose_runtime(program: Path, runtime: str | None) -> tuple[str, str, Detection]:
    """The runtime `program` is traced on (`runtime` if given, else detected), its version, and what
    its imports say (detected even when `runtime` is given: a peer's program is never patched)."""
    from runtime.attach import RUNTIMES, Detection, detect, version

    try:
        found = detect(program)
    except ValueError as e:
        if runtime is None:
            raise TraceError(f"{program}: {e}") from None
        found = Detection(None, str(e))
    runtime = runtime or found.runtime or "greenscope"
    if runtime not in RUNTIMES:
        raise TraceError(f"--runtime: {runtime!r} is none of {', '.join(RUNTIMES)}")
    installed = version(runtime)
    if installed is None:
        raise TraceError(f"{program} runs on {runtime}, which is not installed in this Python ({sys.executable})")
    return runtime, installed, found


def run_program(program: Path, argv: list[str]) -> int:
    """Run `program` as ``__main__`` with `argv`; its exit status (1 and the traceback if it raised;
    130 after Ctrl-C, as Python's)."""
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = argv
    sys.path.insert(0, str(program.resolve().parent))
    try:
        runpy.run_path(str(program), run_name="__main__")
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException as e:
        traceback.print_exc()
        return 128 + signal.SIGINT if isinstance(e, KeyboardInterrupt) else 1
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    return 0


# ---------------------------------------------------------------- never silent, never hung


class _Witness:
    """What the program did that explains a run with no scheduling event: the threads it started,
    the green libraries it imported."""

    def __init__(self, runtime: str) -> None:
        import threading

        from runtime.attach.patches import Patches

        self.runtime = runtime
        self.attached = False  # an adapter attached to the program's library
        self.threads = 0
        self._patches = Patches()
        start = threading.Thread.start

        def counting_start(thread: Any) -> None:
            self.threads += 1
            start(thread)

        self._patches.set(threading.Thread, "start", counting_start)

    def explain(self, events: int) -> str | None:
        """Why the run recorded no event (None if it recorded some), also said on stderr."""
        self._patches.undo()
        if events:
            return None
        other = [name for name in _GREEN if name in sys.modules and name != self.runtime]
        if self.runtime == "greenscope" and other:
            why = f"it runs on {other[0]}, not on greenscope's runtime: trace it with --runtime {other[0]}"
        elif self.runtime != "greenscope" and not self.attached:
            why = f"it never imported {self.runtime} (detected from its source): is it the right --runtime?"
        elif self.threads:
            why = f"it used threads only ({self.threads} started): greenscope traces green threads"
        else:
            why = "it never spawned or switched a greenthread"
        note = f"no scheduling events were recorded: {why}"
        print(f"greenscope: {note}", file=sys.stderr)
        return note


_GREEN = ("eventlet", "gevent")


class _Stopper:
    """SIGINT and SIGTERM end the program whatever it runs on: the exception goes where the
    runtime sends it (Ctrl-C's own way), and if the program is still there `GRACE` seconds
    later (a hub blocked in C, an exception swallowed) the agent ships what it has and the
    process exits, within 2 s of the signal. Installed before the agent starts (`agent`: it, once it
    has)."""

    GRACE = 1.5

    def __init__(self, runtime: str) -> None:
        self.runtime = runtime
        self.agent: Any = None
        self.signalled = 0
        self._ending = _allocate_lock()  # held by whoever stops the agent

    def install(self) -> _Stopper:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._on_signal)
        return self

    def end(self, explain: Callable[[int], str | None]) -> list[str]:
        """Stop the agent (once); its lines about losses. A signal from now on only hurries it."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._hurry)
        if not self._ending.acquire(blocking=False):
            _forever()  # the watchdog is stopping it and will exit
        return self.agent.stop(explain)

    def _hurry(self, signum: int, frame: object) -> None:
        if not self.signalled:
            self.signalled = signum
            if self.agent is not None:
                self.agent.flush_timeout = min(self.agent.flush_timeout, 0.3)
            _start_thread(self._watchdog, ())

    def _on_signal(self, signum: int, frame: object) -> None:
        self._hurry(signum, frame)
        if self.runtime == "greenscope":
            from runtime.hubs import get_hub

            exc = KeyboardInterrupt() if signum == signal.SIGINT else SystemExit(128 + signum)
            get_hub().raise_in_main(exc)
        elif signum == signal.SIGINT:
            signal.default_int_handler(signum, frame)  # Ctrl-C as without us: eventlet's and gevent's hubs
        else:  # send it from whichever greenlet runs to the main one
            raise SystemExit(128 + signum)

    def _watchdog(self) -> None:
        _sleep(self.GRACE)
        if self._ending.acquire(timeout=0.3) and self.agent is not None:
            self.agent.flush_timeout = 0.1
            for note in self.agent.stop():
                print(f"greenscope: {note}", file=sys.stderr)
            print(f"greenscope: the program did not stop within {self.GRACE:g} s of the signal: ended", file=sys.stderr)
        os._exit(128 + self.signalled)


def _forever() -> None:
    while True:
        _sleep(3600)


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
    """Write the Chrome trace of `recording` to `out` as it reads it, a frame at a time (in memory: a frame and
    the greenthreads alive at once, not the whole trace); TraceError (one line) if it cannot, and then no `out`."""
    from runtime.trace.codec import FormatError

    target = Path(out)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")  # renamed to `out` once whole
    try:
        with open(recording, "rb") as f, open(partial, "w", encoding="utf-8") as written:
            ended = _write_chrome(f, written)
        os.replace(partial, target)
    except OSError as e:  # opening the recording, or writing the trace
        raise TraceError(f"{recording if e.filename == recording else out}: {e.strerror}") from None
    except FormatError as e:
        raise TraceError(f"{recording}: {e}") from None
    except MemoryError:
        raise TraceError(f"{recording}: too large to export in this machine's memory") from None
    finally:
        partial.unlink(missing_ok=True)
    if not ended:
        print(
            f"greenscope: note: {recording} has no end mark (the program crashed?); exported what it holds",
            file=sys.stderr,
        )


def _write_chrome(recording: IO[bytes], out: IO[str]) -> bool:
    """Write the Chrome trace of the recording read from `recording` to `out`; whether it ended cleanly (END)."""
    from runtime.trace.chrome import chrome_json
    from runtime.trace.codec import END, EVENTS, HELLO, FormatError, check_hello, read_frames

    ended = False

    def batches(frames: Iterator[tuple[int, Any, bytes]]) -> Iterator[list[tuple]]:
        nonlocal ended
        for frame_type, payload, _ in frames:
            if frame_type == EVENTS:
                yield payload.events()
            ended = ended or frame_type == END

    frames = read_frames(recording)
    frame_type, payload, _ = next(frames, (None, None, b""))
    if frame_type is None:
        raise FormatError("the recording holds no frame")
    if frame_type != HELLO:
        raise FormatError("the recording does not start with a hello frame")
    out.writelines(chrome_json(check_hello(payload), batches(frames)))
    return ended

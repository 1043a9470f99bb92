"""The `greenscope` command line.

    greenscope record [-o trace.gsc] [--chrome out.json] [--connect ADDR] prog.py [args...]
    greenscope export trace.gsc --chrome out.json

`record` runs a program on the runtime — monkey-patched, traced — and writes a recording
(and, with ``--chrome``, its Chrome trace); with ``--connect`` (or ``$GREENSCOPE_CONNECT``) it
streams to a dashboard instead. `export` turns a recording into a Chrome trace. A file that
is not a readable recording gets a one-line error and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import sys
import traceback
from pathlib import Path

__all__ = ["main"]


class UsageError(Exception):
    """A one-line error for the user; exit status 2."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except UsageError as e:
        print(f"greenscope: error: {e}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="greenscope", description="See green threads being scheduled.")
    sub = parser.add_subparsers(required=True, metavar="command")
    rec = sub.add_parser("record", help="run a program traced; write a recording (and/or a Chrome trace)")
    rec.add_argument("-o", "--output", help="the recording to write (default: PROGRAM.gsc)")
    rec.add_argument("--chrome", metavar="OUT.json", help="also write the Chrome trace (Perfetto, chrome://tracing)")
    rec.add_argument("--connect", metavar="ADDR", help="stream to a dashboard at host:port or a unix socket path")
    rec.add_argument("--no-patch", action="store_true", help="do not monkey-patch the standard library")
    rec.add_argument("program", help="the Python program to run")
    rec.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    rec.set_defaults(run=_record)
    exp = sub.add_parser("export", help="turn a recording into a Chrome trace")
    exp.add_argument("recording")
    exp.add_argument("--chrome", metavar="OUT.json", required=True, help="the Chrome trace to write")
    exp.set_defaults(run=_export)
    return parser


def _record(args: argparse.Namespace) -> int:
    from runtime.agent import Agent, FileSink, SocketSink, process_info
    from runtime.trace.recorder import Recorder

    program = Path(args.program)
    if not program.is_file():
        raise UsageError(f"{program}: no such program")
    connect = args.connect or os.environ.get("GREENSCOPE_CONNECT")
    output = args.output or (None if connect and not args.chrome else str(program.with_suffix(".gsc")))
    sinks = []
    try:
        if output:
            sinks.append(FileSink(output))
        if connect:
            sinks.append(SocketSink(connect))
    except (OSError, ValueError) as e:
        raise UsageError(str(e)) from None
    argv = [str(program), *args.args]
    recorder = Recorder().install()
    agent = Agent(recorder, sinks, process_info(program.name, argv)).start()
    if not args.no_patch:
        _monkey_patch()
    try:
        status = _run_program(program, argv)
    finally:
        recorder.uninstall()
        agent.stop()
    if args.chrome and output:
        _write_chrome(output, args.chrome)
    return status


def _monkey_patch() -> None:
    import runtime

    patch = getattr(runtime, "monkey_patch", None)
    if patch is not None:
        patch()


def _run_program(program: Path, argv: list[str]) -> int:
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


def _export(args: argparse.Namespace) -> int:
    _write_chrome(args.recording, args.chrome)
    return 0


def _write_chrome(recording: str, out: str) -> None:
    from runtime.trace.chrome import to_chrome
    from runtime.trace.codec import FormatError, read_recording

    try:
        data = Path(recording).read_bytes()
    except OSError as e:
        raise UsageError(f"{recording}: {e.strerror}") from None
    try:
        process, events, complete = read_recording(data)
    except FormatError as e:
        raise UsageError(f"{recording}: {e}") from None
    if not complete:
        print(
            f"greenscope: note: {recording} has no end mark (the program crashed?); exporting what it holds",
            file=sys.stderr,
        )
    try:
        Path(out).write_text(json.dumps(to_chrome(process, events)))
    except OSError as e:
        raise UsageError(f"{out}: {e.strerror}") from None

"""The `greenscope` command line.

    greenscope serve [--host 127.0.0.1] [--port 5000] [--open] [--token T] [--allow-external-crawl] [--demo crawler]
    greenscope run [--port 5000] [--no-open] prog.py [args...]
    greenscope record [-o trace.gsc] [--chrome out.json] [--connect ADDR] prog.py [args...]
    greenscope export trace.gsc --chrome out.json

`serve` starts the dashboard; on a host other than 127.0.0.1 it requires a token (given, or
generated and printed in the URL). `run` runs a program traced and shown live on the
dashboard at ``--port``, starting one in the background if none answers there. `record`
runs a program on the runtime — monkey-patched, traced — and writes a recording (and, with
``--chrome``, its Chrome trace); with ``--connect`` (or ``$GREENSCOPE_CONNECT``) it streams to
a dashboard instead. `export` turns a recording into a Chrome trace. A file that is not a
readable recording gets a one-line error and exit status 2.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import runpy
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
import webbrowser
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
    srv = sub.add_parser("serve", help="start the dashboard")
    srv.add_argument(
        "--host", default="127.0.0.1", help="where to listen (default: 127.0.0.1; any other host needs a token)"
    )
    srv.add_argument("--port", type=int, default=5000, help="the dashboard's port (default: 5000; 0: any free one)")
    srv.add_argument("--open", action="store_true", help="open it in a browser")
    srv.add_argument("--token", help="required of every request (generated when --host is not 127.0.0.1)")
    srv.add_argument("--allow-external-crawl", action="store_true", help="let the crawler workload crawl other hosts")
    srv.add_argument("--window", type=int, help="events kept per session")
    srv.add_argument("--demo", metavar="WORKLOAD", help="launch this workload (its defaults) as the server starts")
    srv.set_defaults(run=_serve)
    run = sub.add_parser("run", help="run a program traced, shown live on the dashboard (started if need be)")
    run.add_argument("--port", type=int, default=5000, help="the dashboard's port on 127.0.0.1 (default: 5000)")
    run.add_argument("--token", help="the dashboard's token, if it has one")
    run.add_argument("--no-open", action="store_true", help="do not open the session in a browser")
    run.add_argument("--no-patch", action="store_true", help="do not monkey-patch the standard library")
    run.add_argument("program", help="the Python program to run")
    run.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    run.set_defaults(run=_run)
    return parser


def _limit_malloc_arenas(arenas: int = 2) -> None:
    # The server runs a thread per agent, per viewer and per request, and glibc gives each
    # thread's allocations an arena of its own: under a long load the arenas fragment and
    # RSS creeps up (+13% over 5 minutes) although nothing leaks. Two arenas keep it flat
    # (+3.5%). Elsewhere (musl, macOS) there is nothing to do.
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    m_arena_max = -8
    libc.mallopt(m_arena_max, arenas)


def _serve(args: argparse.Namespace) -> int:
    from werkzeug.serving import make_server

    from visualizer.app import create_app, needs_token
    from visualizer.workloads.schema import ParamError

    _limit_malloc_arenas()

    token = args.token or (secrets.token_urlsafe(16) if needs_token(args.host) else None)
    config = {"host": args.host, "port": args.port, "token": token, "allow_external_crawl": args.allow_external_crawl}
    if args.window is not None:
        config["window"] = args.window
    try:
        app = create_app(config)
    except ValueError as e:
        raise UsageError(str(e)) from None
    dashboard = app.extensions["greenscope"]
    if args.demo:
        try:
            dashboard.launcher.launch(args.demo, {})
        except ParamError as e:
            dashboard.close()
            raise UsageError(f"--demo: {e}") from None
    try:
        server = make_server(args.host, args.port, app, threaded=True)
    except OSError as e:
        dashboard.close()
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {e.strerror}") from None
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{server.server_port}/" + (f"?token={token}" if token else "")
    print(f"greenscope: dashboard at {url} (agents connect to {dashboard.listener.address})", flush=True)
    if args.open:
        webbrowser.open(url)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the workloads on the way out
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        dashboard.close()
    return 0


def _dashboard_agent(base: str, token: str | None) -> str | None:
    """The agent address of the dashboard at `base`, or None if none answers there."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(urllib.request.Request(base + "api/server", headers=headers), timeout=2) as response:
            return json.load(response)["agent"]
    except (OSError, ValueError, KeyError):
        return None


def _run(args: argparse.Namespace) -> int:
    base = f"http://127.0.0.1:{args.port}/"
    agent = _dashboard_agent(base, args.token)
    if agent is None:
        log = Path(tempfile.gettempdir()) / f"greenscope-serve-{args.port}.log"
        command = [sys.executable, "-m", "visualizer", "serve", "--port", str(args.port)]
        with log.open("ab") as out:  # it outlives this program: the session stays on show
            subprocess.Popen(
                command + (["--token", args.token] if args.token else []),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        deadline = time.monotonic() + 20
        while agent is None and time.monotonic() < deadline:
            time.sleep(0.1)
            agent = _dashboard_agent(base, args.token)
        if agent is None:
            raise UsageError(f"the dashboard did not start (see {log})")
        print(f"greenscope: started the dashboard at {base} (its log: {log})", file=sys.stderr)
    url = f"{base}?pid={os.getpid()}" + (f"&token={args.token}" if args.token else "")
    print(f"greenscope: showing this run at {url}", file=sys.stderr)
    if not args.no_open:
        webbrowser.open(url)
    record = argparse.Namespace(**{**vars(args), "output": None, "chrome": None, "connect": agent})
    return _record(record)


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
    # Stopped (by the dashboard, or `kill`): unwind the program, so the recording ends cleanly.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        status = _run_program(program, argv)
    finally:
        recorder.uninstall()
        agent.stop()
    if args.chrome and output:
        _write_chrome(output, args.chrome)
    return status


def _exit_on_sigterm(signum: int, frame: object) -> None:
    from runtime.hubs import get_hub

    get_hub().raise_in_main(SystemExit(128 + signum))


def _monkey_patch() -> None:
    import runtime

    runtime.monkey_patch()


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

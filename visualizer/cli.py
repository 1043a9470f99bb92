"""The `greenscope` command line.

    greenscope serve [--host 127.0.0.1] [--port 5000] [--open] [--token T] [--data-dir DIR] ...
                     [--demo WORKLOAD [NAME=VALUE ...]]
    greenscope run [--port 5000] [--no-open] prog.py [args...]
    greenscope record [-o trace.gsc] [--chrome out.json] [--connect ADDR] prog.py [args...]
    greenscope export trace.gsc --chrome out.json

`serve` starts the dashboard; on a host other than 127.0.0.1 it requires a token (given, or
generated and printed in the URL); ``--demo crawler continuous=true`` launches a workload with
those parameters as it starts. `run` runs a program traced and shown live on the
dashboard at ``--port``, starting one in the background if none of yours serves there. `record`
runs a program on the runtime — monkey-patched, traced — and writes a recording (and, with
``--chrome``, its Chrome trace); with ``--connect`` (or ``$GREENSCOPE_CONNECT``) it streams to
a dashboard instead. `export` turns a recording into a Chrome trace. A file that is not a
readable recording gets a one-line error and exit status 2. The tracing itself is
`runtime.tracer`'s: it needs no Flask.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import webbrowser
from pathlib import Path

from runtime.tracer import TraceError, find_dashboard, record, write_chrome, write_identity

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except TraceError as e:
        print(f"greenscope: error: {e}", file=sys.stderr)
        return 2


def _stall_ms(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 60_000:
        raise argparse.ArgumentTypeError("must be between 0 (off) and 60000 ms")
    return value


_STALL_MS = {
    "type": _stall_ms,
    "default": float(os.environ.get("GREENSCOPE_STALL_MS", 20)),
    "metavar": "MS",
    "help": "catch a greenthread that holds the hub longer than this, with its stack (default 20, or"
    " $GREENSCOPE_STALL_MS; 0: off)",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="greenscope", description="See green threads being scheduled.")
    sub = parser.add_subparsers(required=True, metavar="command")
    rec = sub.add_parser("record", help="run a program traced; write a recording (and/or a Chrome trace)")
    rec.add_argument("-o", "--output", help="the recording to write (default: PROGRAM.gsc)")
    rec.add_argument("--chrome", metavar="OUT.json", help="also write the Chrome trace (Perfetto, chrome://tracing)")
    rec.add_argument("--connect", metavar="ADDR", help="stream to a dashboard at host:port or a unix socket path")
    rec.add_argument("--fallback", metavar="PATH", help="where to write what the dashboard did not take at exit")
    rec.add_argument(
        "--flush-timeout",
        type=float,
        default=float(os.environ.get("GREENSCOPE_FLUSH_TIMEOUT", 5.0)),
        metavar="S",
        help="how long to wait at exit for the dashboard to take the rest (default 5, or $GREENSCOPE_FLUSH_TIMEOUT)",
    )
    rec.add_argument("--no-patch", action="store_true", help="do not monkey-patch the standard library")
    rec.add_argument("--stall-ms", **_STALL_MS)
    rec.add_argument("program", help="the Python program to run")
    rec.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    rec.set_defaults(run=_record)
    exp = sub.add_parser("export", help="turn a recording into a Chrome trace")
    exp.add_argument("recording")
    exp.add_argument("--chrome", metavar="OUT.json", required=True, help="the Chrome trace to write")
    exp.set_defaults(run=lambda args: write_chrome(args.recording, args.chrome) or 0)
    srv = sub.add_parser("serve", help="start the dashboard")
    srv.add_argument(
        "--host", default="127.0.0.1", help="where to listen (default: 127.0.0.1; any other host needs a token)"
    )
    srv.add_argument("--port", type=int, default=5000, help="the dashboard's port (default: 5000; 0: any free one)")
    srv.add_argument("--open", action="store_true", help="open it in a browser")
    srv.add_argument("--token", help="required of every request (generated when --host is not 127.0.0.1)")
    srv.add_argument("--allow-host", action="append", default=[], metavar="NAME", help="also serve under this name")
    srv.add_argument("--allow-external-crawl", action="store_true", help="let the crawler workload crawl other hosts")
    srv.add_argument("--data-dir", help="where sessions are kept (default: the user's cache directory)")
    srv.add_argument("--memory", type=int, metavar="MB", help="memory for sessions' events (default: 1/4 of the RAM)")
    srv.add_argument("--window", type=int, help="events kept in memory per session")
    srv.add_argument(
        "--demo",
        nargs="+",
        metavar=("WORKLOAD", "NAME=VALUE"),
        help="launch this workload as the server starts, with these parameters (the rest: its defaults)",
    )
    srv.set_defaults(run=_serve)
    run = sub.add_parser("run", help="run a program traced, shown live on the dashboard (started if need be)")
    run.add_argument("--port", type=int, default=5000, help="the dashboard's port on 127.0.0.1 (default: 5000)")
    run.add_argument("--token", help="the token for a dashboard this starts")
    run.add_argument("--no-open", action="store_true", help="do not open the session in a browser")
    run.add_argument("--no-patch", action="store_true", help="do not monkey-patch the standard library")
    run.add_argument("--stall-ms", **_STALL_MS)
    run.add_argument("program", help="the Python program to run")
    run.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    run.set_defaults(run=_run)
    return parser


def _record(args: argparse.Namespace) -> int:
    program = Path(args.program)
    connect = args.connect or os.environ.get("GREENSCOPE_CONNECT")
    output = args.output or (None if connect and not args.chrome else str(program.with_suffix(".gsc")))
    return record(
        program,
        args.args,
        output=output,
        chrome=args.chrome,
        connect=connect,
        fallback=args.fallback,
        flush_timeout=args.flush_timeout,
        patch=not args.no_patch,
        stall_ms=args.stall_ms,
    )


def _serve(args: argparse.Namespace) -> int:
    if sys.platform.startswith("linux") and "MALLOC_ARENA_MAX" not in os.environ:
        # glibc's arena per thread fragments under our thread-per-connection load: RSS +13% in 5 min, +3.5% with 2
        os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], {**os.environ, "MALLOC_ARENA_MAX": "2"})
    try:
        from visualizer.app import create_app
        from visualizer.httpd import make_server
        from visualizer.security import needs_token
        from visualizer.workloads import workloads
        from visualizer.workloads.schema import ParamError, from_text
    except ImportError as e:  # installed without the extra
        raise TraceError(f"the dashboard needs {e.name}: pip install 'greenscope[visualizer]'") from None

    token = args.token or (secrets.token_urlsafe(16) if needs_token(args.host) else None)
    config = {
        "host": args.host,
        "port": args.port,
        "token": token,
        "allowed_hosts": args.allow_host,
        "allow_external_crawl": args.allow_external_crawl,
        "data_dir": args.data_dir,
        "memory_budget": None if args.memory is None else args.memory << 20,
    }
    if args.window is not None:
        config["window"] = args.window
    try:
        app = create_app(config)
    except ValueError as e:
        raise TraceError(str(e)) from None
    dashboard = app.extensions["greenscope"]
    try:
        server = make_server(args.host, args.port, app)
    except OSError as e:
        dashboard.close()
        raise TraceError(f"cannot listen on {args.host}:{args.port}: {e.strerror}") from None
    host = f"[{args.host}]" if ":" in args.host else args.host
    base = f"http://{host}:{server.port}/"
    identity = {"pid": os.getpid(), "url": base, "agent": dashboard.listener.address, "key": dashboard.listener.key}
    identity_file = write_identity(server.port, {**identity, "token": token})
    try:
        if args.demo:  # once the port is ours: a demo never outlives a server that could not start
            name, *pairs = args.demo
            schema = workloads()[name].params if name in workloads() else {}
            try:
                dashboard.launcher.launch(name, from_text(schema, pairs))
            except ParamError as e:
                raise TraceError(f"--demo: {e}") from None
        url = base + (f"?token={token}" if token else "")
        print(f"greenscope: dashboard at {url} (agents connect to {dashboard.listener.address})", flush=True)
        if args.open:
            webbrowser.open(url)
        for signum in (signal.SIGTERM, signal.SIGHUP):  # stop the workloads on the way out
            signal.signal(signum, lambda *_: sys.exit(0))
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    finally:
        server.server_close()
        dashboard.close()
        identity_file.unlink(missing_ok=True)
    return 0


def _run(args: argparse.Namespace) -> int:
    identity = find_dashboard(port=args.port)
    if identity is None:
        log = Path(tempfile.gettempdir()) / f"greenscope-serve-{args.port}.log"
        command = [sys.executable, "-m", "visualizer", "serve", "--port", str(args.port)]
        with log.open("ab") as out:  # it outlives this program: the session stays on show
            server = subprocess.Popen(
                command + (["--token", args.token] if args.token else []),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        deadline = time.monotonic() + 20
        while identity is None and server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
            identity = find_dashboard(port=args.port)
        if identity is None:
            raise TraceError(
                f"no dashboard of yours serves on port {args.port}, and none could start there (see {log})"
            )
        print(f"greenscope: started the dashboard at {identity['url']} (its log: {log})", file=sys.stderr)
    token = identity.get("token")
    url = f"{identity['url']}?pid={os.getpid()}" + (f"&token={token}" if token else "")
    print(f"greenscope: showing this run at {url}", file=sys.stderr)
    if not args.no_open:
        webbrowser.open(url)
    program = Path(args.program)
    return record(
        program,
        args.args,
        connect=identity["agent"],
        secret=identity["key"],
        patch=not args.no_patch,
        stall_ms=args.stall_ms,
    )

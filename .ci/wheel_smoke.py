"""The wheel, installed as a user would: build it, install it with the `visualizer` extra in
a fresh venv outside the checkout, and use it from there — `greenscope serve` (the page,
its scripts, a workload launched that produces events, its Chrome export), `greenscope
record` and `greenscope export`. Exits non-zero at the first thing that does not work.

    python3 .ci/wheel_smoke.py
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import venv
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
PROGRAM = """
import runtime as eventlet

def fetch(n):
    eventlet.sleep(0.01)
    return n

print(sum(eventlet.GreenPool(4).imap(fetch, range(20))))
"""


def step(what: str) -> None:
    print(f"wheel smoke: {what}", flush=True)


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing found through the checkout


def run(*command: str | Path, cwd: Path) -> str:
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=600)
    if done.returncode:
        sys.exit(f"{' '.join(map(str, command))}: exit {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done.stdout


def fetch(url: str, data: dict | None = None) -> tuple[int, bytes]:
    body = None if data is None else json.dumps(data).encode()
    headers = {"Content-Type": "application/json", "X-Greenscope": "1"} if body else {}  # the page's header
    request = urllib.request.Request(url, body, headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as response:
        return response.status, response.read()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="greenscope-wheel-") as tmp:
        work = Path(tmp)
        for var, name in (("XDG_CACHE_HOME", "cache"), ("XDG_RUNTIME_DIR", "run")):  # its sessions stay in here
            (work / name).mkdir(mode=0o700)
            ENV[var] = str(work / name)
        step("building the wheel")
        run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", work / "dist", CHECKOUT, cwd=work)
        (wheel,) = (work / "dist").glob("greenscope-*.whl")
        step(f"installing {wheel.name}[visualizer] in a fresh venv")
        venv.create(work / "venv", with_pip=True)
        bin_dir = work / "venv" / "bin"
        run(bin_dir / "python", "-m", "pip", "install", "-q", f"{wheel}[visualizer]", cwd=work)
        probe = "import runtime, visualizer; print(visualizer.__file__, runtime.__version__)"
        site_file, version = run(bin_dir / "python", "-c", probe, cwd=work).split()
        assert not Path(site_file).is_relative_to(CHECKOUT), f"visualizer comes from the checkout: {site_file}"
        assert version != "0+unknown", "no version in the installed metadata"
        assert (Path(site_file).parent.parent / "runtime" / "py.typed").is_file(), "runtime/py.typed is missing"
        probe = "from runtime import site; from runtime.trace import recorder as r, codec as c; print("
        probe += "site._walk.__module__, r._CHooks, c._dictionary.__module__)"
        helpers = run(bin_dir / "python", "-c", probe, cwd=work).strip()
        expected = "runtime._frames <class 'runtime.trace._hooks.Hooks'> runtime.trace._columns"
        assert helpers == expected, f"the wheel's C helpers: {helpers}"
        step("greenscope record + export")
        (work / "app.py").write_text(PROGRAM)
        greenscope = bin_dir / "greenscope"
        assert run(greenscope, "record", "-o", "app.gsc", "app.py", cwd=work).strip() == "190"
        run(greenscope, "export", "app.gsc", "--chrome", "app.json", cwd=work)
        events = json.loads((work / "app.json").read_text())["traceEvents"]
        assert len(events) > 20, f"only {len(events)} trace events"

        step("greenscope serve")
        server = subprocess.Popen(
            [greenscope, "serve", "--port", "0"], cwd=work, env=ENV, stdout=subprocess.PIPE, text=True
        )
        try:
            line = server.stdout.readline()
            found = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
            assert found, f"no dashboard URL in {line!r}"
            base = found.group(1)
            status, page = fetch(base)
            assert status == 200 and b"<html" in page.lower(), f"GET / answered {status}"
            status, script = fetch(base + "static/js/main.js")
            assert status == 200 and script, f"GET /static/js/main.js answered {status}"
            status, body = fetch(base + "api/sessions", {"workload": "pile", "params": {"urls": 20}})
            session = json.loads(body)
            assert status == 201, f"launching a workload answered {status}: {session}"
            deadline = time.monotonic() + 60
            while session["state"] not in ("ended", "crashed", "stopped") and time.monotonic() < deadline:
                time.sleep(0.2)
                session = json.loads(fetch(f"{base}api/sessions/{session['id']}")[1])
            assert session["state"] == "ended" and session["events"] > 0, f"the workload: {session}"
            status, trace = fetch(f"{base}api/sessions/{session['id']}/export?format=chrome")
            assert status == 200 and json.loads(trace)["traceEvents"], "the session's Chrome export is empty"
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        step(f"ok: {wheel.name}, {session['events']} events from the launched workload")


if __name__ == "__main__":
    main()

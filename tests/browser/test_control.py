"""Live control from the page, in Chromium, of real programs run by ``greenscope run``: pause (no switch, no output),
step (one switch a press, the narration names who ran, the hub's ready queue said who would), slow motion (at 0.1x a
fixed workload takes >= 8x longer, the same events in the same order), resume (the program's clock runs with the
wall clock again), the source view (the line of a greenthread parked in ``q.get()``), a recording of a stepped run
replayed as it ran, and a key for each in the help."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from runtime.trace.codec import read_recording
from runtime.trace.events import BLOCK, EXIT, SPAWN, SWITCH, WAKE
from tests.support.dashboard import Server, wait_until
from tests.support.pages import load
from tests.support.programs import Program, sources

APP = """\
import sys
import time

import runtime as eventlet
from helper import consume
from runtime.hubs import get_hub, trampoline

rounds = int(sys.argv[1])
q, done = eventlet.Queue(name="jobs"), eventlet.Queue(name="done")
trampoline(sys.stdin.fileno(), read=True)  # the test says go
sys.stdin.readline()
hub = get_hub()
consumer = eventlet.spawn(consume, q, done)
for i in range(rounds):
    eventlet.sleep(0.03)
    q.put(i)
    done.get()  # one timer at a time: the order of events does not depend on how fast the machine is
    print("tick", i, time.monotonic(), hub.clock(), flush=True)  # the wall clock, and the program's
q.put(None)
consumer.wait()
print("done", flush=True)
"""
HELPER = """\
import runtime as eventlet


def consume(q, done):
    while True:
        item = q.get()  # where the consumer waits
        if item is None:
            return
        eventlet.sleep(0.01)  # its own work
        done.put(item)
"""
PARKED_LINE = 6  # helper.py's q.get()

# greenthreads switched into (RUNNING transitions) after page time t, in order
RUNS_AFTER = """(t) => {
  const tr = greenscope.trace, out = [];
  for (const l of tr.lanes) for (let i = 0; i < l.ts.n; i++)
    if (l.st.a[i] === tr.model.RUNNING && l.ts.a[i] > t) out.push([l.ts.a[i], l.gid]);
  return out.sort((a, b) => a[0] - b[0]).map((r) => r[1]);
}"""
LAST_CONTROL = "(action) => { const c = greenscope.trace.controls.filter((c) => c.action === action); return c.length ? c[c.length - 1].ts : null; }"  # noqa: E501
NEXT_UP = "async () => (await import('/static/js/narration.js')).nextUp(greenscope.trace)?.gid ?? null"


@pytest.fixture
def app(tmp_path: Path) -> Path:
    return sources(tmp_path, APP, HELPER)


@pytest.fixture
def programs(server: Server, app: Path) -> Iterator[list[Program]]:
    """The programs a test ran: stopped after it if they still run."""
    started: list[Program] = []
    yield started
    for program in started:
        program.stop()


def run(page: Page | None, server: Server, app: Path, programs: list[Program], rounds: int) -> Program:
    """``greenscope run app.py ROUNDS``, waiting for its go; shown in `page` (if any)."""
    program = Program(server, app, str(rounds), stdin=True)
    programs.append(program)
    if page is not None:
        page.goto(f"{server.base}?pid={program.proc.pid}")
        page.wait_for_function(f"greenscope.page.session && greenscope.page.session.pid === {program.proc.pid}")
        expect(page.locator("#btn-pace-pause")).to_be_enabled()
    return program


def go(program: Program) -> float:
    """Tell it to go; when (time.monotonic)."""
    program.proc.stdin.write("go\n")
    program.proc.stdin.flush()
    return time.monotonic()


def pause(page: Page) -> float:
    """Press k; once the page shows the hub paused, its time (page ns)."""
    page.keyboard.press("k")
    page.wait_for_function(f"({LAST_CONTROL})('paused') !== null")
    expect(page.locator("#narration")).to_contain_text("Paused")
    expect(page.locator("#btn-pace-pause")).to_have_attribute("aria-pressed", "true")
    return page.evaluate(f"({LAST_CONTROL})('paused')")


def ticks(program: Program) -> list[tuple[float, float]]:
    """(wall clock, program's clock) of each tick it printed."""
    return [(float(w[2]), float(w[3])) for w in (line.split() for line in program.lines) if w[0] == "tick"]


def rate(pairs: list[tuple[float, float]]) -> float:
    """How fast the program's clock ran against the wall clock from the first tick to the last."""
    (w0, p0), (w1, p1) = pairs[0], pairs[-1]
    return (p1 - p0) / (w1 - w0)


def test_paused_no_greenthread_runs_and_the_program_prints_nothing(page: Page, server: Server, app, programs):
    program = run(page, server, app, programs, 100_000)
    go(program)
    wait_until(lambda: len(program.lines) >= 3, what="its first ticks")
    paused_at = pause(page)
    page.wait_for_timeout(300)  # what it printed before the pause reaches us
    printed = len(program.lines)
    page.wait_for_timeout(700)
    assert len(program.lines) == printed  # its own output stopped
    assert page.evaluate(RUNS_AFTER, paused_at) == []  # and no switch into a greenthread arrived


def test_each_step_is_one_switch_named_in_the_narration_then_the_recording_replays_it(
    page: Page, server: Server, app: Path, programs: list[Program], tmp_path: Path
):
    program = run(page, server, app, programs, 40)
    go(program)
    wait_until(lambda: len(program.lines) >= 2, what="its first ticks")
    pause(page)
    for k in range(1, 9):
        predicted = page.evaluate(NEXT_UP)  # the first in the hub's ready queue, if one is ready
        page.keyboard.press("n")
        page.wait_for_function(f"greenscope.trace.controls.filter((c) => c.action === 'stepped').length === {k}")
        stepped_at = page.evaluate(f"({LAST_CONTROL})('stepped')")
        page.wait_for_function(f"({RUNS_AFTER})({stepped_at}).length > 0")
        page.wait_for_timeout(200)  # anything more it let run would arrive now
        ran = page.evaluate(RUNS_AFTER, stepped_at)
        assert len(ran) == 1, f"step {k} ran {ran}"
        assert predicted in (None, ran[0])
        expect(page.locator("#narration")).to_contain_text(f"gt{ran[0]}")
    page.keyboard.press("g")
    page.wait_for_function(f"({LAST_CONTROL})('resumed') !== null")
    expect(page.locator("#narration")).to_be_hidden()
    assert program.close() == 0
    page.wait_for_function(
        "greenscope.page.session.state === 'ended' && greenscope.trace.events >= greenscope.page.session.events",
        timeout=30_000,
    )
    live = page.evaluate(SNAPSHOT)
    recording = tmp_path / "stepped.gsc"
    recording.write_bytes(server.get(f"api/sessions/{program.id}/recording").content)
    load(page, recording)
    assert page.evaluate(SNAPSHOT) == live  # every lane's intervals, every control, as they were live


SNAPSHOT = """(() => { const tr = greenscope.trace;
  return { lanes: tr.lanes.map((l) => [l.gid, tr.intervals(l)]), controls: tr.controls.map((c) => [c.ts, c.action]) };
})()"""


def sequence(events: list[tuple]) -> list[tuple]:
    """What the greenthreads did from the consumer's spawn on: switches, blocks (on what, where), wakes (why)."""
    start = next(i for i, e in enumerate(events) if e[0] == SPAWN and e[4] == "consume")
    out = []
    for e in events[start:]:
        if e[0] == SWITCH:
            out.append(("switch", e[2], e[3]))
        elif e[0] == BLOCK:
            out.append(("block", e[2], e[3], e[5] if e[3] == "sleep" else None, e[6]))
        elif e[0] == WAKE:
            out.append(("wake", e[2], e[3], e[4]))
        elif e[0] in (SPAWN, EXIT):
            out.append((e[0], e[2]))
    return out


def test_slow_motion_at_a_tenth_takes_eight_times_longer_with_the_same_events(
    page: Page, server: Server, app: Path, programs: list[Program]
):
    rounds = 12
    alone = run(None, server, app, programs, rounds)
    started = go(alone)
    wait_until(lambda: "done" in alone.lines, what="the run at full speed")
    full = time.monotonic() - started
    assert alone.close() == 0
    slow = run(page, server, app, programs, rounds)
    page.keyboard.press("m")  # 0.5x
    page.keyboard.press("m")  # 0.1x
    page.wait_for_function("greenscope.trace.controls.length >= 2 && greenscope.trace.controls.at(-1).speed === 0.1")
    expect(page.locator("#btn-pace-slow")).to_have_text("0.1\u00d7")
    started = go(slow)
    wait_until(lambda: "done" in slow.lines, timeout=120, what="the run in slow motion")
    slowed = time.monotonic() - started
    assert slow.close() == 0
    assert slowed >= 8 * full, (slowed, full)
    assert rate(ticks(slow)) == pytest.approx(0.1, abs=0.01)  # its own clock ran at a tenth of the wall's
    for program in (alone, slow):
        wait_until(lambda p=program: server.get(f"api/sessions/{p.id}").json()["complete"], what="its end mark")
    got = [sequence(read_recording(server.get(f"api/sessions/{p.id}/recording").content)[1]) for p in (alone, slow)]
    assert got[1] == got[0]


def test_resume_returns_to_full_speed(page: Page, server: Server, app: Path, programs: list[Program]):
    program = run(page, server, app, programs, 100_000)
    page.keyboard.press("m")
    page.wait_for_function("greenscope.trace.controls.length >= 1")
    go(program)
    wait_until(lambda: len(ticks(program)) >= 3, what="ticks in slow motion")
    page.keyboard.press("g")
    page.wait_for_function(f"({LAST_CONTROL})('resumed') !== null")
    expect(page.locator("#btn-pace-slow")).to_have_attribute("aria-pressed", "false")
    resumed = len(ticks(program))
    wait_until(lambda: len(ticks(program)) >= resumed + 5, what="ticks at full speed")
    pairs = ticks(program)
    assert rate(pairs[:3]) == pytest.approx(0.5, abs=0.05)  # in slow motion: the command came after them
    assert rate(pairs[resumed + 1 :]) == pytest.approx(1, abs=0.05)  # its clock runs with the wall clock again


def test_the_source_view_marks_the_line_of_a_greenthread_parked_in_q_get(
    page: Page, server: Server, app: Path, programs: list[Program]
):
    program = run(page, server, app, programs, 100_000)
    go(program)
    wait_until(lambda: len(program.lines) >= 2, what="its first ticks")
    pause(page)
    page.keyboard.press("c")
    expect(page.locator("#source .src-head")).to_contain_text("app.py")
    consumer = page.evaluate("greenscope.trace.lanes.find((l) => l.func === 'consume').gid")
    for _ in range(10):  # step until the consumer waits on the queue (not in its sleep)
        if page.evaluate(f"greenscope.model.states[greenscope.trace.byGid.get({consumer}).state]") == "queue":
            break
        steps = page.evaluate("greenscope.trace.controls.length")
        page.keyboard.press("n")
        page.wait_for_function(f"greenscope.trace.controls.length > {steps}")
        page.wait_for_timeout(200)
    x, y = page.evaluate(
        f"""(() => {{
          const g = greenscope, lane = g.trace.byGid.get({consumer});
          g.timeline.reveal(lane, g.theme);
          g.drawNow();
          const y = g.timeline.rowY(g.timeline.rowOf[lane.index], g.theme) + g.theme.row / 2;
          return [g.view.gutter + g.view.width / 2, y];
        }})()"""
    )
    box = page.locator("#timeline").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)  # clicking its lane shows its line
    expect(page.locator("#source .src-head")).to_contain_text("helper.py")
    line = page.locator(f"#source .src-line[data-line='{PARKED_LINE}']")
    expect(line).to_have_class(re.compile(r"\bselected\b"))
    expect(line).to_have_attribute("data-state", "queue")
    expect(line.locator(".src-marks")).to_contain_text(f"gt{consumer}")
    expect(line).to_be_in_viewport()
    assert "q.get()" in line.inner_text()


def test_the_help_lists_a_key_for_each_live_control(page: Page):
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    for key, words in [
        ("k", "pause the program"),
        ("n", "step"),
        ("b", "until it blocks"),
        ("m", "slow motion"),
        ("g", "resume"),
        ("c", "source"),
    ]:
        row = page.locator("#help-keys tr").filter(has=page.locator("kbd", has_text=re.compile(f"^{key}$")))
        expect(row).to_have_count(1)
        expect(row).to_contain_text(words)

"""Where the user's code is: the C walk (`runtime._frames`) and the walk in Python give the same frame
for every depth, in the shapes code runs in (nested calls, greenthreads, generators, the runtime's
own frames in between); block locations are the same either way."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from typing import Any

import greenlet
import pytest

import runtime
from runtime import site
from runtime.green.socket import socketpair
from runtime.trace.events import BLOCK, SPAWN
from runtime.trace.recorder import Recorder

try:
    from runtime import _frames
except ImportError:
    _frames = None

COMPILER = (sysconfig.get_config_var("CC") or "").split()[:1]


def test_the_c_walk_is_built_where_a_compiler_is():
    """`make` builds it (an editable install): CPython with a compiler here, so the suite tests both walks."""
    if sys.implementation.name != "cpython" or not COMPILER or not shutil.which(COMPILER[0]):
        pytest.skip("no C compiler: the walk in Python is the only one")
    assert _frames is not None
    assert site._walk is (site._walk_in_python if os.environ.get("GREENSCOPE_PURE_PYTHON") else _frames.users_code)


def test_pure_python_is_chosen_by_the_environment():
    code = "from runtime import site; print(site._walk is site._walk_in_python)"
    out = subprocess.run(
        [sys.executable, "-c", code], env={"GREENSCOPE_PURE_PYTHON": "1"}, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "True"


def every_depth(walk: Any, internal: dict[str, bool], prefixes: tuple[str, ...]) -> list[tuple[str, int]]:
    """What `walk` finds from each depth out of its caller's caller, until it finds nothing."""
    found = []
    while (hit := walk(2 + len(found), internal, prefixes, {})) is not None:
        found.append((hit[0].co_qualname if sys.version_info >= (3, 11) else hit[0].co_name, hit[1]))
        if len(found) > 200:
            raise AssertionError("the walk does not end")
    return found


def both(prefixes: tuple[str, ...]) -> tuple[list, list]:
    """The frames each walk finds from the caller out (one call apart: same depths)."""
    assert _frames is not None
    return every_depth(_frames.users_code, {}, prefixes), every_depth(site._walk_in_python, {}, prefixes)


needs_c = pytest.mark.skipif(_frames is None, reason="runtime._frames is not built here")
NOTHING_INTERNAL = ("/nonexistent/",)


@needs_c
def test_nested_calls_generators_and_comprehensions():
    def nested(n: int) -> tuple[list, list]:
        return nested(n - 1) if n else both(NOTHING_INTERNAL)

    def generator() -> Iterator[tuple[list, list]]:
        yield both(NOTHING_INTERNAL)

    c, py = nested(5)
    assert c == py and [name.rpartition(".")[2] for name, _ in c[:6]] == ["nested"] * 6
    c, py = next(generator())
    assert c == py and c[0][0].endswith("generator")
    c, py = next(iter([both(NOTHING_INTERNAL) for _ in range(1)]))  # a comprehension's frame (inlined on 3.12+)
    assert c == py


@needs_c
def test_in_greenlets_the_walk_ends_where_the_greenlet_began():
    def inner() -> tuple[list, list]:
        got = both(NOTHING_INTERNAL)
        greenlet.getcurrent().parent.switch(got)
        return both(NOTHING_INTERNAL)

    def run() -> tuple[list, list]:
        return inner()

    g = greenlet.greenlet(run)
    first = g.switch()
    second = g.switch()  # resumed from another place in the parent
    for c, py in (first, second):
        assert c == py and [name.rpartition(".")[2] for name, _ in c] == ["inner", "run"]


@needs_c
def test_library_frames_are_skipped_alike():
    """A library's frames between the walk and the user's code (a file under a registered prefix): both
    walks go past them to the user's function that called the library."""
    library: dict = {}
    exec(compile("def call(f, arg):\n    return f(arg)\n", "/a/library/mod.py", "exec"), library)

    def users() -> tuple[list, list]:
        return library["call"](both, (*site._prefixes, "/a/library/"))

    c, py = users()
    assert c == py and c[0][0].rpartition(".")[2] == "users"


@pytest.fixture(params=["c", "python"])
def walk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "c":
        if _frames is None:
            pytest.skip("runtime._frames is not built here")
        monkeypatch.setattr(site, "_frames", _frames)  # (its caches are forgotten with the rest)
        monkeypatch.setattr(site, "_walk", _frames.users_code)
        locator = _frames.Locator(site._internal, site._prefixes, site._locations, site._name_location)
        monkeypatch.setattr(site, "code_location", locator)
    else:
        monkeypatch.setattr(site, "_walk", site._walk_in_python)
        monkeypatch.setattr(site, "code_location", site._code_location_in_python)
    return request.param


def test_a_location_is_named_once(walk: str):
    """The second time a line is asked for, the walk returns the name it was given the first time."""
    names = []
    for _ in range(2):
        names.append(site.code_location())
    line, function = sys._getframe().f_lineno - 1, sys._getframe().f_code.co_name
    assert names[0] == f"{__file__}:{line} in {function}" and names[1] is names[0]


def test_a_block_is_located_at_the_users_line_either_way(walk: str):
    """A green queue's get, a socket read through makefile().readline() (stdlib frames between) and a
    sleep each report the line that called them, and the spawn site the line that spawned."""
    q: runtime.Queue = runtime.Queue()
    a, b = socketpair()
    lines: dict[str, int] = {}

    def consumer() -> None:
        lines["get"] = sys._getframe().f_lineno + 1
        q.get()
        lines["readline"] = sys._getframe().f_lineno + 1
        b.makefile("rb").readline()
        lines["sleep"] = sys._getframe().f_lineno + 1
        runtime.sleep(0.001)

    rec = Recorder().install()
    try:
        lines["spawn"] = sys._getframe().f_lineno + 1
        g = runtime.spawn(consumer)
        runtime.sleep(0)
        q.put(1)
        runtime.sleep(0)
        a.sendall(b"x\n")
        g.wait()
    finally:
        rec.uninstall()
        a.close()
        b.close()
    events = rec.take()
    spawn = next(
        e for e in events if e[0] == SPAWN and e[4].endswith("consumer")
    )  # (kind, ts, gid, parent, func, site, pool)
    assert spawn[5] == f"{__file__}:{lines['spawn']}"
    where = [e[6] for e in events if e[0] == BLOCK and e[2] == spawn[2]]  # (kind, ts, gid, reason, obj, detail, where)
    name = "test_a_block_is_located_at_the_users_line_either_way.<locals>.consumer"
    if sys.version_info < (3, 11):
        name = "consumer"
    assert where == [f"{__file__}:{lines[k]} in {name}" for k in ("get", "readline", "sleep")]


def test_two_lines_of_one_function_are_two_locations(walk: str):
    """The C walk keeps names per place in the code (not per function): each line gets its own."""
    first = site.code_location()
    second = site.code_location()
    line, name = sys._getframe().f_lineno - 2, sys._getframe().f_code.co_name
    assert first == f"{__file__}:{line} in {name}" and second == f"{__file__}:{line + 1} in {name}"


def test_a_library_registered_later_is_skipped_from_then_on(walk: str):
    """`not_the_users` makes what was the user's file a library's: the walk, which had kept the
    answer for that file's code, goes past it to the caller from then on."""
    saved = list(site._prefixes)
    library: dict = {}
    exec(compile("def call(where):\n    return where()\n", "/a/later/library.py", "exec"), library)
    try:
        assert library["call"](site.code_location) == "/a/later/library.py:2 in call"
        site.not_the_users("/a/later")
        line = sys._getframe().f_lineno + 1
        assert library["call"](site.code_location) == f"{__file__}:{line} in {sys._getframe().f_code.co_name}"
    finally:
        site._prefixes[:] = saved
        site._internal.clear()
        if _frames is not None:
            _frames.forget()


@pytest.mark.skipif(_frames is None, reason="runtime._frames is not built here")
def test_the_c_locator_checks_its_argument():
    for bad in (("x",), (1, 2)):
        with pytest.raises(TypeError, match=r"code_location\(skip: int = 0\)"):
            _frames.Locator(site._internal, site._prefixes, site._locations, site._name_location)(*bad)
    with pytest.raises(TypeError, match="prefixes"):
        _frames.Locator({}, "not a sequence", {}, print)

"""What importing a part of the package loads: each check runs in a fresh interpreter."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

import runtime


def loaded_after(code: str) -> set[str]:
    """The ``runtime.*`` modules loaded by running `code` in a fresh interpreter."""
    listing = "import json, sys; print(json.dumps([m for m in sys.modules if m.split('.')[0] == 'runtime']))"
    probe = textwrap.dedent(code) + "\n" + listing
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_the_trace_format_does_not_load_the_runtime():
    trace = {"runtime", "runtime.trace", "runtime.trace.events"}
    codec = {"runtime.trace.codec"}
    if importlib.util.find_spec("runtime.trace._columns") is not None and not os.environ.get("GREENSCOPE_PURE_PYTHON"):
        codec.add("runtime.trace._columns")  # its optional C helper: a leaf
    assert loaded_after("import runtime.trace.codec") == trace | codec
    assert loaded_after("import runtime.trace.chrome") == trace | {"runtime.trace.chrome", "runtime.trace.states"}
    analysis = loaded_after("import runtime.trace.analysis")
    assert {m for m in analysis if not m.startswith("runtime.trace.analysis")} == trace | {"runtime.trace.states"}


def test_import_runtime_as_eventlet_is_cheap_and_loads_names_on_use():
    assert loaded_after("import runtime as eventlet") == {"runtime"}
    after_spawn = loaded_after("import runtime as eventlet; eventlet.spawn(print, 'x').wait()")
    assert "runtime.greenthread" in after_spawn and "runtime.patcher" not in after_spawn


def test_every_public_name_and_submodule_is_reachable():
    for name in runtime.__all__:
        assert getattr(runtime, name) is not None, name
    assert set(runtime.__all__) <= set(dir(runtime))
    assert runtime.queue.Queue is runtime.Queue
    assert runtime.__version__
    with pytest.raises(AttributeError, match="no_such_name"):
        runtime.no_such_name  # noqa: B018


def test_star_import_gives_everything():
    names: dict[str, object] = {}
    exec("from runtime import *", names)
    assert set(runtime.__all__) <= set(names)


def test_green_threading_does_not_need_the_patcher():
    loaded = loaded_after("import runtime.green.threading")
    assert "runtime.patcher" not in loaded and "runtime.green._copy" in loaded

"""The packages of the wheel: runtime and visualizer, and the page's top-level static/ and
templates/ folders as visualizer's data (``visualizer/static``, ``visualizer/templates``:
`visualizer.ROOT` finds them there); the optional C helpers `runtime._frames`,
`runtime.trace._hooks`, `runtime.trace._columns`, `runtime.attach._switches`, `runtime._queue`
and `runtime._sockio` (where no compiler or no CPython is, the build goes on without them and
the same code runs in Python). Everything else is in pyproject.toml."""

import platform

from setuptools import Extension, find_namespace_packages, find_packages, setup

page = [f"visualizer.{name}" for name in find_namespace_packages(include=["static", "static.*", "templates"])]
helpers = [
    Extension("runtime._frames", ["runtime/_frames.c"], optional=True),
    Extension("runtime.trace._hooks", ["runtime/trace/_hooks.c"], depends=["runtime/_gid.h"], optional=True),
    Extension("runtime.trace._columns", ["runtime/trace/_columns.c"], optional=True),
    Extension("runtime.attach._switches", ["runtime/attach/_switches.c"], depends=["runtime/_gid.h"], optional=True),
    Extension("runtime._queue", ["runtime/_queue.c"], optional=True),
    Extension("runtime._sockio", ["runtime/_sockio.c"], optional=True),
]
setup(
    packages=[*find_packages(include=["runtime", "runtime.*", "visualizer", "visualizer.*"]), *page],
    ext_modules=helpers if platform.python_implementation() == "CPython" else [],
)

"""The packages of the wheel: runtime and visualizer, and the page's top-level static/ and
templates/ folders as visualizer's data (``visualizer/static``, ``visualizer/templates``:
`visualizer.ROOT` finds them there); the optional C helper `runtime._frames` (where no compiler or
no CPython is, the build goes on without it and `runtime.site` walks frames in Python). Everything
else is in pyproject.toml."""

import platform

from setuptools import Extension, find_namespace_packages, find_packages, setup

page = [f"visualizer.{name}" for name in find_namespace_packages(include=["static", "static.*", "templates"])]
frames = Extension("runtime._frames", ["runtime/_frames.c"], optional=True)
setup(
    packages=[*find_packages(include=["runtime", "runtime.*", "visualizer", "visualizer.*"]), *page],
    ext_modules=[frames] if platform.python_implementation() == "CPython" else [],
)

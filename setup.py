"""The packages of the wheel: runtime and visualizer, and the page's top-level static/ and
templates/ folders as visualizer's data (``visualizer/static``, ``visualizer/templates``:
`visualizer.ROOT` finds them there). Everything else is in pyproject.toml."""

from setuptools import find_namespace_packages, find_packages, setup

page = [f"visualizer.{name}" for name in find_namespace_packages(include=["static", "static.*", "templates"])]
setup(packages=[*find_packages(include=["runtime", "runtime.*", "visualizer", "visualizer.*"]), *page])

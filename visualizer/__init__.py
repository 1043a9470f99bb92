"""greenscope's dashboard and command line: `greenscope record`, `greenscope export`."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout: `-m visualizer` is found here, and templates/, static/

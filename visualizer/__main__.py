"""``python -m visualizer``: the greenscope command line."""

import sys

from visualizer.cli import main

sys.exit(main())

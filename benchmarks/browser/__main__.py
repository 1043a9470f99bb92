"""``python -m benchmarks.browser``: the report (see the package's docstring); ``--profile`` adds where the page's
time goes."""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path

from benchmarks import browser
from benchmarks.browser.runner import PHASES, Options, run
from benchmarks.dashboard.runner import phase_list


def main(argv: list[str]) -> int:
    """The report; ``--profile`` adds where the page's time goes."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.browser", description=browser.__doc__.split("\n")[0])
    parser.add_argument(
        "--only", type=partial(phase_list, phases=PHASES), default=PHASES, help=f"comma list of {','.join(PHASES)}"
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="the live phase (default 15)")
    parser.add_argument("--profile", action="store_true", help="CDP Profiler and per-part timings (slows the page)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures to PATH")
    args = parser.parse_args(argv)
    figures = run(Options(live_seconds=args.seconds, profile=args.profile, only=args.only))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""``python -m benchmarks.dashboard``: the report (see the package's docstring), or a child role the phases start
(``flood``: the synthetic agent; ``traced``: the paced traced program; ``crowd``: a traced program of many live
greenthreads)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks import dashboard
from benchmarks.dashboard.load import crowd, flood, traced
from benchmarks.dashboard.runner import PHASES, Options, phase_list, run
from benchmarks.dashboard.soak import LONG_SOAK


def main(argv: list[str]) -> int:
    """The report, or a child role."""
    if argv[:1] == ["flood"]:
        flood(argv[1], int(argv[2]), *map(float, argv[3:5]))
        return 0
    if argv[:1] == ["traced"]:
        traced(argv[1], float(argv[2]), float(argv[3]))
        return 0
    if argv[:1] == ["crowd"]:
        crowd(argv[1], int(argv[2]), float(argv[3]))
        return 0
    description = dashboard.__doc__.split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dashboard", description=description)
    parser.add_argument("--memory-seconds", type=float, default=30.0, metavar="S", help="memory phase (default 30)")
    parser.add_argument("--window", type=int, help="the memory phase's session window (events)")
    parser.add_argument("--seconds", type=float, default=10.0, help="delay and slow-viewer phases (default 10)")
    parser.add_argument("--soak", type=float, default=30.0, metavar="S", help="soak phase seconds (default 30)")
    parser.add_argument("--long", action="store_true", help=f"the soak phase for {LONG_SOAK / 60:g} minutes")
    parser.add_argument("--only", type=phase_list, default=PHASES, help=f"comma list of {','.join(PHASES)}")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures to PATH")
    args = parser.parse_args(argv)
    options = Options(
        seconds=args.seconds,
        memory_seconds=args.memory_seconds,
        soak_seconds=LONG_SOAK if args.long else args.soak,
        window=args.window,
        only=args.only,
    )
    figures = run(options)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

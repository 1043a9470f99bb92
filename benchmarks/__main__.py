"""``python -m benchmarks``: run the scenarios side by side and print medians, ratios and targets."""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

from benchmarks import attach, browser, dashboard
from benchmarks.core import IMPLS, SCENARIOS, Scenario
from benchmarks.harness import BASE, Measurement, measure

BASELINE = "runtime"


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--repeat", type=int, default=5, metavar="N", help="runs per implementation (default 5)")
    parser.add_argument(
        "--only", choices=[*sorted(SCENARIOS), "attach", "dashboard", "browser"], help="run only this scenario"
    )
    parser.add_argument("--no-dashboard", action="store_true", help="skip the dashboard's streaming benchmark")
    parser.add_argument("--no-browser", action="store_true", help="skip the timeline page's benchmark in Chromium")
    parser.add_argument("--no-attach", action="store_true", help="skip eventlet and gevent traced against themselves")
    parser.add_argument("--impl", type=impl_list, default=list(IMPLS), help=f"comma list of {','.join(IMPLS)}")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write all results to PATH")
    parser.add_argument(
        "--baseline",
        type=checkout,
        metavar="DIR",
        help=f"also measure the runtime of the checkout DIR (an older commit, say) as {BASE}, side by side: its"
        " ratio vs runtime above 1.00x means this tree is faster",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def impl_list(text: str) -> list[str]:
    """Parse ``--impl a,b``, keeping the registry's order."""
    wanted = {name.strip() for name in text.split(",") if name.strip()}
    unknown = wanted.difference(IMPLS)
    if unknown or not wanted:
        raise argparse.ArgumentTypeError(f"choose from {','.join(IMPLS)}")
    return [impl for impl in IMPLS if impl in wanted]


def checkout(text: str) -> Path:
    """Parse ``--baseline DIR``: a checkout with a ``runtime`` package."""
    path = Path(text).resolve()
    if not (path / "runtime" / "__init__.py").is_file():
        raise argparse.ArgumentTypeError(f"{text}: no runtime/__init__.py there (a greenscope checkout, please)")
    return path


def ratio_vs_baseline(result: Measurement, baseline: Measurement | None) -> float | None:
    """How many times faster the baseline is than ``result`` (their time over the baseline's)."""
    if baseline is None or baseline.status != "ok" or result.status != "ok":
        return None
    return result.median / baseline.median


def target_lines(spec: Scenario, by_impl: dict[str, Measurement]) -> list[str]:
    """Each of the scenario's targets, its ratio and PASS/MISS (or n/a when a side was not measured)."""
    lines = []
    for target in spec.targets:
        goal = f"target: {target.text} (vs {target.peer} {target.bound})"
        peer = by_impl.get(target.peer)
        ratio = None if peer is None else ratio_vs_baseline(peer, by_impl.get(BASELINE))
        lines.append(
            f"{goal}: n/a" if ratio is None else f"{goal}: {ratio:.2f}x {'PASS' if target.met(ratio) else 'MISS'}"
        )
    return lines


def report(spec: Scenario, results: list[Measurement], repeat: int) -> str:
    """The scenario's table and target line."""
    by_impl = {r.impl: r for r in results}
    baseline = by_impl.get(BASELINE)
    lines = [
        f"{spec.name}: {spec.description} (median of {repeat})",
        f"  {'impl':<10}{'median':>10}{'min':>10}{'max':>10}  {'unit':<10}{'vs ' + BASELINE:>11}",
    ]
    for r in results:
        if r.status == "missing":
            lines.append(f"  {r.impl:<10}not installed")
        elif r.status == "error":
            lines.append(f"  {r.impl:<10}error: {r.error}")
        else:
            ratio = ratio_vs_baseline(r, baseline)
            shown = "-" if ratio is None else f"{ratio:.2f}x"
            lines.append(
                f"  {r.impl:<10}{r.median:>10.3f}{min(r.samples):>10.3f}{max(r.samples):>10.3f}  "
                f"{spec.unit:<10}{shown:>11}"
            )
    lines.extend(f"  {line}" for line in target_lines(spec, by_impl))
    return "\n".join(lines)


def show_progress(message: str) -> None:
    """Overwrite one status line on stderr when it is a terminal."""
    if sys.stderr.isatty():
        print(f"\r\033[K{message}", end="", file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    """Run the selected scenarios, print a table for each, and optionally dump JSON; always exits 0."""
    args = parse_args(argv)
    names = [args.only] if args.only in SCENARIOS else [] if args.only else list(SCENARIOS)
    print(f"python {platform.python_version()}, {args.repeat} runs each, one fresh process per run, round-robin\n")
    dump = []
    for name in names:
        spec = SCENARIOS[name]
        impls = [impl for impl in args.impl if impl in spec.impls]  # not every peer has every scenario
        if args.baseline is not None and "runtime" in spec.impls:
            impls.insert(1, BASE)
        results = measure(name, impls, args.repeat, progress=show_progress, baseline=args.baseline)
        show_progress("")
        print(report(spec, results, args.repeat) + "\n")
        by_impl = {r.impl: r for r in results}
        for r in results:
            dump.append({**r.as_dict(), "unit": spec.unit, "vs_runtime": ratio_vs_baseline(r, by_impl.get(BASELINE))})
    if args.only in (None, "attach") and not args.no_attach:
        dump += attach.run(args.repeat, progress=show_progress)
        show_progress("")
    streaming = None
    if args.only in (None, "dashboard") and not args.no_dashboard:
        streaming = dashboard.run(dashboard.Options())  # one run: its figures are not ratios against peers
    page = None
    if args.only in (None, "browser") and not args.no_browser:
        page = browser.run(browser.Options())  # one run, like the dashboard's
    if args.json:
        record = {"repeat": args.repeat, "results": dump, "dashboard": streaming, "browser": page}
        args.json.write_text(json.dumps(record, indent=2) + "\n")
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

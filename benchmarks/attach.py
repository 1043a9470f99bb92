"""Tracing eventlet and gevent programs: each peer traced by greenscope's adapter against the same peer
untraced, measured side by side in one run (``python -m benchmarks --only attach``).

Three variants of each peer: untraced; ``-off``, the tracing agent running but nothing recorded
(what ``greenscope record`` costs before a program imports its library); ``-traced``, the adapter
attached and every event recorded and shipped (to /dev/null), as ``greenscope record`` does.
Importing this module registers them in `benchmarks.core.SCENARIOS` (``benchmarks/__init__.py`` does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks import net  # noqa: F401 -- registers the echo scenario this adds variants to
from benchmarks.core import SCENARIOS, implements, tracing
from benchmarks.harness import Measurement, measure

__all__ = ["PEERS", "TARGETS", "attached", "run"]

PEERS = ("eventlet", "gevent")
VARIANTS = ("", "-off", "-traced")
# scenario -> the most traced / untraced may take, and the most off / untraced
TARGETS = {"sleep0": (1.5, 1.03), "echo": (1.2, 1.03)}


class attached(tracing):
    """Context: the tracing agent runs, shipping to /dev/null; with `record`, `peer`'s adapter is
    attached and every event recorded."""

    def __init__(self, peer: str, record: bool) -> None:
        super().__init__(record)
        self.peer = peer

    def __enter__(self) -> None:
        from runtime.attach import attach

        super().__enter__()
        if self.record:
            self.adapter = attach(self.peer).start()

    def __exit__(self, *exc: object) -> None:
        if self.record:
            self.adapter.stop()
        super().__exit__(*exc)


def _register(scenario: str, peer: str, run: Callable[[int], None]) -> None:
    for variant, record in (("-off", False), ("-traced", True)):

        def traced(n: int, record: bool = record) -> None:
            with attached(peer, record):
                run(n)

        implements(scenario, peer + variant)(traced)


for _peer in PEERS:
    _register("sleep0", _peer, SCENARIOS["sleep0"].impls[_peer])
    _register("echo", _peer, SCENARIOS["echo"].impls[_peer])


def ratio(result: Measurement, base: Measurement) -> float | None:
    """``result``'s median over ``base``'s, when both were measured."""
    if result.status != "ok" or base.status != "ok":
        return None
    return result.median / base.median


def run(repeat: int, progress: Callable[[str], None] = lambda _: None) -> list[dict[str, Any]]:
    """Measure every scenario for each peer in its three variants, round-robin; print the table."""
    dump = []
    print(f"attach: eventlet and gevent traced by greenscope, each against itself untraced (median of {repeat})")
    print(f"  {'scenario':<9}{'impl':<17}{'median':>9}{'min':>9}{'max':>9}  {'unit':<10}{'vs untraced':>12}")
    for scenario, (traced_max, off_max) in TARGETS.items():
        spec = SCENARIOS[scenario]
        for peer in PEERS:
            results = measure(scenario, [peer + v for v in VARIANTS], repeat, progress)
            base = results[0]
            for r, variant in zip(results, VARIANTS, strict=True):
                shown = ratio(r, base)
                if r.status != "ok":
                    print(f"  {scenario:<9}{r.impl:<17}{r.status}: {r.error}")
                    continue
                line = f"  {scenario:<9}{r.impl:<17}{r.median:>9.3f}{min(r.samples):>9.3f}{max(r.samples):>9.3f}"
                line += f"  {spec.unit:<10}{'-' if shown is None else f'{shown:.2f}x':>12}"
                bound = {"-off": off_max, "-traced": traced_max}.get(variant)
                if bound is not None and shown is not None:
                    line += f"  target <= {bound:.2f}x {'PASS' if shown <= bound else 'MISS'}"
                print(line)
                dump.append({**r.as_dict(), "unit": spec.unit, "vs_untraced": shown})
    print()
    return dump

"""What a benchmark run prints and returns (`Report`: its lines as they come, its figures for --json) and the
helpers its lines share (`verdict`, `percentile`); the page's benchmark reports the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Report:
    """The figures (for --json); its lines are printed as they come."""

    figures: dict[str, Any] = field(default_factory=dict)

    def add(self, text: str = "") -> None:
        print(text, flush=True)

    def failed(self, phase: str, error: Exception) -> None:
        """The phase `phase` raised `error`: say so (a report goes on with the next phase)."""
        self.add(f"{phase:<13}error: {type(error).__name__}: {error}")
        self.figures[phase] = {"error": str(error)}


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of `values` (already sorted)."""
    return values[min(len(values) - 1, max(0, round(q / 100 * len(values)) - 1))] if values else float("nan")

"""Distributions of durations: count, p50, p95, max and total, with nearest-rank percentiles.

Every wait and latency in the analysis is summed up this way (`distribution`); `of_sorted`
skips the sort for values already in order (merged runs of sorted lanes).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

__all__ = ["distribution", "of_sorted"]


def distribution(values: Iterable[int]) -> dict:
    """count, p50, p95, max and total of durations (ns); nearest-rank percentiles."""
    return of_sorted(sorted(values))


def of_sorted(ordered: Sequence[int]) -> dict:
    """`distribution` of values already in order."""
    if not ordered:
        return {"count": 0, "p50": 0, "p95": 0, "max": 0, "total": 0}

    def rank(p: float) -> int:
        return ordered[max(0, math.ceil(p * len(ordered)) - 1)]

    return {"count": len(ordered), "p50": rank(0.5), "p95": rank(0.95), "max": ordered[-1], "total": sum(ordered)}

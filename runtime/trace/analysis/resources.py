"""Pools, queues and the other objects greenthreads wait on (semaphores, events), over the range.

`Steps` integrates a pool's or queue's state (from its ``pool`` / ``queue`` events) as it
comes: time full, time empty, slots in use. At report time, `pool_reports` gives each pool's
saturation (share of its life full, occupancy, the spawners waiting for a slot, the slot
waits, throughput, the mean hold and the size Little's law asks for); `queue_reports` each
queue's share of time full and empty and its put and get waits; `other_reports` the waits on
everything else. The waits are those the `Analyzer` collected, closed and still open.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from runtime.trace.analysis.distributions import distribution
from runtime.trace.analysis.findings import points_at

if TYPE_CHECKING:
    from runtime.trace.analysis.analyzer import Analyzer

__all__ = ["Steps", "other_reports", "pool_reports", "queue_reports"]


class Steps:
    """A pool's or queue's state over time, integrated over the range as it comes."""

    __slots__ = ("at", "busy", "created", "empty", "full", "values")

    def __init__(self, created: int) -> None:
        self.created = created
        self.at = created
        self.values: tuple | None = None
        self.full = self.empty = self.busy = 0.0

    def step(self, an: Analyzer, ts: int, values: tuple, kind: str) -> None:
        self.flush(an, ts, kind)
        self.at, self.values = max(ts, self.at), values

    def flush(self, an: Analyzer, until: int, kind: str, into: Steps | None = None) -> None:
        """Add the time since the last change (up to `until`) to `into` (default: self)."""
        into = into or self
        d = min(until, an.stop) - max(self.at, an.start)
        v = self.values
        if d <= 0 or v is None:
            return
        if kind == "pool":  # (size, running, waiting)
            into.full += d if v[0] > 0 and v[1] >= v[0] else 0
            into.busy += v[1] * d
        else:  # (size, maxsize, putters, getters)
            into.full += d if v[1] is not None and v[1] > 0 and v[0] >= v[1] else 0
            into.empty += d if v[0] == 0 else 0


def pool_reports(an: Analyzer, start: int, stop: int) -> list[dict]:
    """Per pool, its saturation over [start, stop)."""
    out = []
    for obj, res in an.resources.items():
        if res["type"] != "pool":
            continue
        steps, life0 = an.steps[obj], max(res["created"], start)
        life = max(1, stop - life0)
        total = Steps(0)
        total.full, total.busy = steps.full, steps.busy
        steps.flush(an, stop, "pool", into=total)
        waits = _waits_of(an, obj, "pool_slot", stop)
        longest = max(waits, key=lambda w: w[2], default=None)
        members = [g for g, p in an.pool_of.items() if p == obj and start <= an.spawned[g] < stop]
        holds = [an.exited[g] - an.spawned[g] for g in members if an.exited.get(g, stop + 1) <= stop]
        hold = sum(holds) / len(holds) if holds else 0.0
        arrived = [t for t in an.arrivals.get(obj, ()) if start <= t < stop]
        arrived += [s for g, s, _, still in waits if still]
        window = max(arrived) - min(arrived) if len(arrived) > 1 else 0
        arrivals = (len(arrived) - 1) / (window / 1e9) if window else 0.0
        size = steps.values[0] if steps.values else res["size"]
        out.append(
            {
                "obj": obj,
                "name": res["name"],
                "size": size,
                "life": life,
                "full": int(total.full),
                "full_share": total.full / life,
                "occupancy": total.busy / life / size if size else 0.0,
                "waiting_now": [{"gid": g, "since": s} for g, s, _, still in sorted(waits, key=_start) if still],
                "longest_wait": None if longest is None else points_at(longest[0], longest[1], ns=longest[2]),
                "slot_wait": distribution(w[2] for w in waits),
                "members": len(members),
                "completions": len(holds),
                "throughput": len(holds) / (life / 1e9),
                "hold_mean": hold,
                "arrivals": arrivals,
                "little": math.ceil(arrivals * hold / 1e9) if holds and arrivals else None,
            }
        )
    return out


def queue_reports(an: Analyzer, start: int, stop: int) -> list[dict]:
    """Per queue, its time full and empty and its waits over [start, stop)."""
    out = []
    for obj, res in an.resources.items():
        if res["type"] != "queue":
            continue
        steps, life = an.steps[obj], max(1, stop - max(res["created"], start))
        total = Steps(0)
        total.full, total.empty = steps.full, steps.empty
        steps.flush(an, stop, "queue", into=total)
        puts, gets = _waits_of(an, obj, "queue_put", stop), _waits_of(an, obj, "queue_get", stop)
        out.append(
            {
                "obj": obj,
                "name": res["name"],
                "maxsize": res["size"],
                "life": life,
                "full_share": total.full / life,
                "empty_share": total.empty / life,
                "put_wait": distribution(w[2] for w in puts),
                "get_wait": distribution(w[2] for w in gets),
                "putters_now": [{"gid": g, "since": s} for g, s, _, still in puts if still],
                "getters_now": [{"gid": g, "since": s} for g, s, _, still in gets if still],
            }
        )
    return out


def other_reports(an: Analyzer, stop: int) -> list[dict]:
    """Semaphores, events and the like: the waits on each, and who waits now."""
    out = []
    for obj, res in an.resources.items():
        if res["type"] in ("pool", "queue"):
            continue
        waits = [w for reason in _reasons_on(an, obj) for w in _waits_of(an, obj, reason, stop)]
        out.append(
            {
                "obj": obj,
                "name": res["name"],
                "type": res["type"],
                "size": res["size"],
                "wait": distribution(w[2] for w in waits),
                "waiting_now": [{"gid": g, "since": s} for g, s, _, still in sorted(waits, key=_start) if still],
            }
        )
    return out


def _waits_of(an: Analyzer, obj: int, reason: str, stop: int) -> list[tuple[int, int, int, bool]]:
    """(gid, start, ns waited by `stop`, still waiting) of each wait for `reason` on `obj` in the range."""
    out = [(g, s, min(e, stop) - s, e > stop) for g, r, s, e in an.waits.get(obj, ()) if r == reason]
    out += [(g, s, stop - s, True) for g, (s, r, o, *_) in an.waiting.items() if r == reason and o == obj]
    return [w for w in out if w[1] < stop and w[1] + w[2] >= an.start]


def _reasons_on(an: Analyzer, obj: int) -> set[str]:
    """Why greenthreads waited on `obj`."""
    done = {r for _, r, _, _ in an.waits.get(obj, ())}
    return done | {r for s, r, o, *_ in an.waiting.values() if o == obj}


def _start(wait: tuple) -> int:
    return wait[1]

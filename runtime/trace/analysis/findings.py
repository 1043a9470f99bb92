"""Findings: what made the program slow, as sentences with the numbers, ranked by the time they cost.

From the pools', queues' and functions' reports: a pool full most of its life with spawners
waiting for a slot (and the size Little's law asks for), a function that held the hub (with
the stack it was caught in and how late the timers fired meanwhile), a queue full most of
its life with puts waiting, a high scheduler latency. Each points at the greenthread to
select (`gid`) and the moment to show (`at`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.trace.analysis.analyzer import Analyzer

__all__ = ["LATE_NS", "points_at", "ranked_findings"]

SATURATED = 0.5  # a pool (or queue) full this share of its life is a finding
LATENCY_NS = 10_000_000  # a p95 scheduler latency above this is a finding
LATE_NS = 1_000_000  # a timer that fires this late is worth saying


def ranked_findings(
    an: Analyzer, pools: list, queues: list, functions: list, stalls: list, latency: dict
) -> list[dict]:
    """The findings in the reports, the costliest first."""
    out = []
    for p in pools:
        sw, w = p["slot_wait"], p["longest_wait"]
        if p["full_share"] >= SATURATED and sw["count"]:
            where = an.site.get(w["gid"]) or an.func.get(w["gid"], "?")
            text = (
                f"pool `{p['name']}` was full {100 * p['full_share']:.0f} % of {_ms(p['life'])};"
                f" {sw['count']} spawner{'s' * (sw['count'] != 1)} waited for a slot p95 {_ms(sw['p95'])}"
                f" (longest {_ms(w['ns'])}, gt{w['gid']} at {where})."
            )
            if p["little"]:
                text += (
                    f" A size of ~{p['little']} would keep up with {_num(p['arrivals'])} arrivals/s"
                    f" x {_ms(p['hold_mean'])} held each."
                )
            out.append(
                {"kind": "pool", "obj": p["obj"], "impact": sw["total"], "text": text, **points_at(w["gid"], w["at"])}
            )
    for f in functions:
        if not f["stalls"]:
            continue
        mine = [s for s in stalls if s["func"] == f["func"]]
        worst = max(mine, key=lambda s: s["ns"])
        gids = {s["gid"] for s in mine}
        who = f"gt{worst['gid']} `{f['func']}`"
        if len(gids) > 1:
            who = f"{len(gids)} greenthreads running `{f['func']}`"
        if len(mine) == 1:
            held = f"once, for {_ms(worst['ns'])}"
        else:
            held = f"{len(mine)} times, for up to {_ms(worst['ns'])} ({_ms(f['stall_ns'])} in all)"
        caught = next((s["stack"][-1] for s in sorted(mine, key=lambda s: -s["ns"]) if s["stack"]), None)
        text = f"{who} held the hub {held}" + (f", in {caught}" if caught else "")
        during = [(s["start"], s["start"] + s["ns"] + LATE_NS) for s in mine]
        late = [ns for ts, _, ns in an.late if any(a <= ts <= b for a, b in during)]
        text += f": timers fired up to {_ms(max(late))} late." if late else ": every other greenthread waited."
        at = points_at(worst["gid"], worst["start"], ns=worst["ns"])
        out.append({"kind": "stall", "impact": f["stall_ns"], "text": text, **at})
    for q in queues:
        pw = q["put_wait"]
        if q["full_share"] >= SATURATED and pw["count"]:
            text = (
                f"queue `{q['name']}` was full {100 * q['full_share']:.0f} % of {_ms(q['life'])}: {pw['count']}"
                f" puts waited p95 {_ms(pw['p95'])}: its consumers are slower than its producers."
            )
            out.append({"kind": "queue", "obj": q["obj"], "impact": pw["total"], "text": text, **points_at(None, None)})
    if latency["count"] and latency["p95"] >= LATENCY_NS:
        text = (
            f"woken greenthreads waited p95 {_ms(latency['p95'])} (max {_ms(latency['max'])}) before they ran:"
            " the hub was busy with others."
        )
        out.append({"kind": "latency", "impact": latency["total"], "text": text, **points_at(None, None)})
    return sorted(out, key=lambda f: -f["impact"])


def points_at(gid: int | None, at: int | None, **more: Any) -> dict:
    """Where a finding (or a wait) points: the greenthread to select and the moment to show."""
    return {"gid": gid, "at": at, **more}


def _num(v: float) -> str:
    """Three significant digits, no exponent: 1000, 12.5, 0.304."""
    if v == 0:
        return "0"
    text = f"{v:.{max(0, 2 - math.floor(math.log10(abs(v))))}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _ms(ns: float) -> str:
    return f"{_num(ns / 1e6)} ms" if ns < 1e9 else f"{_num(ns / 1e9)} s"

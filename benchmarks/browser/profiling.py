"""``--profile``: where the page's time goes over a phase, from the CDP sampling profiler (self and total ms per
function) and from performance.now() around the parts of a frame (`PARTS`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import CDPSession, Page

PARTS = """() => {
  const g = greenscope, spent = (window.__parts = {});
  const wrap = (obj, name, label) => {
    const f = obj[name].bind(obj);
    spent[label] = { ms: 0, calls: 0 };
    obj[name] = (...args) => {
      const t = performance.now();
      try { return f(...args); } finally { spent[label].ms += performance.now() - t; spent[label].calls++; }
    };
  };
  wrap(g.timeline, "draw", "timeline.draw (all)");
  wrap(g.timeline, "lane", "timeline.lane (each lane's columns)");
  wrap(g.timeline, "updateRows", "timeline.updateRows");
  wrap(g.timeline, "drawOverlay", "timeline.drawOverlay");
  wrap(g.gauges, "draw", "gauges.draw");
  wrap(g.trace, "ingest", "trace.ingest");
}"""


class Profile:
    """Where the page's time goes over a stretch of its life: the CDP sampling profiler (self and total ms per
    function) and performance.now() around the parts of a frame (PARTS)."""

    def __init__(self, page: Page, cdp: CDPSession) -> None:
        self.page, self.cdp = page, cdp
        page.evaluate(PARTS)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 200})  # µs
        cdp.send("Profiler.start")

    def stop(self, top: int = 14) -> list[str]:
        """Stop; the `top` functions by self time with their total (self and callees) time, then the parts."""
        profile = self.cdp.send("Profiler.stop")["profile"]
        self.cdp.send("Profiler.disable")
        nodes = {n["id"]: n for n in profile["nodes"]}
        parent = {c: n["id"] for n in profile["nodes"] for c in n.get("children", [])}
        name = {i: where(n["callFrame"]) for i, n in nodes.items()}
        own: dict[str, float] = {}
        total: dict[str, float] = {}
        for node, dt in zip(profile["samples"], profile["timeDeltas"], strict=True):
            ms = dt / 1000
            own[name[node]] = own.get(name[node], 0.0) + ms
            seen, at = set(), node
            while at is not None:
                if name[at] not in seen:
                    seen.add(name[at])
                    total[name[at]] = total.get(name[at], 0.0) + ms
                at = parent.get(at)
        busy = sum(ms for fn, ms in own.items() if fn not in ("(idle)", "(program)"))
        lines = [f"{'self ms':>9}{'total ms':>10}  function (sampled {sum(own.values()):,.0f} ms, {busy:,.0f} busy)"]
        for fn, ms in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
            lines.append(f"{ms:>9,.0f}{total[fn]:>10,.0f}  {fn}")
        parts = self.page.evaluate("window.__parts")
        lines += [f"{p['ms']:>9,.0f} ms in {p['calls']:>7,} calls: {label}" for label, p in parts.items()]
        return lines


def where(frame: dict) -> str:
    """A call frame as ``function file.js:line``."""
    url = frame["url"].rsplit("/", 1)[-1]
    fn = frame["functionName"] or "(anonymous)"
    return f"{fn} {url}:{frame['lineNumber'] + 1}" if url else fn

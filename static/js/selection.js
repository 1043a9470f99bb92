// What the user points at and picks on the timeline: the tooltip of the pixel column under the pointer, the
// greenthread selected (its lane scrolled into view, its details or its line in the program shown), a finding
// of the analysis brought into view, and the range shift-dragged (its totals in the Insights tab).

import { renderDetails, tooltipText } from "./details.js";

const $ = (id) => document.getElementById(id);

export class Selection {
  /** `page`: main.js's {session, trace, hover}; `app`: {timeline, viewport, side, source, insights, theme(),
   * redraw(), redrawOverlay()}. */
  constructor(page, app) {
    this.page = page;
    this.app = app;
  }

  /** Select a greenthread (or none): its lane scrolled into view, its details shown. */
  select(lane) {
    const { timeline, side, source } = this.app, theme = this.app.theme();
    timeline.selected = lane;
    if (lane && side.tab === "source") {
      timeline.reveal(lane, theme);
      source.reveal(this.page.trace, lane); // its line in the program
    } else if (lane) {
      timeline.reveal(lane, theme);
      side.show("details");
      this.showDetails(lane);
    } else if (side.tab === "details") side.hide();
    this.app.redraw();
  }

  /** Select greenthread `gid` (none if the trace has no such one). */
  selectGid(gid) {
    this.select(this.page.trace.byGid.get(gid) || null);
  }

  /** `lane`'s details in the side panel, as of the latest time drawn. */
  showDetails(lane) {
    renderDetails($("details"), this.page.trace, lane, {
      now: this.app.viewport.until(),
      onSelectGid: (gid) => this.selectGid(gid),
    });
  }

  /** A finding: its greenthread selected, the moment it points at in view. */
  showFinding(f) {
    const tr = this.page.trace, viewport = this.app.viewport;
    if (f.at !== null) {
      const at = f.at, ns = Math.max(f.ns ?? 0, tr.now / 100, 1e6);
      viewport.setFollow(false);
      viewport.setRange(Math.max(0, at - ns), at + 2 * ns);
    }
    if (f.gid !== null && tr.byGid.has(f.gid)) this.select(tr.byGid.get(f.gid)); // its details: the Greenthread tab
    this.app.redraw();
  }

  /** The range shift-dragged on the timeline (page times), or none: its totals in the Insights tab. */
  selectRange(t0, t1) {
    const { timeline, side, insights } = this.app;
    timeline.range = t0 === null ? null : { t0: Math.min(t0, t1), t1: Math.max(t0, t1) };
    if (timeline.range) side.show("insights");
    insights.select(this.page.session, this.page.trace, timeline.range?.t0 ?? null, timeline.range?.t1 ?? null);
    this.app.redraw();
  }

  /** The pointer at CSS px (x, y) of the timeline: the hover line there, the tooltip of what is under it. */
  hover(x, y) {
    const { timeline, viewport } = this.app;
    this.page.hover = { x, y };
    this.app.redrawOverlay();
    const tip = $("tooltip");
    const hit = timeline.hit(x, y, this.app.theme());
    if (!hit || (!hit.inPlot && hit.kind !== "group" && hit.kind !== "lane")) {
      tip.hidden = true;
      return;
    }
    tip.textContent = tooltipText(timeline, hit, viewport.until());
    tip.hidden = false;
    const rect = $("timeline").getBoundingClientRect();
    tip.style.left = `${Math.min(x + 14, rect.width - tip.offsetWidth - 4)}px`;
    tip.style.top = `${Math.min(y + 14, rect.height - tip.offsetHeight - 4)}px`;
  }

  /** The pointer left the timeline: no hover line, no tooltip. */
  leave() {
    this.page.hover = null;
    $("tooltip").hidden = true;
    this.app.redraw(); // the rows may move again
  }
}

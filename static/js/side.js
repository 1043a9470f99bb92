// The side panel: tabs (Insights, Tasks, Resources, Greenthread), one shown at a time, and a close button.

export class Side {
  /** `aside`: #side; `onChange(tab or null)`: called when a tab is shown or the panel closed. */
  constructor(aside, onChange) {
    this.aside = aside;
    this.onChange = onChange;
    this.tab = null; // the tab shown, or null when the panel is closed
    aside.querySelector("[role=tablist]").addEventListener("click", (e) => {
      const b = e.target.closest("button");
      if (b?.dataset.tab) this.show(b.dataset.tab);
      else if (b?.id === "side-close") this.hide();
    });
  }

  show(tab) {
    this.tab = tab;
    this.aside.hidden = false;
    for (const b of this.aside.querySelectorAll("[role=tab]")) b.setAttribute("aria-selected", String(b.dataset.tab === tab));
    for (const p of this.aside.querySelectorAll("[role=tabpanel]")) p.hidden = p.id !== tab;
    this.onChange(tab);
  }

  hide() {
    this.tab = null;
    this.aside.hidden = true;
    this.onChange(null);
  }

  toggle(tab) {
    if (this.tab === tab) this.hide();
    else this.show(tab);
  }
}

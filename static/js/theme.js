// The canvas's colours and sizes, read from the stylesheet's variables (once per theme change).

import { model } from "./schema.js";

/** Colours and sizes from CSS variables on <html> (see static/css/greenscope.css). */
export function readTheme() {
  const css = getComputedStyle(document.documentElement);
  const v = (name) => css.getPropertyValue(name).trim();
  const px = (name, fallback) => parseFloat(v(name)) || fallback; // the fallback if the sheet is not in yet
  return {
    bg: v("--bg"), panel: v("--panel"), fg: v("--fg"), dim: v("--dim"), line: v("--line"), accent: v("--accent"),
    states: model.states.map((s) => v(`--s-${s}`)),
    hubWait: v("--hub-wait"), hubBusy: v("--hub-busy"), mark: v("--mark"), arrow: v("--arrow"),
    select: v("--select"), saturated: v("--saturated"),
    font: v("--font"), mono: v("--mono"),
    row: px("--row", 14), gutter: Math.round(px("--gutter", 180)), gauge: px("--gauge", 46),
  };
}

/** Size a canvas's backing store to its CSS box at the device's pixel ratio; returns its 2D context
 * scaled so that drawing is in CSS px. Resizes only when the box changed. */
export function fitCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  const bw = Math.round(w * dpr), bh = Math.round(h * dpr);
  if (canvas.width !== bw || canvas.height !== bh) {
    canvas.width = bw;
    canvas.height = bh;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { ctx, w, h };
}

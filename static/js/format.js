// Times (nanoseconds) as people read them, and axis ticks at round numbers.

const UNITS = [
  [1e9, "s"],
  [1e6, "ms"],
  [1e3, "µs"],
  [1, "ns"],
];

/** A duration or an instant in ns, in the largest unit that keeps it >= 1: "12.5 ms". */
export function duration(ns, digits = 3) {
  const a = Math.abs(ns);
  for (const [scale, unit] of UNITS) {
    if (a >= scale || scale === 1) return `${+(ns / scale).toPrecision(digits)} ${unit}`;
  }
  return `${ns} ns`;
}

export const TICK_GAP = 90; // px between ticks, at least

/** Round-number ticks between t0 and t1 (ns), about one every `minGap` px of `width`. */
export function ticks(t0, t1, width, minGap = TICK_GAP) {
  const span = t1 - t0;
  if (!(span > 0) || width <= 0) return { step: 1, list: [] };
  const raw = (span * minGap) / width;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const list = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) list.push(t);
  return { step, list };
}

/** A tick's label: its time in the unit its step is best read in ("250 ms", "1.25 s"). */
export function tickLabel(t, step) {
  for (const [scale, unit] of UNITS) {
    if (step >= scale || scale === 1) return `${+(t / scale).toFixed(Math.max(0, Math.ceil(-Math.log10(step / scale))))} ${unit}`;
  }
  return `${t}`;
}

/** An integer with thin spaces between thousands: 1 234 567. */
export function count(n) {
  return Math.round(n).toLocaleString("en-US").replace(/,/g, "\u2009");
}

/** Text safe to put in HTML. */
export function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A resource's name as shown: a creation site "/long/path/file.py:12" becomes "file.py:12". */
export function shortName(name) {
  return String(name).replace(/^.*[\\/]([^\\/]+:\d+)$/, "$1");
}

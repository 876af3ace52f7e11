/** The time-series chart's scaling: a "nice" top for the y axis and its ticks. */

/** The smallest 1, 2 or 5 × 10^k at or above `value` (at least 1). */
export function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const exp = Math.floor(Math.log10(value));
  const base = 10 ** exp;
  for (const m of [1, 2, 5, 10]) {
    if (m * base >= value) return m * base;
  }
  return 10 * base;
}

/** `count + 1` evenly spaced ticks from 0 to `max`, rounded to whole numbers when `max` allows. */
export function ticks(max: number, count = 4): number[] {
  const out: number[] = [];
  for (let i = 0; i <= count; i++) {
    const v = (max * i) / count;
    out.push(max >= count ? Math.round(v) : Number(v.toFixed(2)));
  }
  return out;
}

/** A value's height in pixels on an axis from 0 to `max` that is `height` tall. */
export function scale(value: number, max: number, height: number): number {
  if (max <= 0) return 0;
  return (Math.max(0, Math.min(value, max)) / max) * height;
}

/** Which of `n` bars get an x-axis label: at most `room` of them, evenly spaced, always the first. */
export function labelEvery(n: number, room: number): number {
  if (n <= room || room <= 0) return 1;
  return Math.ceil(n / room);
}

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

/** Evenly spaced ticks from 0 to `max` (a [`niceMax`]): whole numbers, since the chart counts
 * attempts — the most of 5, 4, 2 or 1 steps that divide `max` evenly (10 → 0, 2, 4, 6, 8, 10). */
export function ticks(max: number): number[] {
  const count = [5, 4, 2, 1].find((n) => Number.isInteger(max / n)) ?? 1;
  return Array.from({ length: count + 1 }, (_, i) => (max / count) * i);
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

/** Scaling of the trend strip's latency line: results newest first in, SVG points oldest to
 * newest (left to right) out, the largest latency at the top. */

export interface SparkPoint {
  x: number;
  y: number;
}

/** Points for `latencies` (newest first) in a `width` x `height` box, with `pad` pixels kept
 * free at the top and bottom so the line's stroke is not cut. One value is a centred point;
 * all-equal values are a flat line in the middle. */
export function sparkPoints(latencies: readonly number[], width: number, height: number, pad = 2): SparkPoint[] {
  const values = [...latencies].reverse().map((v) => (Number.isFinite(v) && v > 0 ? v : 0));
  const n = values.length;
  if (n === 0) return [];
  const max = Math.max(...values);
  const min = Math.min(...values);
  const span = max - min;
  const inner = Math.max(0, height - 2 * pad);
  const y = (v: number) => (span === 0 ? height / 2 : pad + inner * (1 - (v - min) / span));
  if (n === 1) return [{ x: width / 2, y: y(values[0] ?? 0) }];
  const step = width / (n - 1);
  return values.map((v, i) => ({ x: round(i * step), y: round(y(v)) }));
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

/** The SVG `points` attribute of a polyline. */
export function pointsAttr(points: readonly SparkPoint[]): string {
  return points.map((p) => `${p.x},${p.y}`).join(" ");
}

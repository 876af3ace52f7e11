/** The attempts over time: stacked bars (succeeded, failed, pending) per bucket, hand-written
 * SVG. Screen readers get a title and summary, and the same numbers as a table. */
import { useId } from "react";
import type { SeriesPoint } from "../../api/types/SeriesPoint";
import { formatLocal } from "../../components/state";
import { labelEvery, niceMax, scale, ticks } from "./chart";
import { formatDuration } from "../../components/format";

const W = 760;
const H = 200;
const PAD = { left: 44, right: 8, top: 10, bottom: 26 };
/** About how wide a dated label ("Nov 29, 07:00 AM") is, in the chart's units. */
const DATED_LABEL = 100;

/** An x-axis label: the date for days; the time for minutes and hours, with the date too when
 * the series spans more than one day (a week of hours would otherwise repeat the same times). */
function bucketLabel(start: string, bucket: string, manyDays: boolean): string {
  const d = new Date(start);
  if (bucket === "day") return d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  if (manyDays) return d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

export function SeriesChart({ series, bucket }: { series: SeriesPoint[]; bucket: string }) {
  const id = useId();
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const max = niceMax(Math.max(0, ...series.map((p) => p.total)));
  const step = series.length ? plotW / series.length : plotW;
  const barW = Math.max(1, Math.min(28, step * 0.75));
  const manyDays = series.length > 1 && new Date(series[0]!.start).toDateString() !== new Date(series[series.length - 1]!.start).toDateString();
  const dated = manyDays && bucket !== "day";
  // Dated labels are wider: fewer of them fit.
  const every = labelEvery(series.length, dated ? 6 : 8);
  const total = series.reduce((n, p) => n + p.total, 0);
  const failed = series.reduce((n, p) => n + p.failed, 0);
  return (
    <figure className="stats-chart card">
      <figcaption className="row">
        <h2>Attempts per {bucket}</h2>
        <span className="legend">
          <span className="swatch succeeded" aria-hidden="true" /> succeeded
          <span className="swatch failed" aria-hidden="true" /> failed
          <span className="swatch pending" aria-hidden="true" /> pending
        </span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={`${id}-t ${id}-d`}>
        <title id={`${id}-t`}>Attempts per {bucket}</title>
        <desc id={`${id}-d`}>
          {series.length} {bucket}s, {total} attempts, {failed} failed. The table below lists each {bucket}.
        </desc>
        {ticks(max).map((t) => {
          const y = PAD.top + plotH - scale(t, max, plotH);
          return (
            <g key={t} className="axis">
              <line x1={PAD.left} x2={W - PAD.right} y1={y} y2={y} />
              <text x={PAD.left - 6} y={y + 4} textAnchor="end">
                {t}
              </text>
            </g>
          );
        })}
        {series.map((p, i) => {
          const x = PAD.left + i * step + (step - barW) / 2;
          let y = PAD.top + plotH;
          const parts: [string, number][] = [
            ["succeeded", p.succeeded],
            ["failed", p.failed],
            ["pending", p.pending],
          ];
          return (
            <g key={p.start}>
              {parts.map(([cls, n]) => {
                const h = scale(n, max, plotH);
                y -= h;
                return n > 0 ? <rect key={cls} className={`bar ${cls}`} x={x} y={y} width={barW} height={h} /> : null;
              })}
              <title>
                {`${formatLocal(new Date(p.start))}: ${p.total} attempts, ${p.succeeded} succeeded, ${p.failed} failed`}
              </title>
              {i % every === 0 && (
                // Dated labels are long: each starts at its bar (the first one centred would be cut
                // off at the left), or ends there near the right edge.
                <text
                  className="axis-label"
                  x={dated ? (x + DATED_LABEL > W ? x + barW : x) : x + barW / 2}
                  y={H - 8}
                  textAnchor={dated ? (x + DATED_LABEL > W ? "end" : "start") : "middle"}
                >
                  {bucketLabel(p.start, bucket, manyDays)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <details>
        <summary>Show as a table</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">From</th>
              <th scope="col">Total</th>
              <th scope="col">Succeeded</th>
              <th scope="col">Failed</th>
              <th scope="col">Pending</th>
              <th scope="col">Average</th>
            </tr>
          </thead>
          <tbody>
            {series.map((p) => (
              <tr key={p.start}>
                <td>{formatLocal(new Date(p.start))}</td>
                <td>{p.total}</td>
                <td>{p.succeeded}</td>
                <td>{p.failed}</td>
                <td>{p.pending}</td>
                <td>{formatDuration(p.avgMs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

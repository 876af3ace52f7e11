import { client } from "../../api/client";
import type { HealthSnapshot } from "../../api/types/HealthSnapshot";
import { useLoad } from "../../components/state";
import { pointsAttr, sparkPoints } from "./sparkline";

/** How many past runs the strip shows. */
export const TREND_RUNS = 20;
const W = 120;
const CELL_H = 6;
const LINE_H = 18;

/** Summary for screen readers and the tooltip. */
function describe(runs: HealthSnapshot[]): string {
  if (runs.length === 0) return "No earlier results";
  const n = { healthy: 0, warning: 0, error: 0 };
  for (const r of runs) n[r.status] += 1;
  const lat = runs.map((r) => r.latencyMs);
  return (
    `Last ${runs.length} result${runs.length === 1 ? "" : "s"}: ${n.healthy} healthy, ${n.warning} warning, ` +
    `${n.error} error; latency ${Math.min(...lat)}–${Math.max(...lat)} ms (oldest left, newest right)`
  );
}

/** A strip of an integration's recent statuses (one cell per run) over its latency line. The
 * box has the same size while loading, so the card does not move when the history arrives. */
export function Trend({ integrationId, round }: { integrationId: string; round: number }) {
  const [history] = useLoad(() => client.healthHistory({ integration: integrationId, limit: TREND_RUNS }), [integrationId, round]);
  const runs = history.data ?? [];
  const label =
    history.state === "error" && !history.data
      ? `Trend unavailable: ${history.error.message}`
      : history.state === "loading" && !history.data
        ? "Loading the trend"
        : describe(runs);
  const oldestFirst = [...runs].reverse();
  const cellW = W / TREND_RUNS;
  // Cells fill from the right, so the newest is always at the same place.
  const offset = W - oldestFirst.length * cellW;
  const points = sparkPoints(
    runs.map((r) => r.latencyMs),
    Math.max(0, oldestFirst.length - 1) * cellW,
    LINE_H,
  ).map((p) => ({ x: p.x + offset + cellW / 2, y: p.y + CELL_H + 2 }));
  return (
    <svg className="trend" width={W} height={CELL_H + LINE_H + 2} role="img" aria-label={label}>
      <title>{label}</title>
      {oldestFirst.map((r, i) => (
        <rect
          key={`${r.checkedAt}-${i}`}
          className={`trend-cell ${r.status}`}
          x={offset + i * cellW + 0.5}
          y={0}
          width={Math.max(1, cellW - 1)}
          height={CELL_H}
          rx={1}
        />
      ))}
      {points.length > 1 && <polyline className="trend-line" points={pointsAttr(points)} fill="none" />}
      {points.length === 1 && points[0] && <circle className="trend-dot" cx={points[0].x} cy={points[0].y} r={1.5} />}
    </svg>
  );
}

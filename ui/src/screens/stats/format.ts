/** Formatting for the Stats panel: numbers, durations, CSV file names, times. */

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m} min ${s} s`;
}

export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined) return "—";
  const pct = rate * 100;
  return `${pct >= 99.95 || pct === 0 ? pct.toFixed(0) : pct.toFixed(1)}%`;
}

export function formatCount(n: number): string {
  return n.toLocaleString();
}

/** `attempts-2026-11-24-1730.csv`, in the local zone. */
export function csvFileName(now: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `attempts-${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}.csv`;
}

export type SortKey = "startedAt" | "durationMs" | "status" | "integration" | "sessionId";
export interface Sort {
  key: SortKey;
  order: "asc" | "desc";
}

/** A `datetime-local` value (local zone) as RFC 3339 (UTC); empty stays empty. */
export function localInputToIso(value: string): string | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** Formatting for the Stats panel: rates, CSV file names, times. */

export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined) return "—";
  const pct = rate * 100;
  return `${pct >= 99.95 || pct === 0 ? pct.toFixed(0) : pct.toFixed(1)}%`;
}

/** `attempts-2026-11-24-1730.csv`, in the local zone. */
export function csvFileName(now: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `attempts-${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}.csv`;
}

/** A `datetime-local` value (local zone) as RFC 3339 (UTC); empty stays empty. */
export function localInputToIso(value: string): string | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

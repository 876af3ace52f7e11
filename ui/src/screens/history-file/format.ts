/** Formatting for the history-file viewer. */

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

/** A duration in ms as people read it; "—" when unknown. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** A rate in [0, 1] as a percentage; "—" when there is none. */
export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined) return "—";
  return `${(rate * 100).toFixed(1)}%`;
}

/** An audit entry's details in one line (they never hold secrets), cut to `max` characters. */
export function detailsLine(details: unknown, max = 160): string {
  if (details === null || details === undefined) return "";
  const s = typeof details === "string" ? details : JSON.stringify(details);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

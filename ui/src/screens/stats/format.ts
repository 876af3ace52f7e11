/** Formatting for the Stats panel: rates, CSV file names, the filter's query. */
import type { HistoryQuery } from "../../api/types/HistoryQuery";
import type { StatsQuery } from "../../api/types/StatsQuery";
import type { RetryRequest } from "../../api/types/RetryRequest";
import type { Sort } from "../../components/history/HistoryTable";

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

/** What the panel filters by. `since`/`until` are what the API takes: an age (`24h`) or an
 * RFC 3339 time. */
export interface Filters {
  integration?: string;
  session?: string;
  status?: string;
  trigger?: string;
  category?: string;
  since?: string;
  until?: string;
  q?: string;
}

/** Drops empty values, so the query string (and the cache key) only holds what filters. */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null && v !== "")) as T;
}

export function historyQuery(f: Filters, sort?: Sort): HistoryQuery {
  return compact({
    integration: f.integration,
    session: f.session,
    status: f.status,
    trigger: f.trigger,
    category: f.category,
    since: f.since,
    until: f.until,
    q: f.q?.trim(),
    sort: sort?.key,
    order: sort?.order,
  });
}

/** The cards and chart take the filters the statistics support (not status, category, text). */
export function statsQuery(f: Filters, bucket: string): StatsQuery {
  return compact({
    integration: f.integration,
    session: f.session,
    trigger: f.trigger,
    since: f.since,
    until: f.until,
    bucket,
  });
}

/** A bulk retry takes the failed handoffs matching integration, category and time window. */
export function bulkRetryRequest(f: Filters, dryRun: boolean): RetryRequest {
  return { failed: true, dryRun, ...compact({ integration: f.integration, category: f.category, since: f.since, until: f.until }) };
}

/** A `datetime-local` value (local zone) as RFC 3339 (UTC); empty stays empty. */
export function localInputToIso(value: string): string | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

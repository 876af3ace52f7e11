/** The Stats panel's filters in one place (a reducer): the scope, which the cards, the chart and
 * the table all follow (integration and session come from the route; trigger and time window
 * are here), and the table's own filters (which view, status, category, search, sort). Kept
 * apart so that the screen can say truthfully which filters the cards follow. */
import type { ErrorCategory } from "../../api/types/ErrorCategory";
import type { HandoffSort } from "../../api/types/HandoffSort";
import type { HandoffState } from "../../api/types/HandoffState";
import type { HandoffsQuery } from "../../api/types/HandoffsQuery";
import type { HistoryQuery } from "../../api/types/HistoryQuery";
import type { RetryRequest } from "../../api/types/RetryRequest";
import type { SeriesBucket } from "../../api/types/SeriesBucket";
import type { SortKey } from "../../api/types/SortKey";
import type { StatsQuery } from "../../api/types/StatsQuery";
import type { Status } from "../../api/types/Status";
import type { Trigger } from "../../api/types/Trigger";
import { localInputToIso } from "./format";
import type { TableSort } from "../../components/history/VirtualTable";

export type View = "handoffs" | "attempts";

export interface StatsFilters {
  view: View;
  /** Scope (cards, chart and table). */
  trigger: string;
  window: string;
  customSince: string;
  customUntil: string;
  /** The chart's bucket: `minute`, `hour`, `day`, or `auto` (the one that fits the window). */
  bucket: string;
  /** The table only. */
  handoffStatus: string;
  attemptStatus: string;
  category: string;
  /** The search box as typed, and the text searched (after a pause in typing). */
  text: string;
  q: string;
  handoffSort: TableSort;
  attemptSort: TableSort;
  autoRefresh: boolean;
}

export const INITIAL_FILTERS: StatsFilters = {
  view: "handoffs",
  trigger: "",
  window: "",
  customSince: "",
  customUntil: "",
  bucket: "auto",
  handoffStatus: "",
  attemptStatus: "",
  category: "",
  text: "",
  q: "",
  handoffSort: { key: "updatedAt", order: "desc" },
  attemptSort: { key: "startedAt", order: "desc" },
  autoRefresh: true,
};

export type FilterAction =
  | { type: "set"; patch: Partial<StatsFilters> }
  /** "Needs attention": the undelivered handoffs, whatever the table showed. */
  | { type: "showUndelivered" }
  /** A category clicked in a row: the table keeps its view and shows that category. */
  | { type: "category"; category: string }
  /** A category clicked in the card of failed attempts: the table shows those attempts (what
   * the card counts), whatever it showed before. */
  | { type: "failedAttempts"; category: string }
  | { type: "clearTable" };

export function filtersReducer(state: StatsFilters, action: FilterAction): StatsFilters {
  switch (action.type) {
    case "set":
      return { ...state, ...action.patch };
    case "showUndelivered":
      return { ...state, view: "handoffs", handoffStatus: "undelivered", category: "", text: "", q: "" };
    case "category":
      // In the handoff view a category means "whose last try failed so"; the status filter is
      // left as the user set it.
      return { ...state, category: action.category, attemptStatus: state.view === "attempts" ? "failed" : state.attemptStatus };
    case "failedAttempts":
      return { ...state, view: "attempts", attemptStatus: "failed", category: action.category, text: "", q: "" };
    case "clearTable":
      return { ...state, handoffStatus: "", attemptStatus: "", category: "", text: "", q: "" };
  }
}

/** The time window as the API takes it: an age (`24h`) or RFC 3339 times. */
export function windowOf(f: StatsFilters): { since?: string; until?: string } {
  if (f.window === "custom") return { since: localInputToIso(f.customSince), until: localInputToIso(f.customUntil) };
  return { since: f.window || undefined };
}

/** Drops empty values, so the query string (and the cache key) only holds what filters. */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null && v !== "")) as T;
}

export interface Scope {
  integration?: string;
  session?: string;
}

/** A select's value as the typed choice the API takes ("" is none: every value). The select
 * offers only the API's values. */
export function choice<T extends string>(value: string | undefined): T | undefined {
  return (value || undefined) as T | undefined;
}

/** Search text shorter than this is not sent: the store finds text of three characters or more
 * from its index, and reads every attempt for less (seconds on a large history). */
export const MIN_SEARCH_CHARS = 3;

/** The search the API gets: the typed text trimmed, or nothing while it is shorter than
 * {@link MIN_SEARCH_CHARS}. */
export function searchOf(q: string): string {
  const text = q.trim();
  return [...text].length >= MIN_SEARCH_CHARS ? text : "";
}

/** Whether the box holds text too short to search (the hint under it says so). */
export function searchTooShort(q: string): boolean {
  const text = q.trim();
  return text.length > 0 && !searchOf(text);
}

export function statsQueryOf(scope: Scope, f: StatsFilters): StatsQuery {
  return compact({ ...scope, trigger: choice<Trigger>(f.trigger), ...windowOf(f), bucket: bucketOf(f) });
}

const HOUR_MS = 3_600_000;
const AGES: Record<string, number> = { "1h": HOUR_MS, "24h": 24 * HOUR_MS, "7d": 7 * 24 * HOUR_MS, "30d": 30 * 24 * HOUR_MS };

/** The chart's bucket: the one chosen, or for `auto` the one that fits the window (minutes up
 * to 6 hours, hours up to 14 days, days beyond and for all time), so that the chart has tens to
 * hundreds of points and an open window never asks for more points than the console gives. */
export function bucketOf(f: StatsFilters, now: number = Date.now()): SeriesBucket {
  if (f.bucket !== "auto") return f.bucket as SeriesBucket;
  let span: number | null = AGES[f.window] ?? null;
  if (f.window === "custom") {
    const { since, until } = windowOf(f);
    span = since ? (until ? Date.parse(until) : now) - Date.parse(since) : null;
  }
  if (span === null || Number.isNaN(span)) return "day";
  return span <= 6 * HOUR_MS ? "minute" : span <= 14 * 24 * HOUR_MS ? "hour" : "day";
}

export function handoffsQueryOf(scope: Scope, f: StatsFilters): HandoffsQuery {
  return compact({
    ...scope,
    ...windowOf(f),
    trigger: choice<Trigger>(f.trigger),
    status: choice<HandoffState>(f.handoffStatus),
    category: choice<ErrorCategory>(f.category),
    q: searchOf(f.q),
    sort: choice<HandoffSort>(f.handoffSort.key),
    order: f.handoffSort.order,
  });
}

export function attemptsQueryOf(scope: Scope, f: StatsFilters): HistoryQuery {
  return compact({
    ...scope,
    trigger: choice<Trigger>(f.trigger),
    ...windowOf(f),
    status: choice<Status>(f.attemptStatus),
    category: choice<ErrorCategory>(f.category),
    q: searchOf(f.q),
    sort: choice<SortKey>(f.attemptSort.key),
    order: f.attemptSort.order,
  });
}

/** A bulk retry takes the handoffs that failed for good matching integration, category and
 * time window. */
export function bulkRetryOf(scope: Scope, f: StatsFilters, dryRun: boolean): RetryRequest {
  return { failed: true, dryRun, ...compact({ integration: scope.integration, trigger: choice<Trigger>(f.trigger), category: choice<ErrorCategory>(f.category), ...windowOf(f) }) };
}

/** Whether anything narrows what the panel shows (an empty result then means "no match", not
 * "nothing yet"). */
export function isFiltered(scope: Scope, f: StatsFilters): boolean {
  return !!(scope.integration || scope.session || f.trigger || f.window || f.handoffStatus || f.attemptStatus || f.category || searchOf(f.q));
}

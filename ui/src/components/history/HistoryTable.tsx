/** The attempt history: every try of every handoff, as a virtualised grid (see VirtualTable).
 * Keyboard: arrows/Page/Home/End move, Enter opens the detail, Space selects, R retries a row
 * whose handoff is still undelivered. */
import { client } from "../../api/client";
import type { AttemptPage } from "../../api/types/AttemptPage";
import type { AttemptSummary } from "../../api/types/AttemptSummary";
import type { HistoryQuery } from "../../api/types/HistoryQuery";
import { formatLocal, formatShort } from "../state";
import { formatDuration } from "../format";
import { type Column, VirtualTable } from "./VirtualTable";

export { PAGE, ROW } from "./VirtualTable";

/** How the attempt history is sorted (the API's `sort` and `order`). */
export type SortKey = "startedAt" | "durationMs" | "status" | "integration" | "sessionId";
export interface Sort {
  key: SortKey;
  order: "asc" | "desc";
}

interface Props {
  query: HistoryQuery;
  /** Changes whenever the rows must be fetched again from the top (filters, sort). */
  queryKey: string;
  /** Counts refreshes of the same list (fetched again where the reader is). */
  version?: number;
  sort: Sort;
  onSort: (s: Sort) => void;
  /** Without a selection (a read-only history file), nothing is ticked or retried. */
  selected?: ReadonlyMap<string, AttemptSummary>;
  onToggle?: (rows: AttemptSummary[], on: boolean) => void;
  onOpen: (row: AttemptSummary) => void;
  onRetry?: (row: AttemptSummary) => void;
  /** Filters the table by a failure category (its cells are buttons then). */
  onCategory?: (category: string) => void;
  onTotal?: (total: number) => void;
  onReload: () => void;
  /** Where the pages come from (default: the console's history). */
  fetchPage?: (query: HistoryQuery) => Promise<AttemptPage>;
  /** Whether the console has any attempt at all (the empty state then says what to do). */
  filtered?: boolean;
  /** Work under way (a retry, a bulk job): row retries wait for it. */
  busy?: boolean;
}

/** A failed attempt can be retried only while its handoff is undelivered: one whose handoff
 * was delivered since (by a retry) is history, not work. */
export function canRetry(row: AttemptSummary): boolean {
  return row.status === "failed" && row.handoffState === "undelivered";
}

export function attemptColumns(p: Pick<Props, "onRetry" | "onCategory" | "busy">): Column<AttemptSummary>[] {
  const columns: Column<AttemptSummary>[] = [
    {
      label: "Started",
      sort: "startedAt",
      width: "108px",
      minPx: 108,
      cell: (r) => <time dateTime={r.startedAt}>{formatShort(new Date(r.startedAt))}</time>,
      title: (r) => formatLocal(new Date(r.startedAt)),
    },
    { label: "Integration", sort: "integration", width: "minmax(100px, 1fr)", minPx: 100, cell: (r) => r.integrationName, title: (r) => r.integrationName },
    { label: "Session", sort: "sessionId", width: "104px", minPx: 104, className: "mono", cell: (r) => r.sessionId, title: (r) => r.sessionId },
    { label: "Trigger", width: "64px", minPx: 64, hideBelow: 1100, cell: (r) => r.trigger },
    {
      label: "Status",
      sort: "status",
      width: "112px",
      minPx: 112,
      cell: (r) => (
        <>
          <span className={`badge ${r.status}`}>{r.status}</span>
          {r.status === "failed" && r.handoffState === "delivered" && (
            <span className="badge-note" title="A later try of this handoff was delivered">
              → delivered
            </span>
          )}
        </>
      ),
      title: (r) => (r.status === "failed" && r.handoffState === "delivered" ? "Failed; the handoff was delivered by a later try" : undefined),
    },
    {
      label: "Category",
      width: "100px",
      minPx: 100,
      interactive: p.onCategory !== undefined,
      cell: (r) =>
        r.category && p.onCategory ? (
          <button type="button" className="linkish" tabIndex={-1} onClick={() => p.onCategory?.(r.category!)} title={`Show only ${r.category} failures`}>
            {r.category}
          </button>
        ) : (
          (r.category ?? "")
        ),
    },
    { label: "HTTP", width: "56px", minPx: 56, className: "num", hideBelow: 1100, cell: (r) => r.statusCode ?? "" },
    { label: "Duration", sort: "durationMs", width: "76px", minPx: 76, className: "num", hideBelow: 1000, cell: (r) => formatDuration(r.durationMs) },
    { label: "Message", width: "minmax(140px, 3fr)", minPx: 140, cell: (r) => r.message, title: (r) => r.message || undefined },
  ];
  if (p.onRetry) {
    columns.push({
      label: "",
      width: "64px",
      minPx: 64,
      sticky: true,
      interactive: true,
      cell: (r) =>
        canRetry(r) ? (
          <button
            type="button"
            className="small"
            tabIndex={-1}
            disabled={p.busy}
            onClick={() => p.onRetry?.(r)}
            aria-label={`Retry session ${r.sessionId}`}
          >
            Retry
          </button>
        ) : null,
    });
  }
  return columns;
}

export function HistoryTable(p: Props) {
  const fetch = p.fetchPage ?? ((q: HistoryQuery) => client.historyPage(q));
  return (
    <VirtualTable<AttemptSummary>
      label="Attempt history"
      noun="attempt"
      columns={attemptColumns(p)}
      rowId={(r) => r.attemptId}
      rowClass={(r) => r.status}
      fetchPage={(offset, limit) => fetch({ ...p.query, offset, limit })}
      queryKey={p.queryKey}
      version={p.version}
      sort={p.sort}
      onSort={(s) => p.onSort(s as Sort)}
      selected={p.selected}
      onToggle={p.onToggle}
      onOpen={p.onOpen}
      keyActions={p.onRetry ? { r: (row) => canRetry(row) && p.onRetry?.(row) } : undefined}
      actionsPaused={p.busy}
      onTotal={p.onTotal}
      onReload={p.onReload}
      empty={
        p.filtered === false
          ? { title: "No attempts yet", body: "Every try of every handoff shows here as soon as one is sent." }
          : { title: "No attempts match", body: "Change the filters or the time window." }
      }
    />
  );
}

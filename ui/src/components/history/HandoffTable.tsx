/** The handoffs: what each session asked to deliver, with its state (delivered, undelivered,
 * pending) and its latest try, as a virtualised grid (see VirtualTable). A handoff delivered by
 * a retry is delivered: its failed tries are in its retry chain (the detail drawer), not rows
 * of their own, and it offers no Retry. Keyboard: as the attempt history; R retries an
 * undelivered handoff. */
import { client } from "../../api/client";
import type { HandoffPage } from "../../api/types/HandoffPage";
import type { HandoffRow } from "../../api/types/HandoffRow";
import type { HandoffsQuery } from "../../api/types/HandoffsQuery";
import { formatLocal, formatShort } from "../state";
import { type Column, type TableSort, VirtualTable } from "./VirtualTable";

export const HANDOFF_STATE_LABEL: Record<HandoffRow["status"], string> = {
  delivered: "delivered",
  undelivered: "undelivered",
  pending: "in progress",
};

export function canRetryHandoff(row: HandoffRow): boolean {
  return row.status === "undelivered" && row.lastAttemptId !== null;
}

interface Props {
  query: HandoffsQuery;
  queryKey: string;
  version?: number;
  sort: TableSort;
  onSort: (s: TableSort) => void;
  selected?: ReadonlyMap<string, HandoffRow>;
  onToggle?: (rows: HandoffRow[], on: boolean) => void;
  onOpen: (row: HandoffRow) => void;
  onRetry?: (row: HandoffRow) => void;
  onCategory?: (category: string) => void;
  onTotal?: (total: number) => void;
  onReload: () => void;
  fetchPage?: (query: HandoffsQuery) => Promise<HandoffPage>;
  /** Work under way (a retry, a bulk job): row retries wait for it. */
  busy?: boolean;
  /** `false` when nothing narrows the list: an empty list then means nothing was sent yet. */
  filtered?: boolean;
  emptyBody?: React.ReactNode;
}

export function handoffColumns(p: Pick<Props, "onRetry" | "onCategory" | "busy">): Column<HandoffRow>[] {
  const columns: Column<HandoffRow>[] = [
    {
      label: "Updated",
      sort: "updatedAt",
      width: "108px",
      minPx: 108,
      cell: (r) => <time dateTime={r.updatedAt}>{formatShort(new Date(r.updatedAt))}</time>,
      title: (r) => formatLocal(new Date(r.updatedAt)),
    },
    { label: "Integration", sort: "integration", width: "minmax(100px, 1fr)", minPx: 100, cell: (r) => r.integrationName, title: (r) => r.integrationName },
    { label: "Session", sort: "sessionId", width: "104px", minPx: 104, className: "mono", cell: (r) => r.sessionId, title: (r) => r.sessionId },
    {
      // The state, and what it depends on: the tries it took, or when the next one is due (an
      // undelivered handoff waiting for a retry is not one that failed for good).
      label: "Handoff",
      sort: "status",
      width: "150px",
      minPx: 150,
      cell: (r) => (
        <>
          <span className={`badge ${r.status}`}>{HANDOFF_STATE_LABEL[r.status]}</span>
          <span className="badge-note">
            {r.nextRetryAt ? `retry ${formatShort(new Date(r.nextRetryAt))}` : r.attempts > 1 ? `${r.attempts} tries` : ""}
          </span>
        </>
      ),
      title: (r) =>
        `${r.attempts} ${r.attempts === 1 ? "try" : "tries"}${r.nextRetryAt ? `; next automatic retry ${formatLocal(new Date(r.nextRetryAt))}` : r.status === "undelivered" ? "; no retry left: retry it by hand" : ""}`,
    },
    { label: "Tries", sort: "attempts", width: "52px", minPx: 52, className: "num", hideBelow: 1100, cell: (r) => r.attempts },
    {
      label: "Last error",
      width: "100px",
      minPx: 100,
      interactive: p.onCategory !== undefined,
      cell: (r) =>
        r.status === "delivered" || !r.lastCategory ? (
          ""
        ) : p.onCategory ? (
          <button
            type="button"
            className="linkish"
            tabIndex={-1}
            onClick={() => p.onCategory?.(r.lastCategory!)}
            title={`Show only handoffs whose last try failed as ${r.lastCategory}`}
          >
            {r.lastCategory}
          </button>
        ) : (
          r.lastCategory
        ),
    },
    { label: "HTTP", width: "56px", minPx: 56, className: "num", hideBelow: 1100, cell: (r) => r.lastStatusCode ?? "" },
    {
      label: "Last message",
      width: "minmax(140px, 3fr)",
      minPx: 140,
      cell: (r) => (r.status === "delivered" ? <span className="muted">{r.lastMessage}</span> : r.lastMessage),
      title: (r) => r.lastMessage || undefined,
    },
  ];
  if (p.onRetry) {
    columns.push({
      label: "",
      width: "64px",
      minPx: 64,
      sticky: true,
      interactive: true,
      cell: (r) =>
        canRetryHandoff(r) ? (
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

export function HandoffTable(p: Props) {
  const fetch = p.fetchPage ?? ((q: HandoffsQuery) => client.handoffsPage(q));
  return (
    <VirtualTable<HandoffRow>
      label="Handoffs"
      noun="handoff"
      columns={handoffColumns(p)}
      rowId={(r) => r.handoffId}
      rowClass={(r) => r.status}
      fetchPage={(offset, limit) => fetch({ ...p.query, offset, limit })}
      queryKey={p.queryKey}
      version={p.version}
      sort={p.sort}
      onSort={p.onSort}
      selected={p.selected}
      onToggle={p.onToggle}
      onOpen={p.onOpen}
      keyActions={p.onRetry ? { r: (row) => canRetryHandoff(row) && p.onRetry?.(row) } : undefined}
      actionsPaused={p.busy}
      onTotal={p.onTotal}
      onReload={p.onReload}
      empty={
        p.filtered === false
          ? { title: "No handoffs yet", body: p.emptyBody ?? "Handoffs show here as soon as one is sent." }
          : { title: "No handoffs match", body: "Change the table's filters, the scope or the time window." }
      }
    />
  );
}

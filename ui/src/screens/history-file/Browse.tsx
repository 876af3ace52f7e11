/** An open history file's handoffs or attempts: the same virtualised tables as the Stats panel
 * (paging through every row, sort, search, status and category filters), and the same detail
 * drawer (request, response, error, retry chain, handoff state), read-only: nothing in a file
 * can be retried or revealed. */
import { useRef, useState } from "react";
import { client } from "../../api/client";
import type { ErrorCategory } from "../../api/types/ErrorCategory";
import type { HandoffState } from "../../api/types/HandoffState";
import type { HandoffsQuery } from "../../api/types/HandoffsQuery";
import type { HistoryQuery } from "../../api/types/HistoryQuery";
import type { SortKey } from "../../api/types/SortKey";
import type { Status } from "../../api/types/Status";
import { DetailDrawer } from "../../components/history/DetailDrawer";
import type { Sort } from "../../components/history/HistoryTable";
import { HandoffTable } from "../../components/history/HandoffTable";
import { HistoryTable } from "../../components/history/HistoryTable";
import type { TableSort } from "../../components/history/VirtualTable";
import { MIN_SEARCH_CHARS, choice, searchOf, searchTooShort } from "../stats/filters";

const CATEGORIES = ["network", "timeout", "authentication", "configuration", "validation", "server"];

export function Browse({ id, view }: { id: string; view: "handoffs" | "attempts" }) {
  const [status, setStatus] = useState("");
  const [category, setCategory] = useState("");
  const [text, setText] = useState("");
  const [q, setQ] = useState("");
  const [handoffSort, setHandoffSort] = useState<TableSort>({ key: "updatedAt", order: "desc" });
  const [attemptSort, setAttemptSort] = useState<TableSort>({ key: "startedAt", order: "desc" });
  const [open, setOpen] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const typing = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const onText = (value: string) => {
    setText(value);
    clearTimeout(typing.current);
    typing.current = setTimeout(() => setQ(value), 300);
  };
  const filtered = !!(status || category || searchOf(q));
  const clean = <T extends object>(o: T): T =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== "")) as T;

  const handoffQuery: HandoffsQuery = clean({
    status: choice<HandoffState>(status),
    category: choice<ErrorCategory>(category),
    q: searchOf(q),
    sort: handoffSort.key as HandoffsQuery["sort"],
    order: handoffSort.order,
  });
  const attemptQuery: HistoryQuery = clean({
    status: choice<Status>(status),
    category: choice<ErrorCategory>(category),
    q: searchOf(q),
    sort: choice<SortKey>(attemptSort.key),
    order: attemptSort.order,
  });
  const statuses = view === "handoffs" ? ["undelivered", "pending", "delivered"] : ["failed", "succeeded", "pending"];

  return (
    <div>
      <form className="row view-filters" role="search" aria-label={`Filter the file's ${view}`} onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor={`hf-${view}-status`}>{view === "handoffs" ? "Handoff" : "Attempt"}</label>
          <select id={`hf-${view}-status`} value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">All</option>
            {statuses.map((s) => (
              <option key={s} value={s}>
                {s === "pending" && view === "handoffs" ? "in progress" : s}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`hf-${view}-category`}>{view === "handoffs" ? "Last error" : "Error category"}</label>
          <select id={`hf-${view}-category`} value={category} onChange={(e) => setCategory(e.target.value)}>
            <option value="">All</option>
            {CATEGORIES.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </div>
        <div className="field grow">
          <label htmlFor={`hf-${view}-q`}>Search</label>
          <input
            id={`hf-${view}-q`}
            type="search"
            maxLength={200}
            placeholder="Session id, message, integration or masked value"
            value={text}
            aria-describedby={searchTooShort(text) ? `hf-${view}-q-hint` : undefined}
            onChange={(e) => onText(e.target.value)}
          />
          {searchTooShort(text) && (
            <span id={`hf-${view}-q-hint`} className="muted small">
              Type {MIN_SEARCH_CHARS} or more characters to search
            </span>
          )}
        </div>
      </form>
      {view === "handoffs" ? (
        <HandoffTable
          query={handoffQuery}
          queryKey={`${id}:${JSON.stringify(handoffQuery)}`}
          version={version}
          sort={handoffSort}
          onSort={setHandoffSort}
          onOpen={(row) => row.lastAttemptId && setOpen(row.lastAttemptId)}
          onCategory={setCategory}
          onReload={() => setVersion((v) => v + 1)}
          fetchPage={(query) => client.historyFileHandoffsPage(id, query)}
          filtered={filtered}
          emptyBody="This file holds no handoffs."
        />
      ) : (
        <HistoryTable
          query={attemptQuery}
          queryKey={`${id}:${JSON.stringify(attemptQuery)}`}
          version={version}
          sort={attemptSort as Sort}
          onSort={setAttemptSort}
          onOpen={(row) => setOpen(row.attemptId)}
          onCategory={setCategory}
          onReload={() => setVersion((v) => v + 1)}
          fetchPage={(query) => client.historyFileAttemptsPage(id, query)}
          filtered={filtered}
        />
      )}
      {open && (
        <DetailDrawer
          attemptId={open}
          readOnly
          load={(attemptId) => client.historyFileAttemptView(id, attemptId)}
          onClose={() => setOpen(null)}
          onOpen={setOpen}
        />
      )}
    </div>
  );
}

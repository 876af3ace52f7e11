/** The attempt history as a virtualised grid: fixed-height rows, only the rows on screen (plus
 * overscan) are in the DOM, and pages of 100 are fetched from the server as they scroll into
 * view, so 100,000+ attempts scroll as smoothly as 100. Keyboard: arrows/Page/Home/End move the
 * selection, Enter opens the detail, Space ticks the row, R retries a failed row. */
import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { client } from "../../api/client";
import { ConsoleError } from "../../api/errors";
import type { AttemptSummary } from "../../api/types/AttemptSummary";
import type { HistoryQuery } from "../../api/types/HistoryQuery";
import { Empty, ErrorState, formatLocal } from "../../components/state";
import { formatCount, formatDuration, type Sort, type SortKey } from "./format";
import { PageCache, pagesFor, scrollToShow, visibleRange } from "./virtual";

export const ROW = 34;
const HEADER = 36;
/** The body's height: 14 rows. Fixed, so nothing shifts while pages load. */
const BODY = ROW * 14;
export const PAGE = 100;
const OVERSCAN = 10;

const COLUMNS: { label: string; sort?: SortKey; className?: string }[] = [
  { label: "Started", sort: "startedAt" },
  { label: "Integration", sort: "integration" },
  { label: "Session", sort: "sessionId" },
  { label: "Trigger" },
  { label: "Status", sort: "status" },
  { label: "Category" },
  { label: "Code", className: "num" },
  { label: "Duration", sort: "durationMs", className: "num" },
  { label: "Message" },
  { label: "" },
];

interface Props {
  query: HistoryQuery;
  /** Changes whenever the rows must be fetched again (filters, sort, a refresh). */
  queryKey: string;
  sort: Sort;
  onSort: (s: Sort) => void;
  selected: ReadonlyMap<string, AttemptSummary>;
  onToggle: (rows: AttemptSummary[], on: boolean) => void;
  onOpen: (row: AttemptSummary) => void;
  onRetry: (row: AttemptSummary) => void;
  onTotal: (total: number) => void;
  onReload: () => void;
}

export function HistoryTable(p: Props) {
  const { queryKey } = p;
  const scroller = useRef<HTMLDivElement>(null);
  const inflight = useRef(new Set<string>());
  // The query the table shows now (set after each render that changes it).
  const latestKey = useRef("");
  const marked = useRef(false);
  const [scrollTop, setScrollTop] = useState(0);
  const [stored, setStored] = useState(() => PageCache.empty<AttemptSummary>(queryKey, PAGE));
  const [totalOf, setTotalOf] = useState<{ key: string; n: number } | null>(null);
  const [failure, setFailure] = useState<{ key: string; error: ConsoleError } | null>(null);
  const [activeOf, setActiveOf] = useState<{ key: string; index: number }>({ key: queryKey, index: -1 });

  // Everything below belongs to the current query; state of an older one reads as empty.
  const cache = stored.key === queryKey ? stored : PageCache.empty<AttemptSummary>(queryKey, PAGE);
  const total = totalOf?.key === queryKey ? totalOf.n : null;
  const error = failure?.key === queryKey ? failure.error : null;
  const active = activeOf.key === queryKey ? activeOf.index : -1;
  const range = visibleRange(scrollTop, BODY, ROW, total ?? Math.ceil(BODY / ROW), OVERSCAN);
  const wanted = total === 0 ? [] : pagesFor(range, PAGE);
  const wantedKey = wanted.join(",");

  // A new query starts at the top.
  useEffect(() => {
    latestKey.current = queryKey;
    if (scroller.current) scroller.current.scrollTop = 0;
  }, [queryKey]);

  // Fetch the pages on screen that are not loaded. While scrolling fast the request waits a
  // moment, so a fling across 100,000 rows does not ask for every page on the way.
  useEffect(() => {
    const pages = wantedKey ? wantedKey.split(",").map(Number) : [];
    const missing = cache.missing(pages);
    if (!missing.length) return;
    const timer = setTimeout(
      () => {
        for (const page of missing) {
          const tag = `${queryKey}#${page}`;
          if (inflight.current.has(tag)) continue;
          inflight.current.add(tag);
          client.historyPage({ ...p.query, offset: page * PAGE, limit: PAGE }).then(
            (result) => {
              inflight.current.delete(tag);
              // An answer for a query the table no longer shows is dropped (it would replace
              // the current pages and total).
              if (latestKey.current !== queryKey) return;
              setStored((prev) =>
                (prev.key === queryKey ? prev : PageCache.empty<AttemptSummary>(queryKey, PAGE)).with(page, result.rows, pages),
              );
              setTotalOf({ key: queryKey, n: result.total });
              p.onTotal(result.total);
            },
            (e) => {
              inflight.current.delete(tag);
              setFailure({ key: queryKey, error: ConsoleError.from(e) });
            },
          );
        }
      },
      missing.includes(0) ? 0 : 60,
    );
    return () => clearTimeout(timer);
    // `cache` and `p` are read for this key and these pages; they are what the deps name.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [queryKey, wantedKey, cache.size]);

  // The benchmark (ui/e2e/bench-history.mjs) times opening the panel to this mark.
  useEffect(() => {
    if (!marked.current && cache.has(0)) {
      marked.current = true;
      performance.mark("history-first-rows");
    }
  }, [cache]);

  const move = (index: number) => {
    if (total === null || total === 0) return;
    const next = Math.max(0, Math.min(total - 1, index));
    setActiveOf({ key: queryKey, index: next });
    const el = scroller.current;
    if (el) {
      const top = scrollToShow(next, el.scrollTop, BODY, ROW);
      if (top !== el.scrollTop) el.scrollTop = top;
    }
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const row = active >= 0 ? cache.row(active) : undefined;
    const pageRows = Math.floor(BODY / ROW) - 1;
    const keys: Record<string, () => void> = {
      ArrowDown: () => move(active + 1),
      ArrowUp: () => move(active - 1),
      PageDown: () => move(active + pageRows),
      PageUp: () => move(active - pageRows),
      Home: () => move(0),
      End: () => move((total ?? 1) - 1),
      Enter: () => row && p.onOpen(row),
      " ": () => row && p.onToggle([row], !p.selected.has(row.attemptId)),
      r: () => row && row.status === "failed" && p.onRetry(row),
    };
    const action = keys[e.key];
    if (action && e.target === e.currentTarget && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      action();
    }
  };

  const shown: { index: number; row: AttemptSummary | undefined }[] = [];
  for (let i = range.start; i < Math.min(range.end, total ?? 0); i++) shown.push({ index: i, row: cache.row(i) });
  // "The rows on screen" are those in view, not the overscan rendered above and below it: a
  // bulk action must only take rows the user could see.
  const firstInView = Math.floor(scrollTop / ROW);
  const lastInView = Math.ceil((scrollTop + BODY) / ROW);
  const loadedShown = shown.flatMap((s) =>
    s.row && s.index >= firstInView && s.index < lastInView ? [s.row] : [],
  );
  const allTicked = loadedShown.length > 0 && loadedShown.every((r) => p.selected.has(r.attemptId));
  const activeRow = active >= 0 ? cache.row(active) : undefined;

  if (error && total === null) {
    return (
      <div className="vt-frame" style={{ height: BODY + HEADER }}>
        <ErrorState error={error} onRetry={p.onReload} />
      </div>
    );
  }

  return (
    <div className="vt-frame">
      <div
        ref={scroller}
        className="vt"
        role="grid"
        aria-label="Attempt history"
        aria-rowcount={total === null ? -1 : total + 1}
        aria-colcount={COLUMNS.length + 1}
        aria-multiselectable="true"
        aria-busy={total === null}
        aria-activedescendant={activeRow ? `vt-row-${active}` : undefined}
        tabIndex={0}
        style={{ height: BODY + HEADER }}
        onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
        onKeyDown={onKeyDown}
      >
        <div role="rowgroup" className="vt-head">
          <div role="row" aria-rowindex={1} className="vt-row">
            <div role="columnheader" className="vt-check">
              <input
                type="checkbox"
                aria-label="Select the rows on screen"
                checked={allTicked}
                disabled={!loadedShown.length}
                onChange={(e) => p.onToggle(loadedShown, e.target.checked)}
              />
            </div>
            {COLUMNS.map((c) => {
              const sorted = c.sort && p.sort.key === c.sort;
              return (
                <div
                  key={c.label || "actions"}
                  role="columnheader"
                  className={c.className}
                  aria-sort={sorted ? (p.sort.order === "asc" ? "ascending" : "descending") : undefined}
                >
                  {c.sort ? (
                    <button
                      type="button"
                      className="vt-sort"
                      onClick={() =>
                        p.onSort({
                          key: c.sort!,
                          order: sorted && p.sort.order === "desc" ? "asc" : "desc",
                        })
                      }
                    >
                      {c.label}
                      <span aria-hidden="true">{sorted ? (p.sort.order === "asc" ? " ▲" : " ▼") : ""}</span>
                    </button>
                  ) : (
                    c.label
                  )}
                </div>
              );
            })}
          </div>
        </div>
        <div role="rowgroup" className="vt-body" style={{ height: Math.max(total ?? 0, 0) * ROW }}>
          {total === null &&
            Array.from({ length: Math.floor(BODY / ROW) }, (_, i) => (
              <div key={i} className="vt-row vt-skeleton" style={{ top: i * ROW }} aria-hidden="true">
                <span />
              </div>
            ))}
          {shown.map(({ index, row }) => (
            <Row
              key={index}
              index={index}
              row={row}
              active={index === active}
              ticked={!!row && p.selected.has(row.attemptId)}
              onClick={() => {
                setActiveOf({ key: queryKey, index });
                scroller.current?.focus({ preventScroll: true });
                if (row) p.onOpen(row);
              }}
              onTick={(on) => row && p.onToggle([row], on)}
              onRetry={() => row && p.onRetry(row)}
            />
          ))}
        </div>
        {total === 0 && (
          <div className="vt-empty">
            <Empty title="No attempts match">Change the filters or the time window.</Empty>
          </div>
        )}
      </div>
      <p className="vt-foot muted" aria-live="polite">
        {total === null
          ? "Loading the history…"
          : `${formatCount(total)} attempt${total === 1 ? "" : "s"}${p.selected.size ? ` · ${formatCount(p.selected.size)} selected` : ""}`}
        {error && total !== null && <span className="field-error"> · a page did not load: {error.message}</span>}
      </p>
    </div>
  );
}

function Row(props: {
  index: number;
  row: AttemptSummary | undefined;
  active: boolean;
  ticked: boolean;
  onClick: () => void;
  onTick: (on: boolean) => void;
  onRetry: () => void;
}) {
  const { index, row } = props;
  const style = { top: index * ROW };
  if (!row) {
    return (
      <div role="row" aria-rowindex={index + 2} className="vt-row vt-skeleton" style={style}>
        <div role="gridcell" className="muted">
          Loading…
        </div>
      </div>
    );
  }
  return (
    <div
      id={`vt-row-${index}`}
      role="row"
      aria-rowindex={index + 2}
      aria-selected={props.ticked}
      className={`vt-row${props.active ? " active" : ""}${props.ticked ? " ticked" : ""}`}
      style={style}
      onClick={props.onClick}
    >
      <div role="gridcell" className="vt-check" onClick={(e) => e.stopPropagation()}>
        <input
          type="checkbox"
          tabIndex={-1}
          aria-label={`Select the attempt of session ${row.sessionId}`}
          checked={props.ticked}
          onChange={(e) => props.onTick(e.target.checked)}
        />
      </div>
      <div role="gridcell">
        <time dateTime={row.startedAt}>{formatLocal(new Date(row.startedAt))}</time>
      </div>
      <div role="gridcell" title={row.integrationName}>
        {row.integrationName}
      </div>
      <div role="gridcell" className="mono" title={row.sessionId}>
        {row.sessionId}
      </div>
      <div role="gridcell">{row.trigger}</div>
      <div role="gridcell">
        <span className={`badge ${row.status}`}>{row.status}</span>
      </div>
      <div role="gridcell">{row.category ?? ""}</div>
      <div role="gridcell" className="num">
        {row.statusCode ?? ""}
      </div>
      <div role="gridcell" className="num">
        {formatDuration(row.durationMs)}
      </div>
      <div role="gridcell" title={row.message}>
        {row.message}
      </div>
      <div role="gridcell" onClick={(e) => e.stopPropagation()}>
        {row.status === "failed" && (
          <button type="button" className="small" tabIndex={-1} onClick={props.onRetry} aria-label={`Retry session ${row.sessionId}`}>
            Retry
          </button>
        )}
      </div>
    </div>
  );
}

/** A virtualised grid over a server-paged list (attempts or handoffs, of the console or of an
 * opened history file): fixed-height rows, only the rows on screen (plus overscan) in the DOM,
 * pages fetched as they scroll into view, so 100,000+ rows scroll as smoothly as 100.
 * Keyboard: arrows/Page/Home/End move the active row, Enter opens it, Space ticks it (when the
 * table has a selection), and the keys in `keyActions` act on it.
 *
 * `queryKey` names what is listed (filters and sort): a new one starts at the top. `version`
 * counts refreshes of the same list: the pages on screen are fetched again where they are, so a
 * refresh (or the auto-refresh) never throws the reader back to the first row. */
import { useEffect, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import { ConsoleError } from "../../api/errors";
import { Empty, ErrorState } from "../state";
import { formatCount } from "../format";
import { PageCache, pagesFor, scrollToShow, visibleRange } from "./virtual";
import "./history.css";

export const ROW = 34;
const HEADER = 36;
/** The body's height: 14 rows. Fixed, so nothing shifts while pages load. */
const BODY = ROW * 14;
export const PAGE = 100;
const OVERSCAN = 10;

export interface Column<Row> {
  label: string;
  /** The sort key this column's header sets, if it sorts. */
  sort?: string;
  className?: string;
  /** Its grid track (`120px`, `minmax(180px, 1fr)`). */
  width: string;
  /** The narrowest it gets, in px (the table's min-width is their sum). */
  minPx: number;
  cell: (row: Row) => ReactNode;
  /** The cell's tooltip (the whole text of a cut-off cell). */
  title?: (row: Row) => string | undefined;
  /** A cell whose clicks are its own (buttons, links): they do not open the row. */
  interactive?: boolean;
  /** Left out when the table is narrower than this (px): the columns that matter least go
   * first, so the message and the actions stay readable at 1024 px. */
  hideBelow?: number;
  /** Kept in view at the right edge when the table scrolls sideways (the actions). */
  sticky?: boolean;
}

export interface TableSort {
  key: string;
  order: "asc" | "desc";
}

export interface Page<Row> {
  rows: Row[];
  total: number;
}

interface Props<Row> {
  label: string;
  /** "attempt" / "handoff": the footer's count. */
  noun: string;
  columns: Column<Row>[];
  rowId: (row: Row) => string;
  fetchPage: (offset: number, limit: number) => Promise<Page<Row>>;
  queryKey: string;
  version?: number;
  sort: TableSort;
  onSort: (s: TableSort) => void;
  /** With a selection, the first column ticks rows. */
  selected?: ReadonlyMap<string, Row>;
  onToggle?: (rows: Row[], on: boolean) => void;
  onOpen: (row: Row) => void;
  /** Keys acting on the active row (`r`: retry). */
  keyActions?: Record<string, (row: Row) => void>;
  /** While true, the key actions do nothing (work is under way that they would collide with). */
  actionsPaused?: boolean;
  onTotal?: (total: number) => void;
  onReload: () => void;
  empty: { title: string; body?: ReactNode };
  /** A class for a row (its status), if any. */
  rowClass?: (row: Row) => string | undefined;
}

export function VirtualTable<Row>(p: Props<Row>) {
  const { queryKey, version = 0 } = p;
  const scroller = useRef<HTMLDivElement>(null);
  const frame = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState<number | null>(null);
  useEffect(() => {
    const el = frame.current;
    if (!el || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(([entry]) => entry && setWidth(entry.contentRect.width));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const columns = p.columns.filter((c) => width === null || c.hideBelow === undefined || width >= c.hideBelow);
  const inflight = useRef(new Set<string>());
  // The list the table shows now (set after each render that changes it).
  const latestKey = useRef("");
  const marked = useRef(false);
  const cacheKey = `${queryKey}@${version}`;
  // Where this list is scrolled to (another list starts at the top).
  const [scrollOf, setScrollOf] = useState<{ key: string; top: number }>({ key: queryKey, top: 0 });
  const scrollTop = scrollOf.key === queryKey ? scrollOf.top : 0;
  // The pages of this version, and those of the version before it: shown while a refresh
  // loads, so rows do not blink to "Loading…" every few seconds.
  const [pages, setPages] = useState<{ current: PageCache<Row>; previous: PageCache<Row> | null }>(() => ({
    current: PageCache.empty<Row>(cacheKey, PAGE),
    previous: null,
  }));
  const [totalOf, setTotalOf] = useState<{ key: string; n: number } | null>(null);
  const [failure, setFailure] = useState<{ key: string; error: ConsoleError } | null>(null);
  // The active row is remembered by its id: a refresh that moves rows (new ones arriving on top)
  // keeps it on the same row, not the same position.
  const [activeOf, setActiveOf] = useState<{ key: string; index: number; id: string | null }>({
    key: queryKey,
    index: -1,
    id: null,
  });

  const sameList = (k: string | undefined) => k !== undefined && k.slice(0, k.lastIndexOf("@")) === queryKey;
  // Everything below belongs to the current list; state of another list reads as empty.
  const cache = pages.current.key === cacheKey ? pages.current : PageCache.empty<Row>(cacheKey, PAGE);
  const stale = [pages.current, pages.previous].find((c) => c && c.key !== cacheKey && sameList(c.key)) ?? null;
  const total = totalOf && sameList(totalOf.key) ? totalOf.n : null;
  const error = failure && sameList(failure.key) ? failure.error : null;
  const rowAt = (i: number) => cache.row(i) ?? stale?.row(i);
  const active = (() => {
    if (activeOf.key !== queryKey || activeOf.index < 0) return -1;
    // Moved onto a row not loaded yet: its place is all there is to go by.
    if (activeOf.id === null) return activeOf.index;
    const there = rowAt(activeOf.index);
    if (there && p.rowId(there) === activeOf.id) return activeOf.index;
    return cache.indexOf((r) => p.rowId(r) === activeOf.id);
  })();
  const range = visibleRange(scrollTop, BODY, ROW, total ?? Math.ceil(BODY / ROW), OVERSCAN);
  const wanted = total === 0 ? [] : pagesFor(range, PAGE);
  const wantedKey = wanted.join(",");

  // A new list starts at the top; a new version of it stays where the reader is.
  useEffect(() => {
    latestKey.current = cacheKey;
  }, [cacheKey]);
  useEffect(() => {
    if (scroller.current) scroller.current.scrollTop = 0;
  }, [queryKey]);

  // Fetch the pages on screen that are not loaded. While scrolling fast the request waits a
  // moment, so a fling across 100,000 rows does not ask for every page on the way.
  useEffect(() => {
    const wantedPages = wantedKey ? wantedKey.split(",").map(Number) : [];
    const missing = cache.missing(wantedPages);
    if (!missing.length) return;
    const timer = setTimeout(
      () => {
        for (const page of missing) {
          const tag = `${cacheKey}#${page}`;
          if (inflight.current.has(tag)) continue;
          inflight.current.add(tag);
          p.fetchPage(page * PAGE, PAGE).then(
            (result) => {
              inflight.current.delete(tag);
              // An answer for a list (or version) the table no longer shows is dropped.
              if (latestKey.current !== cacheKey) return;
              setPages((prev) =>
                prev.current.key === cacheKey
                  ? { ...prev, current: prev.current.with(page, result.rows, wantedPages) }
                  : {
                      current: PageCache.empty<Row>(cacheKey, PAGE).with(page, result.rows, wantedPages),
                      previous: sameList(prev.current.key) ? prev.current : null,
                    },
              );
              setTotalOf({ key: cacheKey, n: result.total });
              setFailure(null);
              p.onTotal?.(result.total);
            },
            (e) => {
              inflight.current.delete(tag);
              setFailure({ key: cacheKey, error: ConsoleError.from(e) });
            },
          );
        }
      },
      missing.includes(0) ? 0 : 60,
    );
    return () => clearTimeout(timer);
    // `cache` and `p` are read for this key and these pages; they are what the deps name.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [cacheKey, wantedKey, cache.size]);

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
    const row = rowAt(next);
    setActiveOf({ key: queryKey, index: next, id: row ? p.rowId(row) : null });
    const el = scroller.current;
    if (el) {
      const top = scrollToShow(next, el.scrollTop, BODY, ROW);
      if (top !== el.scrollTop) el.scrollTop = top;
    }
  };

  const selectable = p.selected !== undefined && p.onToggle !== undefined;
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const row = active >= 0 ? rowAt(active) : undefined;
    const pageRows = Math.floor(BODY / ROW) - 1;
    const keys: Record<string, () => void> = {
      ArrowDown: () => move(active + 1),
      ArrowUp: () => move(active - 1),
      PageDown: () => move(active + pageRows),
      PageUp: () => move(active - pageRows),
      Home: () => move(0),
      End: () => move((total ?? 1) - 1),
      Enter: () => row && p.onOpen(row),
    };
    if (selectable) keys[" "] = () => row && p.onToggle?.([row], !p.selected?.has(p.rowId(row)));
    if (!p.actionsPaused) {
      for (const [key, act] of Object.entries(p.keyActions ?? {})) keys[key] = () => row && act(row);
    }
    const action = keys[e.key];
    if (action && e.target === e.currentTarget && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      action();
    }
  };

  const shown: { index: number; row: Row | undefined }[] = [];
  for (let i = range.start; i < Math.min(range.end, total ?? 0); i++) shown.push({ index: i, row: rowAt(i) });
  // "The rows on screen" are those in view, not the overscan rendered above and below it: a
  // bulk action must only take rows the user could see.
  const firstInView = Math.floor(scrollTop / ROW);
  const lastInView = Math.ceil((scrollTop + BODY) / ROW);
  const loadedShown = shown.flatMap((s) => (s.row && s.index >= firstInView && s.index < lastInView ? [s.row] : []));
  const allTicked = loadedShown.length > 0 && loadedShown.every((r) => p.selected?.has(p.rowId(r)));
  const activeRow = active >= 0 ? rowAt(active) : undefined;

  const tracks = [...(selectable ? ["36px"] : []), ...columns.map((c) => c.width)].join(" ");
  const minWidth = (selectable ? 36 : 0) + columns.reduce((sum, c) => sum + c.minPx, 0);
  const rowStyle = { gridTemplateColumns: tracks };

  if (error && total === null) {
    return (
      <div className="vt-frame" ref={frame} style={{ height: BODY + HEADER }}>
        <ErrorState error={error} onRetry={p.onReload} />
      </div>
    );
  }

  return (
    <div className="vt-frame" ref={frame}>
      <div
        ref={scroller}
        className="vt"
        role="grid"
        aria-label={p.label}
        aria-rowcount={total === null ? -1 : total + 1}
        aria-colcount={columns.length + (selectable ? 1 : 0)}
        aria-multiselectable={selectable ? "true" : undefined}
        aria-busy={total === null}
        aria-activedescendant={activeRow ? `vt-row-${active}` : undefined}
        tabIndex={0}
        style={{ height: BODY + HEADER }}
        onScroll={(e) => setScrollOf({ key: queryKey, top: e.currentTarget.scrollTop })}
        onKeyDown={onKeyDown}
      >
        <div role="rowgroup" className="vt-head" style={{ minWidth }}>
          <div role="row" aria-rowindex={1} className="vt-row" style={rowStyle}>
            {selectable && (
              <div role="columnheader" className="vt-check">
                <input
                  type="checkbox"
                  aria-label="Select the rows on screen"
                  checked={allTicked}
                  disabled={!loadedShown.length}
                  onChange={(e) => p.onToggle?.(loadedShown, e.target.checked)}
                />
              </div>
            )}
            {columns.map((c, n) => {
              const sorted = c.sort && p.sort.key === c.sort;
              return (
                <div
                  key={`${c.label}-${n}`}
                  role="columnheader"
                  className={`${c.className ?? ""}${c.sticky ? " vt-sticky" : ""}`}
                  aria-sort={sorted ? (p.sort.order === "asc" ? "ascending" : "descending") : undefined}
                >
                  {c.sort ? (
                    <button
                      type="button"
                      className="vt-sort"
                      onClick={() => p.onSort({ key: c.sort!, order: sorted && p.sort.order === "desc" ? "asc" : "desc" })}
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
        <div role="rowgroup" className="vt-body" style={{ height: Math.max(total ?? 0, 0) * ROW, minWidth }}>
          {total === null &&
            Array.from({ length: Math.floor(BODY / ROW) }, (_, i) => (
              <div key={i} className="vt-row vt-skeleton" style={{ top: i * ROW }} aria-hidden="true">
                <span />
              </div>
            ))}
          {shown.map(({ index, row }) =>
            row === undefined ? (
              <div key={index} role="row" aria-rowindex={index + 2} className="vt-row vt-skeleton" style={{ top: index * ROW }}>
                <div role="gridcell" className="muted">
                  Loading…
                </div>
              </div>
            ) : (
              <div
                key={index}
                id={`vt-row-${index}`}
                role="row"
                aria-rowindex={index + 2}
                aria-selected={selectable ? p.selected?.has(p.rowId(row)) : undefined}
                className={`vt-row${index === active ? " active" : ""}${p.selected?.has(p.rowId(row)) ? " ticked" : ""} ${p.rowClass?.(row) ?? ""}`}
                style={{ ...rowStyle, top: index * ROW }}
                onClick={() => {
                  setActiveOf({ key: queryKey, index, id: p.rowId(row) });
                  scroller.current?.focus({ preventScroll: true });
                  p.onOpen(row);
                }}
              >
                {selectable && (
                  <div role="gridcell" className="vt-check" onClick={(e) => e.stopPropagation()}>
                    <input
                      type="checkbox"
                      tabIndex={-1}
                      aria-label={`Select row ${index + 1}`}
                      checked={!!p.selected?.has(p.rowId(row))}
                      onChange={(e) => p.onToggle?.([row], e.target.checked)}
                    />
                  </div>
                )}
                {columns.map((c, n) => (
                  <div
                    key={n}
                    role="gridcell"
                    className={`${c.className ?? ""}${c.sticky ? " vt-sticky" : ""}`}
                    title={c.title?.(row)}
                    onClick={c.interactive ? (e) => e.stopPropagation() : undefined}
                  >
                    {c.cell(row)}
                  </div>
                ))}
              </div>
            ),
          )}
        </div>
        {total === 0 && (
          <div className="vt-empty">
            <Empty title={p.empty.title}>{p.empty.body}</Empty>
          </div>
        )}
      </div>
      <p className="vt-foot muted" aria-live="polite">
        {total === null
          ? "Loading…"
          : `${formatCount(total)} ${p.noun}${total === 1 ? "" : "s"}${p.selected?.size ? ` · ${formatCount(p.selected.size)} selected` : ""}`}
        {error && total !== null && <span className="field-error"> · a page did not load: {error.message}</span>}
      </p>
    </div>
  );
}

/** The Stats panel (the seed's DataHandoffStatsPanel) for everything (/stats), one integration
 * (/stats/integrations/<id>) or one session (/stats/sessions/<sid>). It leads with what still
 * needs attention (undelivered handoffs), then the figures (handoffs and attempts), a time
 * series, and the history: handoffs (one row per handoff, its tries behind it) or attempts
 * (every try), with the detail drawer, retries, auto-refresh and exports. */
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import { client } from "../../api/client";
import { ConsoleError } from "../../api/errors";
import type { AttemptSummary } from "../../api/types/AttemptSummary";
import type { BulkRetry } from "../../api/types/BulkRetry";
import type { HandoffResult } from "../../api/types/HandoffResult";
import type { HandoffRow } from "../../api/types/HandoffRow";
import type { RetryRequest } from "../../api/types/RetryRequest";
import type { Stats } from "../../api/types/Stats";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { LiveBadge, useLiveRefresh } from "../../components/live";
import { ErrorState, useLoad } from "../../components/state";
import { navigate, useRoute } from "../../router";
import { SeriesChart } from "./Chart";
import { DetailDrawer } from "../../components/history/DetailDrawer";
import { ExportHistoryButton } from "./ExportHistory";
import {
  INITIAL_FILTERS,
  MIN_SEARCH_CHARS,
  attemptsQueryOf,
  bucketOf,
  bulkRetryOf,
  filtersReducer,
  handoffsQueryOf,
  isFiltered,
  searchTooShort,
  statsQueryOf,
  type FilterAction,
  type StatsFilters,
} from "./filters";
import { formatCount, formatDuration } from "../../components/format";
import { csvFileName, formatRate } from "./format";
import { HandoffTable, canRetryHandoff } from "../../components/history/HandoffTable";
import { HistoryTable, canRetry, type Sort } from "../../components/history/HistoryTable";
import "./stats.css";

const CATEGORIES = ["network", "timeout", "authentication", "configuration", "validation", "server"];
const WINDOWS: [string, string][] = [
  ["", "All time"],
  ["1h", "Last hour"],
  ["24h", "Last 24 hours"],
  ["7d", "Last 7 days"],
  ["30d", "Last 30 days"],
  ["custom", "Custom…"],
];
/** How often the panel refreshes itself while visible. */

type Progress = { label: string; done: number; total: number } | null;
type Notice = { kind: "ok" | "error"; text: string } | null;
type Row = { attemptId: string; sessionId: string };

export function StatsPanel() {
  const route = useRoute();
  const scope = useMemo(
    () => (route.screen === "stats" ? { integration: route.integration, session: route.session } : {}),
    [route],
  );
  const [f, dispatch] = useReducer(filtersReducer, INITIAL_FILTERS);
  const set = useCallback((patch: Partial<StatsFilters>) => dispatch({ type: "set", patch }), []);
  const [version, setVersion] = useState(0);
  const [open, setOpen] = useState<string | null>(null);
  // Selections of each list, by the row's own id (a handoff, or an attempt), for the list they
  // were made in: another list (view, filters) starts with nothing selected.
  const [selection, setSelection] = useState<{
    key: string;
    handoffs: ReadonlyMap<string, HandoffRow>;
    attempts: ReadonlyMap<string, AttemptSummary>;
  }>({ key: "", handoffs: new Map(), attempts: new Map() });
  const clearSelection = useCallback(() => setSelection({ key: "", handoffs: new Map(), attempts: new Map() }), []);
  const [progress, setProgress] = useState<Progress>(null);
  const [notice, setNotice] = useState<Notice>(null);
  // The counted bulk retry: exactly this request is sent on confirm (its window closed at the
  // time of counting), and only while the panel still shows the scope it was counted for.
  const [bulk, setBulk] = useState<{ counted: BulkRetry; request: RetryRequest; scope: string } | null>(null);
  const scopeKey = `${scope.integration ?? ""}|${scope.session ?? ""}`;
  const bulkShown = bulk !== null && bulk.scope === scopeKey ? bulk : null;
  const [exporting, setExporting] = useState(false);
  const [total, setTotal] = useState<number | null>(null);

  const integrations = useLoad(() => client.integrations(), []);
  const demo = useLoad(() => client.demoIntegrations().catch(() => ({ integrations: [] as string[] })), []);
  const sq = statsQueryOf(scope, f);
  const [stats, reloadStats] = useLoad(() => client.stats(sq), [sq, version]);
  const hq = handoffsQueryOf(scope, f);
  const aq = attemptsQueryOf(scope, f);
  const filtered = isFiltered(scope, f);
  const tableKey = f.view === "handoffs" ? JSON.stringify(hq) : JSON.stringify(aq);
  const selectedHandoffs = selection.key === tableKey ? selection.handoffs : NONE_SELECTED;
  const selectedAttempts = selection.key === tableKey ? selection.attempts : NONE_SELECTED;
  const setSelectedHandoffs = (update: (prev: ReadonlyMap<string, HandoffRow>) => ReadonlyMap<string, HandoffRow>) =>
    setSelection((s) => ({ key: tableKey, attempts: new Map(), handoffs: update(s.key === tableKey ? s.handoffs : new Map()) }));
  const setSelectedAttempts = (update: (prev: ReadonlyMap<string, AttemptSummary>) => ReadonlyMap<string, AttemptSummary>) =>
    setSelection((s) => ({ key: tableKey, handoffs: new Map(), attempts: update(s.key === tableKey ? s.attempts : new Map()) }));
  const selected: Row[] =
    f.view === "handoffs" ? [...selectedHandoffs.values()].map(handoffAsRow) : [...selectedAttempts.values()];

  const busy = progress !== null;
  const refresh = useCallback(() => setVersion((v) => v + 1), []);

  // The panel refreshes itself while it is on screen and nothing is under way: not while a
  // retry runs, the drawer is open, rows are selected (they would change under the ticks) or
  // the last refresh has not answered yet (slow queries would only pile up).
  const paused = selected.length > 0;
  const busyRef = useRef(busy);
  useEffect(() => {
    busyRef.current = busy || open !== null || paused || stats.state === "loading";
  });
  const changes = useLiveRefresh(f.autoRefresh, () => busyRef.current, refresh);

  // The search waits for a pause in typing (each keystroke would be a query).
  const typing = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const onText = (value: string) => {
    set({ text: value });
    clearTimeout(typing.current);
    typing.current = setTimeout(() => set({ q: value }), 300);
  };
  // An action that sets the table's filters itself drops a search still waiting to apply.
  const act = useCallback((a: FilterAction) => {
    clearTimeout(typing.current);
    dispatch(a);
  }, []);

  const integrationName = useMemo(() => {
    const list = integrations[0].data;
    return list?.find((i) => i.id === scope.integration || i.name === scope.integration)?.name ?? scope.integration;
  }, [integrations, scope.integration]);


  const retryOne = async (row: Row) => {
    if (busy) return;
    setProgress({ label: "Retrying", done: 0, total: 1 });
    try {
      const result = (await client.retry({ attemptId: row.attemptId })) as HandoffResult;
      setNotice({
        kind: result.success && !result.recordError ? "ok" : "error",
        text: `Session ${row.sessionId}: ${result.success ? "delivered" : `failed again (${result.message})`}.${
          result.recordError ? ` ${result.recordError.message}` : ""
        }`,
      });
    } catch (e) {
      const err = ConsoleError.from(e);
      // Delivered meanwhile (by the worker's retry, another person) or under way: nothing was
      // sent, and nothing failed.
      setNotice(
        err.kind === "conflict"
          ? { kind: "ok", text: `Session ${row.sessionId}: not retried, ${err.message}.` }
          : { kind: "error", text: `Session ${row.sessionId}: ${err.message}` },
      );
    }
    setProgress(null);
    clearSelection();
    refresh();
  };

  // One at a time: a person watches the progress, and a target is not flooded.
  const retrySelected = async () => {
    const rows = selected;
    if (busy || !rows.length) return;
    let ok = 0;
    let failed = 0;
    let skipped = 0;
    const problems: string[] = [];
    for (const [i, row] of rows.entries()) {
      setProgress({ label: "Retrying the selected handoffs", done: i, total: rows.length });
      try {
        const r = (await client.retry({ attemptId: row.attemptId })) as HandoffResult;
        if (r.success) ok++;
        else failed++;
      } catch (e) {
        const err = ConsoleError.from(e);
        // Delivered since it was ticked (or under way): skipped, not failed.
        if (err.kind === "conflict") skipped++;
        else {
          failed++;
          if (problems.length < 3) problems.push(`${row.sessionId}: ${err.message}`);
        }
      }
    }
    setProgress(null);
    clearSelection();
    setNotice({
      kind: failed ? "error" : "ok",
      text: `Retried ${rows.length - skipped}: ${ok} delivered, ${failed} not${
        skipped ? `; ${skipped} skipped (delivered or under way since they were selected)` : ""
      }.${problems.length ? ` ${problems.join("; ")}` : ""}`,
    });
    refresh();
  };

  const countFailed = async () => {
    setNotice(null);
    try {
      // Failures after this moment are not in the count, so they are not in the retry either.
      const dry = bulkRetryOf(scope, f, true);
      const request = { ...dry, until: dry.until ?? new Date().toISOString() };
      const r = await client.retry(request);
      if (!("matched" in r)) throw new ConsoleError({ kind: "internal", message: "the count did not come back" });
      setBulk({ counted: r, request: { ...request, dryRun: false }, scope: scopeKey });
    } catch (e) {
      setNotice({ kind: "error", text: ConsoleError.from(e).message });
    }
  };

  const retryAllFailed = async () => {
    const counted = bulkShown;
    setBulk(null);
    if (!counted) return;
    if (busy || counted.counted.matched === 0) return;
    setProgress({ label: "Retrying the failed handoffs", done: 0, total: counted.counted.matched });
    try {
      const r = await client.retry(counted.request);
      if (!("jobId" in r)) throw new ConsoleError({ kind: "internal", message: "the retry did not start as a job" });
      const result = await client.waitForJob<BulkRetry>(r.jobId, (s) =>
        setProgress({ label: "Retrying the failed handoffs", done: s.done, total: s.total }),
      );
      // The server leaves `skipped` out when it is empty (skip_serializing_if), although the
      // generated type says it is always there.
      const skipped = result.skipped ?? [];
      const delivered = result.results.filter((x) => x.success).length;
      // Skipped ones (delivered or under way meanwhile) are not failures.
      setNotice({
        kind: delivered === result.results.length ? "ok" : "error",
        text: `Retried ${result.results.length} of ${result.matched}: ${delivered} delivered, ${
          result.results.length - delivered
        } failed again${skipped.length ? `, ${skipped.length} skipped (delivered or under way meanwhile)` : ""}.`,
      });
    } catch (e) {
      setNotice({ kind: "error", text: ConsoleError.from(e).message });
    }
    setProgress(null);
    clearSelection();
    refresh();
  };

  const exportCsv = async () => {
    setExporting(true);
    try {
      // Every attempt in the scope and the search, newest first whatever the table's sort (the
      // server pages the export by start time); the attempt view's own filters when it shows.
      const query = f.view === "attempts" ? { ...aq } : attemptsQueryOf(scope, { ...f, attemptStatus: "", category: "" });
      delete query.sort;
      delete query.order;
      const { blob, limitedTo } = await client.historyCsv(query);
      // The window's export stops at 100,000 rows, serve's at 1,000,000: say so, never a
      // silently short file.
      const attempts = f.view === "attempts" ? total : (stats.data?.total ?? null);
      const cap = limitedTo ?? (client.transport.kind === "tauri" && attempts !== null && attempts > 100_000 ? 100_000 : null);
      if (cap !== null) {
        setNotice({
          kind: "error",
          text: `The export holds the newest ${formatCount(cap)} attempts; narrow the filter (e.g. the time window) to export the rest.`,
        });
      }
      saveBlob(blob, csvFileName(new Date()));
    } catch (e) {
      setNotice({ kind: "error", text: `Export failed: ${ConsoleError.from(e).message}` });
    }
    setExporting(false);
  };

  const title = scope.session ? `Session ${scope.session}` : scope.integration ? integrationName : "All integrations";
  const openRow = (attemptId: string | null) => attemptId && setOpen(attemptId);
  const hasDemo = (demo[0].data?.integrations.length ?? 0) > 0;

  return (
    <section className="screen stats" aria-labelledby="stats-title">
      <header className="screen-head">
        <h1 id="stats-title">
          Stats <span className="muted">· {title}</span>
        </h1>
        {(scope.session || scope.integration) && (
          <button type="button" onClick={() => navigate({ screen: "stats" })}>
            Show all
          </button>
        )}
        <label className="tp-inline" title="Refresh the figures and the table when any console or server on this store records a change, while this screen is shown">
          <input type="checkbox" checked={f.autoRefresh} onChange={(e) => set({ autoRefresh: e.target.checked })} /> Auto-refresh
          {f.autoRefresh && paused && <span className="muted"> (paused while rows are selected)</span>}
        </label>
        <LiveBadge changes={changes} enabled={f.autoRefresh} />
        <button type="button" onClick={refresh} disabled={busy}>
          Refresh
        </button>
        <button type="button" onClick={exportCsv} disabled={exporting || stats.data?.total === 0}>
          {exporting ? "Exporting…" : "Export attempts (CSV)"}
        </button>
        <ExportHistoryButton integration={scope.integration} window={statsQueryOf(scope, f)} onNotice={setNotice} />
      </header>

      <ScopeBar f={f} set={set} scope={scope} integrations={integrations[0].data ?? []} integrationName={integrationName} />

      <StatsCards stats={stats} onRetry={reloadStats} dispatch={act} />

      <div className="row chart-head">
        <label htmlFor="f-bucket">Bucket</label>
        <select id="f-bucket" value={f.bucket} onChange={(e) => set({ bucket: e.target.value })}>
          <option value="auto">Auto ({bucketOf(f)})</option>
          <option value="minute">Minute</option>
          <option value="hour">Hour</option>
          <option value="day">Day</option>
        </select>
        <span className="muted">Attempts per {bucketOf(f)}, in the scope above.</span>
      </div>
      <div className="chart-slot">
        {stats.state === "error" && !stats.data ? null : stats.data && stats.data.series.length ? (
          <SeriesChart series={stats.data.series} bucket={stats.data.bucket} />
        ) : (
          <div className="card chart-empty muted">
            {!stats.data ? "Loading the chart…" : filtered ? "No attempts in this scope." : "Nothing sent yet: the chart fills in as handoffs go out."}
          </div>
        )}
      </div>

      <div className="row history-actions">
        <h2>History</h2>
        <div role="group" aria-label="List" className="tabs">
          {(["handoffs", "attempts"] as const).map((v) => (
            <button
              key={v}
              type="button"
              aria-pressed={f.view === v}
              className={f.view === v ? "tab active" : "tab"}
              onClick={() => set({ view: v })}
            >
              {v === "handoffs" ? "Handoffs" : "Every attempt"}
            </button>
          ))}
        </div>
        <button type="button" disabled={busy || !selected.length} onClick={retrySelected}>
          Retry selected ({selected.length})
        </button>
        {selected.length > 0 && (
          <button type="button" className="ghost" onClick={clearSelection}>
            Clear selection
          </button>
        )}
        {!scope.session && (
          // A bulk retry cannot be narrowed to a session: offered only where it means what it says.
          <button type="button" disabled={busy} onClick={countFailed}>
            Retry failed handoffs…
          </button>
        )}
        <div className="progress-slot" aria-live="polite">
          {progress && (
            <>
              <span>
                {progress.label}: {progress.done} / {progress.total || "?"}
              </span>
              <div
                className="progress"
                role="progressbar"
                aria-label={progress.label}
                aria-valuemin={0}
                aria-valuemax={progress.total || 1}
                aria-valuenow={progress.done}
              >
                <span style={{ width: `${progress.total ? (100 * progress.done) / progress.total : 0}%` }} />
              </div>
            </>
          )}
        </div>
      </div>
      {notice && (
        <p className={notice.kind === "ok" ? "notice ok-text" : "notice field-error"} role={notice.kind === "ok" ? "status" : "alert"}>
          {notice.text}{" "}
          <button type="button" className="linkish" onClick={() => setNotice(null)}>
            Dismiss
          </button>
        </p>
      )}

      <TableFilters f={f} set={set} dispatch={act} onText={onText} />

      {f.view === "handoffs" ? (
        <HandoffTable
          query={hq}
          queryKey={tableKey}
          version={version}
          sort={f.handoffSort}
          onSort={(s) => set({ handoffSort: s })}
          selected={selectedHandoffs}
          onToggle={(rows, on) => setSelectedHandoffs((prev) => toggled(prev, rows.filter(canRetryHandoff), (r) => r.handoffId, on))}
          onOpen={(row) => openRow(row.lastAttemptId)}
          onRetry={(row) => void retryOne(handoffAsRow(row))}
          onCategory={(c) => act({ type: "category", category: c })}
          onTotal={setTotal}
          onReload={refresh}
          filtered={filtered}
          busy={busy}
          emptyBody={<NothingYet hasDemo={hasDemo} />}
        />
      ) : (
        <HistoryTable
          query={aq}
          queryKey={tableKey}
          version={version}
          sort={f.attemptSort as Sort}
          onSort={(s) => set({ attemptSort: s })}
          selected={selectedAttempts}
          onToggle={(rows, on) => setSelectedAttempts((prev) => toggled(prev, rows.filter(canRetry), (r) => r.attemptId, on))}
          onOpen={(row) => setOpen(row.attemptId)}
          onRetry={(row) => void retryOne(row)}
          onCategory={(c) => act({ type: "category", category: c })}
          onTotal={setTotal}
          onReload={refresh}
          filtered={filtered}
          busy={busy}
        />
      )}
      <p className="muted hint">
        Keys in the table: ↑ ↓ move, Enter opens, Space selects, R retries an undelivered handoff. A handoff delivered by a
        retry shows as delivered; its failed tries are in its retry chain (open it) and under “Every attempt”.
      </p>

      {open && <DetailDrawer attemptId={open} onClose={() => setOpen(null)} onOpen={setOpen} onRetried={() => refresh()} />}
      <ConfirmDialog
        open={bulkShown !== null}
        title="Retry every handoff that failed for good?"
        confirmLabel={`Retry ${formatCount(bulkShown?.counted.matched ?? 0)}`}
        confirmDisabled={!bulkShown?.counted.matched}
        onConfirm={() => void retryAllFailed()}
        onClose={() => setBulk(null)}
      >
        {bulkShown?.counted.matched ? (
          <p>
            {formatCount(bulkShown.counted.matched)} handoff{bulkShown.counted.matched === 1 ? "" : "s"} failed with no automatic
            retry left and match the integration, trigger and time window of their last try
            {f.category ? `, whose last try failed as ${f.category}` : ""}. Each is sent again once.
          </p>
        ) : (
          <p>
            No handoff that failed for good matches the integration, trigger and time window
            {f.category ? ` (and the category ${f.category})` : ""}.
          </p>
        )}
        <p className="muted">
          {stats.data && stats.data.handoffs.undelivered > (bulkShown?.counted.matched ?? 0)
            ? "The other undelivered handoffs in this scope are waiting for an automatic retry (left to it) or fall outside the filters above. "
            : ""}
          Configuration tests are never re-sent.
          {bulkShown && bulkShown.counted.alreadyDelivered > 0
            ? ` ${formatCount(bulkShown.counted.alreadyDelivered)} failed attempt${bulkShown.counted.alreadyDelivered === 1 ? "" : "s"} here belong to handoffs delivered since: they are skipped.`
            : ""}
        </p>
      </ConfirmDialog>
    </section>
  );
}

const NONE_SELECTED: ReadonlyMap<string, never> = new Map<string, never>();

/** Only rows that can be retried are selected: selection is for retrying. */
function toggled<T>(prev: ReadonlyMap<string, T>, rows: T[], id: (r: T) => string, on: boolean): ReadonlyMap<string, T> {
  const next = new Map(prev);
  for (const r of rows) {
    if (on) next.set(id(r), r);
    else next.delete(id(r));
  }
  return next;
}

function handoffAsRow(h: HandoffRow): Row {
  return { attemptId: h.lastAttemptId ?? "", sessionId: h.sessionId };
}

export function saveBlob(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** What an empty console says: nothing was sent yet, and how to send something. */
function NothingYet({ hasDemo }: { hasDemo: boolean }) {
  return hasDemo ? (
    <>
      Nothing was sent yet.{" "}
      <button type="button" className="linkish" onClick={() => navigate({ screen: "integrations" })}>
        Send sample handoffs to the demo
      </button>{" "}
      to see a delivery, a failure and its retries here.
    </>
  ) : (
    <>
      Nothing was sent yet. Handoffs arrive from voice sessions through the API or the CLI; a configuration test in the{" "}
      <button type="button" className="linkish" onClick={() => navigate({ screen: "tests" })}>
        Test Panel
      </button>{" "}
      shows how an integration answers.
    </>
  );
}

/** The scope: what the cards, the chart and the table all follow. */
function ScopeBar({
  f,
  set,
  scope,
  integrations,
  integrationName,
}: {
  f: StatsFilters;
  set: (p: Partial<StatsFilters>) => void;
  scope: { integration?: string; session?: string };
  integrations: { id: string; name: string }[];
  integrationName: string | undefined;
}) {
  return (
    <form className="stats-filters scope-bar" role="search" aria-label="Scope of the figures and the table" onSubmit={(e) => e.preventDefault()}>
      <span className="filter-group-label">Scope · cards, chart and table</span>
      <div className="field">
        <label htmlFor="f-integration">Integration</label>
        <select
          id="f-integration"
          value={scope.integration ?? ""}
          disabled={!!scope.session}
          onChange={(e) => navigate(e.target.value ? { screen: "stats", integration: e.target.value } : { screen: "stats" })}
        >
          <option value="">All</option>
          {scope.integration && !integrations.some((i) => i.id === scope.integration) && (
            <option value={scope.integration}>{integrationName}</option>
          )}
          {integrations.map((i) => (
            <option key={i.id} value={i.id}>
              {i.name}
            </option>
          ))}
        </select>
      </div>
      <Choice id="f-trigger" label="Trigger" value={f.trigger} onChange={(trigger) => set({ trigger })} options={["live", "test", "retry", "webhook"]} />
      <div className="field">
        <label htmlFor="f-window">Time window</label>
        <select id="f-window" value={f.window} onChange={(e) => set({ window: e.target.value })}>
          {WINDOWS.map(([v, l]) => (
            <option key={v} value={v}>
              {l}
            </option>
          ))}
        </select>
      </div>
      {f.window === "custom" && (
        <>
          <div className="field">
            <label htmlFor="f-since">From (local time)</label>
            <input id="f-since" type="datetime-local" value={f.customSince} onChange={(e) => set({ customSince: e.target.value })} />
          </div>
          <div className="field">
            <label htmlFor="f-until">Until (local time)</label>
            <input id="f-until" type="datetime-local" value={f.customUntil} onChange={(e) => set({ customUntil: e.target.value })} />
          </div>
        </>
      )}
    </form>
  );
}

/** The table's own filters: they narrow the list below, not the cards. */
function TableFilters({
  f,
  set,
  dispatch,
  onText,
}: {
  f: StatsFilters;
  set: (p: Partial<StatsFilters>) => void;
  dispatch: (a: FilterAction) => void;
  onText: (v: string) => void;
}) {
  const any = f.handoffStatus || f.attemptStatus || f.category || f.text;
  return (
    <form className="stats-filters table-filters" role="search" aria-label="Filter the table" onSubmit={(e) => e.preventDefault()}>
      <span className="filter-group-label">Table only</span>
      {f.view === "handoffs" ? (
        <Choice
          id="f-hstatus"
          label="Handoff"
          value={f.handoffStatus}
          onChange={(handoffStatus) => set({ handoffStatus })}
          options={["undelivered", "pending", "delivered"]}
          labels={{ undelivered: "undelivered", pending: "in progress", delivered: "delivered" }}
        />
      ) : (
        <Choice id="f-status" label="Attempt" value={f.attemptStatus} onChange={(attemptStatus) => set({ attemptStatus })} options={["failed", "succeeded", "pending"]} />
      )}
      <Choice
        id="f-category"
        label={f.view === "handoffs" ? "Last error" : "Error category"}
        value={f.category}
        onChange={(category) => set({ category })}
        options={CATEGORIES}
      />
      <div className="field grow">
        <label htmlFor="f-q">Search</label>
        <input
          id="f-q"
          type="search"
          maxLength={200}
          placeholder="Session id, message, integration or masked value"
          value={f.text}
          aria-describedby={searchTooShort(f.text) ? "f-q-hint" : undefined}
          onChange={(e) => onText(e.target.value)}
        />
        {searchTooShort(f.text) && (
          <span id="f-q-hint" className="muted small">
            Type {MIN_SEARCH_CHARS} or more characters to search
          </span>
        )}
      </div>
      {any && (
        <button type="button" className="ghost" onClick={() => dispatch({ type: "clearTable" })}>
          Clear table filters
        </button>
      )}
    </form>
  );
}

function Choice(props: {
  id: string;
  label: string;
  value: string;
  onChange: (v: string) => void;
  options: string[];
  labels?: Record<string, string>;
}) {
  return (
    <div className="field">
      <label htmlFor={props.id}>{props.label}</label>
      <select id={props.id} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        <option value="">All</option>
        {props.options.map((o) => (
          <option key={o} value={o}>
            {props.labels?.[o] ?? o}
          </option>
        ))}
      </select>
    </div>
  );
}

function StatsCards({
  stats,
  onRetry,
  dispatch,
}: {
  stats: ReturnType<typeof useLoad<Stats>>[0];
  onRetry: () => void;
  dispatch: (a: FilterAction) => void;
}) {
  if (stats.state === "error" && !stats.data) return <ErrorState error={stats.error} onRetry={onRetry} />;
  const s = stats.data;
  const v = (f: (s: Stats) => string) => (s ? f(s) : "…");
  const categories = s ? Object.entries(s.failuresByCategory).filter(([, n]) => n > 0) : [];
  const undelivered = s?.handoffs.undelivered ?? 0;
  return (
    <div className="cards stats-cards" aria-busy={stats.state === "loading"}>
      <div className={`card attention${undelivered > 0 ? " alert" : ""}`}>
        <div className="label">Needs attention</div>
        <div className="value">{v((s) => formatCount(s.handoffs.undelivered))}</div>
        <div className="label">
          {v((s) => (s.handoffs.undelivered === 1 ? "handoff not delivered" : "handoffs not delivered"))}
          {s && s.handoffs.pending > 0 && ` · ${formatCount(s.handoffs.pending)} in progress`}
        </div>
        {undelivered > 0 && (
          <button type="button" className="small" onClick={() => dispatch({ type: "showUndelivered" })}>
            Show them
          </button>
        )}
      </div>
      <div className="card">
        <div className="label">Handoffs</div>
        <div className="value">{v((s) => formatCount(s.handoffs.total))}</div>
        <div className="label">{v((s) => `${formatCount(s.handoffs.delivered)} delivered`)}</div>
      </div>
      <div className="card">
        <div className="label">Attempts</div>
        <div className="value">{v((s) => formatCount(s.total))}</div>
        <div className="label">{v((s) => `${formatCount(s.failed)} failed · ${formatCount(s.pending)} pending`)}</div>
      </div>
      <div className="card">
        <div className="label">Attempt success</div>
        <div className="value">{v((s) => formatRate(s.successRate))}</div>
        <div className="label">of finished attempts</div>
      </div>
      <div className="card">
        <div className="label">Average time</div>
        <div className="value">{v((s) => formatDuration(s.avgMs))}</div>
        <div className="label">{v((s) => `median ${formatDuration(s.p50Ms)} · p95 ${formatDuration(s.p95Ms)}`)}</div>
      </div>
      <div className="card failures">
        <div className="label">Failed attempts by category</div>
        {!s ? (
          <div className="value">…</div>
        ) : categories.length ? (
          <ul>
            {categories.map(([c, n]) => (
              <li key={c}>
                <button
                  type="button"
                  className="linkish"
                  onClick={() => dispatch({ type: "failedAttempts", category: c })}
                  title={`Show the ${c} failures in the table (every attempt)`}
                >
                  {c}
                </button>{" "}
                <strong>{formatCount(n)}</strong>
              </li>
            ))}
          </ul>
        ) : (
          <div className="value">none</div>
        )}
      </div>
      {stats.state === "error" && <p className="field-error">Statistics did not refresh: {stats.error.message}</p>}
    </div>
  );
}

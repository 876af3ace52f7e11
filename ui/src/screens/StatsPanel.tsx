/** The Stats panel (the seed's DataHandoffStatsPanel): statistics, a time series and the
 * attempt history for everything (/stats), one integration (/stats/integrations/<id>) or one
 * session (/stats/sessions/<sid>), with filters, the attempt detail, retries and a CSV export. */
import { useCallback, useMemo, useRef, useState } from "react";
import { client } from "../api/client";
import { ConsoleError } from "../api/errors";
import type { AttemptSummary } from "../api/types/AttemptSummary";
import type { BulkRetry } from "../api/types/BulkRetry";
import type { HandoffResult } from "../api/types/HandoffResult";
import type { RetryRequest } from "../api/types/RetryRequest";
import type { Stats } from "../api/types/Stats";
import { ErrorState, useLoad } from "../components/state";
import { navigate, useRoute } from "../router";
import { SeriesChart } from "./stats/Chart";
import { Confirm } from "./stats/Confirm";
import { DetailDrawer } from "./stats/DetailDrawer";
import { HistoryTable } from "./stats/HistoryTable";
import {
  bulkRetryRequest,
  csvFileName,
  formatCount,
  formatDuration,
  formatRate,
  historyQuery,
  localInputToIso,
  statsQuery,
  type Filters,
  type Sort,
} from "./stats/format";
import "./stats/stats.css";

const CATEGORIES = ["network", "timeout", "authentication", "configuration", "validation", "server"];
const WINDOWS: [string, string][] = [
  ["", "All time"],
  ["1h", "Last hour"],
  ["24h", "Last 24 hours"],
  ["7d", "Last 7 days"],
  ["30d", "Last 30 days"],
  ["custom", "Custom…"],
];

type Progress = { label: string; done: number; total: number } | null;
type Notice = { kind: "ok" | "error"; text: string } | null;

export function StatsPanel() {
  const route = useRoute();
  const scope = route.screen === "stats" ? route : { integration: undefined, session: undefined };
  const [status, setStatus] = useState("");
  const [trigger, setTrigger] = useState("");
  const [category, setCategory] = useState("");
  const [windowChoice, setWindowChoice] = useState("");
  const [customSince, setCustomSince] = useState("");
  const [customUntil, setCustomUntil] = useState("");
  const [text, setText] = useState("");
  const [q, setQ] = useState("");
  const [bucket, setBucket] = useState("hour");
  const [sort, setSort] = useState<Sort>({ key: "startedAt", order: "desc" });
  const [round, setRound] = useState(0);
  const [open, setOpen] = useState<string | null>(null);
  const [selected, setSelected] = useState<ReadonlyMap<string, AttemptSummary>>(new Map());
  const [progress, setProgress] = useState<Progress>(null);
  const [notice, setNotice] = useState<Notice>(null);
  // The counted bulk retry: exactly this request is sent on confirm (its window closed at the
  // time of counting), and only while the panel still shows the scope it was counted for.
  const [bulk, setBulk] = useState<{ count: number; request: RetryRequest; scope: string } | null>(null);
  const scopeKey = `${scope.integration ?? ""}|${scope.session ?? ""}`;
  const bulkShown = bulk !== null && bulk.scope === scopeKey ? bulk : null;
  const [exporting, setExporting] = useState(false);
  const [total, setTotal] = useState<number | null>(null);

  const integrations = useLoad(() => client.integrations(), []);
  const filters: Filters = {
    integration: scope.integration,
    session: scope.session,
    status,
    trigger,
    category,
    since: windowChoice === "custom" ? localInputToIso(customSince) : windowChoice || undefined,
    until: windowChoice === "custom" ? localInputToIso(customUntil) : undefined,
    q,
  };
  const hq = historyQuery(filters, sort);
  const queryKey = `${JSON.stringify(hq)}#${round}`;
  const sq = statsQuery(filters, bucket);
  const [stats, reloadStats] = useLoad(() => client.stats(sq), [sq, round]);

  const refresh = useCallback(() => {
    setRound((r) => r + 1);
    reloadStats();
  }, [reloadStats]);

  // The search waits for a pause in typing (each keystroke would be a query).
  const typing = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const onText = (value: string) => {
    setText(value);
    clearTimeout(typing.current);
    typing.current = setTimeout(() => setQ(value), 300);
  };

  const integrationName = useMemo(() => {
    const list = integrations[0].data;
    return list?.find((i) => i.id === scope.integration || i.name === scope.integration)?.name ?? scope.integration;
  }, [integrations, scope.integration]);

  const toggle = useCallback((rows: AttemptSummary[], on: boolean) => {
    setSelected((prev) => {
      const next = new Map(prev);
      for (const r of rows) {
        if (on) next.set(r.attemptId, r);
        else next.delete(r.attemptId);
      }
      return next;
    });
  }, []);

  const retryOne = async (row: AttemptSummary) => {
    setProgress({ label: "Retrying", done: 0, total: 1 });
    try {
      const r = await client.retry({ attemptId: row.attemptId });
      const result = r as HandoffResult;
      setNotice({
        kind: result.success ? "ok" : "error",
        text: `Session ${row.sessionId}: ${result.success ? "delivered" : `failed again (${result.message})`}.`,
      });
    } catch (e) {
      setNotice({ kind: "error", text: `Session ${row.sessionId}: ${ConsoleError.from(e).message}` });
    }
    setProgress(null);
    refresh();
  };

  // One at a time: a person watches the progress, and a target is not flooded.
  const retrySelected = async () => {
    const rows = [...selected.values()];
    let ok = 0;
    let failed = 0;
    const problems: string[] = [];
    for (const [i, row] of rows.entries()) {
      setProgress({ label: "Retrying the selected attempts", done: i, total: rows.length });
      try {
        const r = (await client.retry({ attemptId: row.attemptId })) as HandoffResult;
        if (r.success) ok++;
        else failed++;
      } catch (e) {
        failed++;
        if (problems.length < 3) problems.push(`${row.sessionId}: ${ConsoleError.from(e).message}`);
      }
    }
    setProgress(null);
    setSelected(new Map());
    setNotice({
      kind: failed ? "error" : "ok",
      text: `Retried ${rows.length}: ${ok} delivered, ${failed} not.${problems.length ? ` ${problems.join("; ")}` : ""}`,
    });
    refresh();
  };

  const countFailed = async () => {
    setNotice(null);
    try {
      // Failures after this moment are not in the count, so they are not in the retry either.
      const request = { ...bulkRetryRequest(filters, true), until: filters.until ?? new Date().toISOString() };
      const r = await client.retry(request);
      setBulk({ count: "matched" in r ? r.matched : 0, request: { ...request, dryRun: false }, scope: scopeKey });
    } catch (e) {
      setNotice({ kind: "error", text: ConsoleError.from(e).message });
    }
  };

  const retryAllFailed = async () => {
    const counted = bulkShown;
    setBulk(null);
    if (!counted) return;
    setProgress({ label: "Retrying the failed handoffs", done: 0, total: counted.count });
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
      setNotice({
        kind: delivered === result.results.length && !skipped.length ? "ok" : "error",
        text: `Retried ${result.results.length} of ${result.matched}: ${delivered} delivered, ${
          result.results.length - delivered
        } failed again${skipped.length ? `, ${skipped.length} skipped` : ""}.`,
      });
    } catch (e) {
      setNotice({ kind: "error", text: ConsoleError.from(e).message });
    }
    setProgress(null);
    refresh();
  };

  const exportCsv = async () => {
    setExporting(true);
    try {
      // Newest first whatever the table's sort (the server pages the export by start time).
      const { blob, limitedTo } = await client.historyCsv(historyQuery(filters));
      // The window's export stops at 100,000 rows, serve's at 1,000,000: say so, never a
      // silently short file.
      const cap = limitedTo ?? (client.transport.kind === "tauri" && total !== null && total > 100_000 ? 100_000 : null);
      if (cap !== null) {
        setNotice({
          kind: "error",
          text: `The export holds the newest ${formatCount(cap)} of ${formatCount(total ?? cap)} attempts; narrow the filter (e.g. the time window) to export the rest.`,
        });
      }
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = csvFileName(new Date());
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      setNotice({ kind: "error", text: `Export failed: ${ConsoleError.from(e).message}` });
    }
    setExporting(false);
  };

  const busy = progress !== null;
  const title = scope.session ? `Session ${scope.session}` : scope.integration ? integrationName : "All integrations";

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
        <button type="button" onClick={refresh} disabled={busy}>
          Refresh
        </button>
        <button type="button" onClick={exportCsv} disabled={exporting || total === 0}>
          {exporting ? "Exporting…" : "Export CSV"}
        </button>
      </header>

      <form className="stats-filters" role="search" aria-label="Filter the history" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="f-integration">Integration</label>
          <select
            id="f-integration"
            value={scope.integration ?? ""}
            disabled={!!scope.session}
            onChange={(e) =>
              navigate(e.target.value ? { screen: "stats", integration: e.target.value } : { screen: "stats" })
            }
          >
            <option value="">All</option>
            {scope.integration && !integrations[0].data?.some((i) => i.id === scope.integration) && (
              <option value={scope.integration}>{integrationName}</option>
            )}
            {integrations[0].data?.map((i) => (
              <option key={i.id} value={i.id}>
                {i.name}
              </option>
            ))}
          </select>
        </div>
        <Choice id="f-status" label="Status" value={status} onChange={setStatus} options={["pending", "succeeded", "failed"]} />
        <Choice id="f-trigger" label="Trigger" value={trigger} onChange={setTrigger} options={["live", "test", "retry", "webhook"]} />
        <Choice id="f-category" label="Error category" value={category} onChange={setCategory} options={CATEGORIES} />
        <div className="field">
          <label htmlFor="f-window">Time window</label>
          <select id="f-window" value={windowChoice} onChange={(e) => setWindowChoice(e.target.value)}>
            {WINDOWS.map(([v, l]) => (
              <option key={v} value={v}>
                {l}
              </option>
            ))}
          </select>
        </div>
        {windowChoice === "custom" && (
          <>
            <div className="field">
              <label htmlFor="f-since">From (local time)</label>
              <input id="f-since" type="datetime-local" value={customSince} onChange={(e) => setCustomSince(e.target.value)} />
            </div>
            <div className="field">
              <label htmlFor="f-until">Until (local time)</label>
              <input id="f-until" type="datetime-local" value={customUntil} onChange={(e) => setCustomUntil(e.target.value)} />
            </div>
          </>
        )}
        <div className="field grow">
          <label htmlFor="f-q">Search</label>
          <input
            id="f-q"
            type="search"
            maxLength={200}
            placeholder="Session id, message or integration"
            value={text}
            onChange={(e) => onText(e.target.value)}
          />
        </div>
      </form>

      <StatsCards stats={stats} onRetry={reloadStats} />

      <div className="row chart-head">
        <label htmlFor="f-bucket">Bucket</label>
        <select id="f-bucket" value={bucket} onChange={(e) => setBucket(e.target.value)}>
          <option value="minute">Minute</option>
          <option value="hour">Hour</option>
          <option value="day">Day</option>
        </select>
        <span className="muted">Cards and chart follow the integration, session, trigger and time window.</span>
      </div>
      <div className="chart-slot">
        {stats.state === "error" && !stats.data ? null : stats.data && stats.data.series.length ? (
          <SeriesChart series={stats.data.series} bucket={stats.data.bucket} />
        ) : (
          <div className="card chart-empty muted">{stats.data ? "No attempts in this window." : "Loading the chart…"}</div>
        )}
      </div>

      <div className="row history-actions">
        <h2>History</h2>
        <button type="button" disabled={busy || !selected.size} onClick={retrySelected}>
          Retry selected ({selected.size})
        </button>
        {selected.size > 0 && (
          <button type="button" className="ghost" onClick={() => setSelected(new Map())}>
            Clear selection
          </button>
        )}
        {!scope.session && (
          // A bulk retry cannot be narrowed to a session: offered only where it means what it says.
          <button type="button" disabled={busy} onClick={countFailed}>
            Retry all failed…
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

      <HistoryTable
        query={hq}
        queryKey={queryKey}
        sort={sort}
        onSort={setSort}
        selected={selected}
        onToggle={toggle}
        onOpen={(row) => setOpen(row.attemptId)}
        onRetry={retryOne}
        onTotal={setTotal}
        onReload={refresh}
      />
      <p className="muted hint">
        Keys in the table: ↑ ↓ move, Enter opens, Space selects, R retries a failed attempt.
      </p>

      {open && (
        <DetailDrawer
          attemptId={open}
          onClose={() => setOpen(null)}
          onOpen={setOpen}
          onRetried={() => refresh()}
        />
      )}
      <Confirm
        open={bulkShown !== null}
        title="Retry every failed handoff?"
        confirmLabel={`Retry ${formatCount(bulkShown?.count ?? 0)}`}
        onConfirm={retryAllFailed}
        onCancel={() => setBulk(null)}
      >
        {bulkShown?.count ? (
          <p>
            {formatCount(bulkShown.count)} handoff{bulkShown.count === 1 ? "" : "s"} failed for good and match the integration, error
            category and time window (status, trigger, session and search do not narrow a bulk retry; configuration tests
            are never re-sent). Each is sent again once.
          </p>
        ) : (
          <p>No failed handoff matches the integration, error category and time window.</p>
        )}
      </Confirm>
    </section>
  );
}

function Choice(props: { id: string; label: string; value: string; onChange: (v: string) => void; options: string[] }) {
  return (
    <div className="field">
      <label htmlFor={props.id}>{props.label}</label>
      <select id={props.id} value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        <option value="">All</option>
        {props.options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </div>
  );
}

function StatsCards({ stats, onRetry }: { stats: ReturnType<typeof useLoad<Stats>>[0]; onRetry: () => void }) {
  if (stats.state === "error" && !stats.data) return <ErrorState error={stats.error} onRetry={onRetry} />;
  const s = stats.data;
  const v = (f: (s: Stats) => string) => (s ? f(s) : "…");
  const categories = s ? Object.entries(s.failuresByCategory).filter(([, n]) => n > 0) : [];
  return (
    <div className="cards stats-cards" aria-busy={stats.state === "loading"}>
      <div className="card">
        <div className="label">Attempts</div>
        <div className="value">{v((s) => formatCount(s.total))}</div>
        <div className="label">{v((s) => `${formatCount(s.failed)} failed · ${formatCount(s.pending)} pending`)}</div>
      </div>
      <div className="card">
        <div className="label">Success rate</div>
        <div className="value">{v((s) => formatRate(s.successRate))}</div>
        <div className="label">of finished attempts</div>
      </div>
      <div className="card">
        <div className="label">Average time</div>
        <div className="value">{v((s) => formatDuration(s.avgMs))}</div>
        <div className="label">{v((s) => `median ${formatDuration(s.p50Ms)}`)}</div>
      </div>
      <div className="card">
        <div className="label">95th percentile</div>
        <div className="value">{v((s) => formatDuration(s.p95Ms))}</div>
        <div className="label">{v((s) => (s.exact ? "exact" : "within 1%"))}</div>
      </div>
      <div className="card failures">
        <div className="label">Failures by category</div>
        {!s ? (
          <div className="value">…</div>
        ) : categories.length ? (
          <ul>
            {categories.map(([c, n]) => (
              <li key={c}>
                <span>{c}</span> <strong>{formatCount(n)}</strong>
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

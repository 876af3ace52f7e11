/** The Integration Health Dashboard: the last-known results at once (from the store, so it
 * works with every target offline), "Run checks" as a job with live progress, "check this one"
 * per integration, and each integration's recent trend. */
import { useState } from "react";
import { client } from "../../api/client";
import { ConsoleError } from "../../api/errors";
import type { HealthReport } from "../../api/types/HealthReport";
import { Empty, ErrorState, LocalTime, Spinner, useLoad } from "../../components/state";
import { HealthCard, StatusBadge } from "./Cards";
import {
  type HealthFilter,
  type HealthView,
  NO_FILTER,
  fromLast,
  fromReport,
  groupCards,
  isProbed,
  matchesFilter,
  mergeReport,
  shownStatus,
  statusLabel,
} from "./model";
import "./health.css";

type Run =
  | { state: "idle" }
  | { state: "running"; integration: string | null; done: number; total: number }
  | { state: "failed"; error: ConsoleError };

export function HealthDashboard() {
  const [last, reloadLast] = useLoad(() => client.lastHealth(), []);
  // Results of runs made on this screen; until one, the last-known state is shown.
  const [fresh, setFresh] = useState<HealthView | null>(null);
  const [run, setRun] = useState<Run>({ state: "idle" });
  const [trendRound, setTrendRound] = useState(0);
  const [filter, setFilter] = useState<HealthFilter>(NO_FILTER);

  const known = last.data ? fromLast(last.data) : null;
  const view = fresh ?? known;
  const running = run.state === "running";

  async function runChecks(integration: string | null) {
    const base = view;
    setRun({ state: "running", integration, done: 0, total: 0 });
    try {
      const { jobId } = await client.runHealth(integration ? { integration } : {});
      const report = await client.waitForJob<HealthReport>(jobId, (s) =>
        setRun({ state: "running", integration, done: s.done, total: s.total }),
      );
      setFresh((prev) => {
        if (!integration) return fromReport(report);
        const current = prev ?? base;
        return current ? mergeReport(current, report) : fromReport(report);
      });
      setRun({ state: "idle" });
      setTrendRound((r) => r + 1);
    } catch (e) {
      setRun({ state: "failed", error: ConsoleError.from(e) });
    }
  }

  let body;
  if (!view) {
    body =
      last.state === "error" ? (
        <ErrorState error={last.error} onRetry={reloadLast} />
      ) : (
        <Spinner label="Loading the last results…" />
      );
  } else if (view.integrations.length === 0 && view.local.length === 0) {
    body = (
      <Empty title="Nothing checked yet">
        Run the checks to see whether every integration and the console's own parts are healthy.
      </Empty>
    );
  } else {
    const shown = view.integrations.filter((i) => matchesFilter(filter, i.name, shownStatus(i))).length;
    body = (
      <>
        <HealthFilters filter={filter} onChange={setFilter} shown={shown} total={view.integrations.length} />
        <div className="health-cards">
          {groupCards(view, filter).map((card) => (
            <HealthCard
              key={card.key}
              card={card}
              onCheck={running ? null : (id) => void runChecks(id)}
              checking={run.state === "running" ? run.integration : null}
              trendRound={trendRound}
            />
          ))}
        </div>
      </>
    );
  }

  return (
    <section className="screen" aria-labelledby="health-title">
      <div className="screen-head">
        <h1 id="health-title">Integration health</h1>
        {view && (
          <span className="row" aria-label={`Overall: ${statusLabel(view.status)}`}>
            <span className="muted">Overall</span>
            <StatusBadge status={view.status} />
          </span>
        )}
        <button type="button" className="primary" onClick={() => void runChecks(null)} disabled={running}>
          {running ? "Checking…" : "Run checks"}
        </button>
      </div>
      <StatusBar run={run} view={view} isLastKnown={fresh === null} />
      {body}
    </section>
  );
}

/** Search by name and filter by status: with a hundred integrations, the few with problems must
 * be found at once. */
function HealthFilters({
  filter,
  onChange,
  shown,
  total,
}: {
  filter: HealthFilter;
  onChange: (f: HealthFilter) => void;
  shown: number;
  total: number;
}) {
  return (
    <form className="row health-filters" role="search" aria-label="Filter the integrations" onSubmit={(e) => e.preventDefault()}>
      <div className="field">
        <label htmlFor="hf-text">Search</label>
        <input
          id="hf-text"
          type="search"
          placeholder="Integration name"
          maxLength={100}
          value={filter.text}
          onChange={(e) => onChange({ ...filter, text: e.target.value })}
        />
      </div>
      <div className="field">
        <label htmlFor="hf-status">Status</label>
        <select id="hf-status" value={filter.status} onChange={(e) => onChange({ ...filter, status: e.target.value as HealthFilter["status"] })}>
          <option value="">All</option>
          <option value="problems">Problems (error or warning)</option>
          <option value="error">Error</option>
          <option value="warning">Warning</option>
          <option value="healthy">Healthy</option>
          <option value="unknown">Not checked</option>
        </select>
      </div>
      <span className="muted" aria-live="polite">
        {shown === total ? `${total} integration${total === 1 ? "" : "s"}` : `${shown} of ${total} integrations shown`}
      </span>
    </form>
  );
}

/** Progress while a run goes on, else when the results shown were taken. One line of fixed
 * height either way, so nothing below moves when a run starts or ends. */
function StatusBar({ run, view, isLastKnown }: { run: Run; view: HealthView | null; isLastKnown: boolean }) {
  if (run.state === "running") {
    const pct = run.total > 0 ? Math.round((100 * run.done) / run.total) : 0;
    const text =
      run.total > 0
        ? `Checked ${run.done} of ${run.total} integration${run.total === 1 ? "" : "s"}`
        : "Starting the checks…";
    return (
      <div className="health-status-bar">
        <div
          className="progress"
          role="progressbar"
          aria-label="Health checks"
          aria-valuemin={0}
          aria-valuemax={run.total || 1}
          aria-valuenow={run.done}
        >
          <span style={{ width: `${pct}%` }} />
        </div>
        <span aria-live="polite">{text}</span>
      </div>
    );
  }
  // Only real runs count: an integration never probed shows its deliveries, read just now.
  const newest = view?.integrations
    .filter(isProbed)
    .reduce<string | null>((a, i) => (a === null || i.checkedAt > a ? i.checkedAt : a), view.localCheckedAt);
  return (
    <div className="health-status-bar">
      {run.state === "failed" ? (
        <span className="field-error" role="alert">
          The checks could not run: {run.error.message}
        </span>
      ) : !newest && view && view.integrations.length > 0 ? (
        <span className="muted">No checks have run yet: the statuses so far come from recent deliveries. Run the checks to probe every target.</span>
      ) : newest ? (
        <span className="muted">
          {isLastKnown ? "Last known results, checked" : "Checked"} <LocalTime value={newest} />
          {isLastKnown && " — run the checks for the current state"}
        </span>
      ) : (
        <span className="muted">No results yet.</span>
      )}
    </div>
  );
}

/** The read-only views of an open history file: its attempts (filtered by status), its
 * statistics summary and its audit trail. */
import { useState } from "react";
import { client } from "../../api/client";
import { ConsoleError } from "../../api/errors";
import type { HistoryQuery } from "../../api/types/HistoryQuery";
import { Empty, ErrorState, LocalTime, Spinner, useLoad } from "../../components/state";
import { detailsLine, formatMs, formatRate } from "./format";

const LIMIT = 200;

function GoneState({ error, onGone }: { error: ConsoleError; onGone: () => void }) {
  // The console forgot the file (restarted, or more files opened since): open it again.
  if (error.kind === "notFound") {
    return (
      <ErrorState
        error={new ConsoleError({ kind: "notFound", message: "The console no longer has this file open. Open it again." })}
        onRetry={onGone}
      />
    );
  }
  return <ErrorState error={error} />;
}

export function AttemptsView({ id, onGone }: { id: string; onGone: () => void }) {
  const [status, setStatus] = useState("");
  const query: HistoryQuery = { limit: LIMIT, ...(status ? { status } : {}) };
  const [load, reload] = useLoad(() => client.historyFileAttempts(id, query), [id, status]);
  const rows = load.data;
  return (
    <div>
      <div className="row view-filters">
        <label htmlFor="hf-status">Status</label>
        <select id="hf-status" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">any</option>
          <option value="succeeded">succeeded</option>
          <option value="failed">failed</option>
          <option value="pending">pending</option>
        </select>
        <span className="muted">{rows ? `${rows.length}${rows.length === LIMIT ? "+" : ""} attempt${rows.length === 1 ? "" : "s"} (newest first)` : ""}</span>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </div>
      {load.state === "error" ? (
        <GoneState error={load.error} onGone={onGone} />
      ) : !rows ? (
        <div className="view-placeholder">
          <Spinner label="Reading attempts…" />
        </div>
      ) : rows.length === 0 ? (
        <Empty title="No attempts">{status ? "None with this status." : "This file holds no attempts."}</Empty>
      ) : (
        <div className="table-scroll">
          <table aria-busy={load.state === "loading"}>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Integration</th>
                <th scope="col">Session</th>
                <th scope="col">Trigger</th>
                <th scope="col">Try</th>
                <th scope="col">Status</th>
                <th scope="col">Category</th>
                <th scope="col">Took</th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((a) => (
                <tr key={a.attemptId}>
                  <td>
                    <LocalTime value={a.startedAt} />
                  </td>
                  <td>{a.integrationName}</td>
                  <td className="mono">{a.sessionId}</td>
                  <td>{a.trigger}</td>
                  <td>{a.attemptNumber}</td>
                  <td>
                    <span className={`badge ${a.status}`}>{a.status}</span>
                  </td>
                  <td>{a.category ?? "—"}</td>
                  <td>{formatMs(a.durationMs)}</td>
                  <td className="message-cell" title={a.message}>
                    {a.statusCode ? `${a.statusCode} ` : ""}
                    {a.message}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

export function StatsView({ id, onGone }: { id: string; onGone: () => void }) {
  const [load] = useLoad(() => client.historyFileStats(id), [id]);
  if (load.state === "error") return <GoneState error={load.error} onGone={onGone} />;
  const s = load.data;
  if (!s)
    return (
      <div className="view-placeholder">
        <Spinner label="Computing statistics…" />
      </div>
    );
  if (s.total === 0) return <Empty title="No attempts">There is nothing to count in this file.</Empty>;
  const cards: [string, string][] = [
    ["Attempts", String(s.total)],
    ["Succeeded", String(s.succeeded)],
    ["Failed", String(s.failed)],
    ["Success rate", formatRate(s.successRate)],
    ["Average", formatMs(s.avgMs)],
    ["p50 / p95", `${formatMs(s.p50Ms)} / ${formatMs(s.p95Ms)}`],
  ];
  const failures = Object.entries(s.failuresByCategory).filter(([, n]) => n > 0);
  return (
    <div>
      <div className="cards">
        {cards.map(([label, value]) => (
          <div className="card" key={label}>
            <div className="label">{label}</div>
            <div className="value">{value}</div>
          </div>
        ))}
      </div>
      <div className="hf-columns">
        <div className="card">
          <h2>Failures by category</h2>
          {failures.length === 0 ? (
            <p className="muted">No failures.</p>
          ) : (
            <table>
              <tbody>
                {failures.map(([c, n]) => (
                  <tr key={c}>
                    <th scope="row">{c}</th>
                    <td>{n}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        <div className="card">
          <h2>Most frequent errors</h2>
          {s.topErrors.length === 0 ? (
            <p className="muted">No errors.</p>
          ) : (
            <table>
              <tbody>
                {s.topErrors.map((e) => (
                  <tr key={`${e.category}-${e.message}`}>
                    <td className="message-cell" title={e.message}>
                      {e.message}
                    </td>
                    <td>{e.category ?? "—"}</td>
                    <td>{e.count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
      <p className="muted small">
        {s.since || s.until ? (
          <>
            From <LocalTime value={s.since} /> to <LocalTime value={s.until} />.{" "}
          </>
        ) : null}
        {s.exact ? "Exact, from every attempt." : "From rollups (percentiles approximate)."}
      </p>
    </div>
  );
}

export function AuditView({ id, onGone }: { id: string; onGone: () => void }) {
  const [load] = useLoad(() => client.historyFileAudit(id, LIMIT), [id]);
  if (load.state === "error") return <GoneState error={load.error} onGone={onGone} />;
  const rows = load.data;
  if (!rows)
    return (
      <div className="view-placeholder">
        <Spinner label="Reading the audit trail…" />
      </div>
    );
  if (rows.length === 0) return <Empty title="No audit entries">This file's audit trail is empty.</Empty>;
  return (
    <div className="table-scroll">
      <table>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Object</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((e) => (
            <tr key={e.id}>
              <td>
                <LocalTime value={e.at} />
              </td>
              <td>{e.actor}</td>
              <td className="mono">{e.action}</td>
              <td>{e.object ? (e.object.name ?? e.object.id) : "—"}</td>
              <td className="mono message-cell" title={detailsLine(e.details, 4000)}>
                {detailsLine(e.details)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

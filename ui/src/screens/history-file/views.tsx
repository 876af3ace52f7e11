/** The read-only summaries of an open history file: its statistics and its audit trail (its
 * handoffs and attempts are in Browse.tsx). */
import { client } from "../../api/client";
import { ConsoleError } from "../../api/errors";
import { Empty, ErrorState, LocalTime, Spinner, useLoad } from "../../components/state";
import { auditSummary, formatMs, formatRate } from "./format";

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
    ["Handoffs", String(s.handoffs.total)],
    ["Delivered", String(s.handoffs.delivered)],
    ["Undelivered", String(s.handoffs.undelivered)],
    ["In progress", String(s.handoffs.pending)],
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
  const [load] = useLoad(() => client.historyFileAudit(id, { limit: LIMIT }), [id]);
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
      <p className="muted small audit-note">
        {rows.length === LIMIT ? `The newest ${LIMIT} entries, newest first.` : `${rows.length} entries, newest first.`}
      </p>
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
              <td>{e.action}</td>
              <td>{e.object ? (e.object.name ?? e.object.id) : "—"}</td>
              <td className="audit-details">{auditSummary(e.action, e.details)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

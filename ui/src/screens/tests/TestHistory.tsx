import { useState } from "react";
import { client } from "../../api/client";
import type { AttemptSummary } from "../../api/types/AttemptSummary";
import { Empty, ErrorState, LocalTime, Spinner, useLoad } from "../../components/state";

/** The integration's recent tests (attempts with trigger `test`), newest first; a click shows
 * one's summary. */
export function TestHistory({ integrationId, round }: { integrationId: string; round: number }) {
  const [list, reload] = useLoad(
    () => client.history({ trigger: "test", integration: integrationId, limit: 20 }),
    [integrationId, round],
  );
  const [selected, setSelected] = useState<string | null>(null);
  let body;
  if (!list.data) {
    body = list.state === "error" ? <ErrorState error={list.error} onRetry={reload} /> : <Spinner label="Loading recent tests…" />;
  } else if (list.data.length === 0) {
    body = (
      <Empty title="No recorded tests yet">
        API runs and committed database tests are recorded here; previews and rolled-back database tests are not.
      </Empty>
    );
  } else {
    const chosen = list.data.find((a) => a.attemptId === selected) ?? null;
    body = (
      <>
        {list.state === "error" && <p className="field-error">Could not refresh: {list.error.message}</p>}
        <ul className="tp-history">
          {list.data.map((a) => (
            <li key={a.attemptId}>
              <button
                type="button"
                className="ghost tp-history-item"
                aria-pressed={a.attemptId === selected}
                onClick={() => setSelected(a.attemptId === selected ? null : a.attemptId)}
              >
                <span className={`badge ${a.status}`}>{a.status}</span>
                <LocalTime value={a.startedAt} />
                <span className="muted">{a.durationMs !== null ? `${a.durationMs} ms` : ""}</span>
              </button>
            </li>
          ))}
        </ul>
        {chosen && <Summary attempt={chosen} />}
      </>
    );
  }
  return (
    <section className="card tp-side" aria-labelledby="tp-history-title">
      <h2 id="tp-history-title">Recent tests</h2>
      {body}
    </section>
  );
}

function Summary({ attempt: a }: { attempt: AttemptSummary }) {
  return (
    <dl className="tp-summary" aria-label="Selected test">
      <dt>Status</dt>
      <dd>
        <span className={`badge ${a.status}`}>{a.status}</span> {a.category && <span className="badge err">{a.category}</span>}
      </dd>
      <dt>Started</dt>
      <dd>
        <LocalTime value={a.startedAt} />
      </dd>
      <dt>Response</dt>
      <dd>{a.statusCode ?? "—"}</dd>
      <dt>Duration</dt>
      <dd>{a.durationMs !== null ? `${a.durationMs} ms` : "—"}</dd>
      <dt>Message</dt>
      <dd className="tp-wrap">{a.message || "—"}</dd>
      <dt>Attempt</dt>
      <dd className="mono tp-wrap">{a.attemptId}</dd>
    </dl>
  );
}

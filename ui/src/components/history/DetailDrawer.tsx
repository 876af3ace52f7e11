/** One attempt in a drawer: its handoff's state, the request as sent, the response excerpt,
 * the error, the retry chain and the collected data (masked; "Reveal" shows the raw data after
 * a confirmation, and the console audits it). Escape closes; focus moves in on open and back on
 * close. A history file's drawer (`load`, `readOnly`) shows the same without reveal or retry. */
import { useEffect, useRef, useState } from "react";
import { client } from "../../api/client";
import { ConsoleError } from "../../api/errors";
import type { AttemptSummary } from "../../api/types/AttemptSummary";
import type { AttemptView } from "../../api/types/AttemptView";
import type { HandoffResult } from "../../api/types/HandoffResult";
import { navigate } from "../../router";
import { ErrorState, LocalTime, Spinner, useLoad } from "../state";
import { ConfirmDialog } from "../ConfirmDialog";
import { formatDuration } from "../format";
import "./history.css";

export function DetailDrawer(props: {
  attemptId: string;
  onClose: () => void;
  onOpen: (attemptId: string) => void;
  onRetried?: (r: HandoffResult) => void;
  /** Where the attempt comes from (default: the console's history). */
  load?: (attemptId: string) => Promise<AttemptView>;
  /** An exported history: nothing to retry or reveal (the file holds masked data only). */
  readOnly?: boolean;
}) {
  const { attemptId, onClose, readOnly = false } = props;
  const panel = useRef<HTMLElement>(null);
  const [view, reload] = useLoad(() => (props.load ?? ((id: string) => client.attemptView(id)))(attemptId), [attemptId]);
  const [revealed, setRevealed] = useState<{ id: string; data: Record<string, unknown> } | null>(null);
  const [confirmReveal, setConfirmReveal] = useState(false);
  const [action, setAction] = useState<{ busy: boolean; error?: ConsoleError; result?: HandoffResult }>({ busy: false });

  // Focus moves into the drawer, and back to what had it when the drawer closes.
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    panel.current?.focus();
    return () => before?.focus?.();
  }, []);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      // A confirmation dialog on top handles its own Escape.
      if (e.key === "Escape" && !document.querySelector("dialog[open]")) {
        e.preventDefault();
        onClose();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);

  const data = view.data;
  const a = data?.attempt;
  const raw = revealed && a && revealed.id === a.handoffId ? revealed.data : null;

  const reveal = async () => {
    if (!a) return;
    setAction({ busy: true });
    try {
      const r = await client.reveal(a.handoffId);
      setRevealed({ id: a.handoffId, data: r.data });
      setAction({ busy: false });
    } catch (e) {
      setAction({ busy: false, error: ConsoleError.from(e) });
    }
  };

  const retry = async () => {
    if (!a) return;
    setAction({ busy: true });
    try {
      const r = await client.retry({ attemptId: a.attemptId });
      if (!("attemptId" in r)) throw new ConsoleError({ kind: "internal", message: "unexpected answer to a retry" });
      setAction({ busy: false, result: r });
      props.onRetried?.(r);
      reload();
    } catch (e) {
      setAction({ busy: false, error: ConsoleError.from(e) });
    }
  };

  return (
    <div className="detail-backdrop" onClick={onClose}>
      <aside
        ref={panel}
        className="detail-drawer"
        role="dialog"
        aria-modal="true"
        aria-labelledby="drawer-title"
        tabIndex={-1}
        onClick={(e) => e.stopPropagation()}
        onKeyDown={(e) => {
          // Tab stays inside the drawer while it is open (it is modal).
          if (e.key !== "Tab" || !panel.current || document.querySelector("dialog[open]")) return;
          const focusable = panel.current.querySelectorAll<HTMLElement>(
            'a[href], button:not(:disabled), input:not(:disabled), select, textarea, [tabindex="0"]',
          );
          const first = focusable[0];
          const last = focusable[focusable.length - 1];
          if (!first || !last) return;
          if (e.shiftKey && (document.activeElement === first || document.activeElement === panel.current)) {
            e.preventDefault();
            last.focus();
          } else if (!e.shiftKey && document.activeElement === last) {
            e.preventDefault();
            first.focus();
          }
        }}
      >
        <header className="detail-head">
          <h2 id="drawer-title">Attempt {a ? `#${a.attemptNumber} · ${a.sessionId}` : ""}</h2>
          <button type="button" onClick={onClose} aria-label="Close (Escape)">
            Close
          </button>
        </header>
        {view.state === "error" && <ErrorState error={view.error} onRetry={reload} />}
        {!a && view.state === "loading" && <Spinner label="Loading the attempt…" />}
        {a && data && (
          <div className="detail-body">
            <p className={`handoff-state ${a.handoff.state}`} role="status">
              <strong>Handoff {HANDOFF_STATE_TEXT[a.handoff.state]}</strong>
              {" · "}
              {a.handoff.attempts} tr{a.handoff.attempts === 1 ? "y" : "ies"}
              {a.handoff.nextRetryAt && (
                <>
                  {" · next retry "}
                  <LocalTime value={a.handoff.nextRetryAt} />
                </>
              )}
            </p>
            <dl className="facts">
              <dt>This attempt</dt>
              <dd>
                <span className={`badge ${a.status}`}>{a.status}</span> #{a.attemptNumber} {a.automatic ? "(automatic retry)" : ""}
              </dd>
              <dt>Integration</dt>
              <dd>
                {readOnly ? (
                  a.integrationName
                ) : (
                  <a
                    href={`/stats/integrations/${encodeURIComponent(a.integrationId)}`}
                    onClick={(e) => {
                      e.preventDefault();
                      onClose();
                      navigate({ screen: "stats", integration: a.integrationId });
                    }}
                  >
                    {a.integrationName}
                  </a>
                )}
              </dd>
              <dt>Session</dt>
              <dd>
                {readOnly ? (
                  <span className="mono">{a.sessionId}</span>
                ) : (
                  <a
                    className="mono"
                    href={`/stats/sessions/${encodeURIComponent(a.sessionId)}`}
                    onClick={(e) => {
                      e.preventDefault();
                      onClose();
                      navigate({ screen: "stats", session: a.sessionId });
                    }}
                  >
                    {a.sessionId}
                  </a>
                )}
              </dd>
              <dt>Trigger</dt>
              <dd>{a.trigger}</dd>
              <dt>Started</dt>
              <dd>
                <LocalTime value={a.startedAt} />
              </dd>
              <dt>Finished</dt>
              <dd>
                <LocalTime value={a.finishedAt} />
              </dd>
              <dt>Duration</dt>
              <dd>{formatDuration(a.durationMs)}</dd>
              {a.submissionId && (
                <>
                  <dt>Submission</dt>
                  <dd className="mono">{a.submissionId}</dd>
                </>
              )}
              {a.nextRetryAt && (
                <>
                  <dt>Next retry</dt>
                  <dd>
                    <LocalTime value={a.nextRetryAt} />
                  </dd>
                </>
              )}
            </dl>

            {a.status === "failed" && (
              <section aria-labelledby="d-error">
                <h3 id="d-error">Error</h3>
                <p className="error-message">{a.message || "—"}</p>
                <p className="muted">
                  Category: {a.category ?? "—"} · Status code: {a.statusCode ?? "—"} ·{" "}
                  {a.retryable ? "worth retrying" : "not worth retrying as is"}
                </p>
              </section>
            )}

            {!readOnly && (
              <div className="row">
                {a.handoff.state === "undelivered" && (
                  <button type="button" className="primary" disabled={action.busy} onClick={retry}>
                    Retry this handoff
                  </button>
                )}
                {a.handoff.state === "delivered" && <span className="muted">Nothing to retry: the handoff was delivered.</span>}
                {a.handoff.state === "pending" && <span className="muted">An attempt is under way.</span>}
                {action.busy && <Spinner label="Working…" />}
              </div>
            )}
            {action.error && (
              <p className="field-error" role="alert">
                {action.error.message}
              </p>
            )}
            {action.result && (
              <p role="status" className={action.result.success ? "ok-text" : "field-error"}>
                Retry {action.result.success ? "delivered" : `failed: ${action.result.message}`} (attempt #
                {action.result.attemptNumber}, {formatDuration(action.result.durationMs)}).{" "}
                {action.result.recordError && <span className="field-error">{action.result.recordError.message} </span>}
                <button type="button" className="linkish" onClick={() => props.onOpen(action.result!.attemptId)}>
                  Open it
                </button>
              </p>
            )}

            <section aria-labelledby="d-data">
              <div className="row">
                <h3 id="d-data">Collected data {raw ? "(revealed)" : "(masked)"}</h3>
                {readOnly ? null : raw ? (
                  <button type="button" onClick={() => setRevealed(null)}>
                    Hide
                  </button>
                ) : (
                  <button type="button" className="danger" disabled={action.busy} onClick={() => setConfirmReveal(true)}>
                    Reveal…
                  </button>
                )}
              </div>
              <DataTable data={raw ?? data.maskedData} />
            </section>

            <section aria-labelledby="d-request">
              <h3 id="d-request">Request as sent</h3>
              <pre tabIndex={0}>{a.request === null ? "—" : JSON.stringify(a.request, null, 2)}</pre>
            </section>

            <section aria-labelledby="d-response">
              <h3 id="d-response">Response excerpt</h3>
              <pre tabIndex={0}>{a.responseExcerpt ?? "—"}</pre>
            </section>

            <section aria-labelledby="d-chain">
              <h3 id="d-chain">Retry chain</h3>
              <ol className="chain">
                {data.retryChain.map((c: AttemptSummary) => (
                  <li key={c.attemptId} aria-current={c.attemptId === a.attemptId ? "true" : undefined}>
                    <button type="button" className="linkish" onClick={() => props.onOpen(c.attemptId)}>
                      #{c.attemptNumber}
                    </button>{" "}
                    <span className={`badge ${c.status}`}>{c.status}</span> <LocalTime value={c.startedAt} />{" "}
                    <span className="muted">
                      {c.trigger}
                      {c.automatic ? " (automatic)" : ""} · {formatDuration(c.durationMs)}
                      {c.category ? ` · ${c.category}` : ""}
                    </span>
                  </li>
                ))}
              </ol>
            </section>
          </div>
        )}
        <ConfirmDialog
          open={confirmReveal}
          title="Reveal the raw data?"
          confirmLabel="Reveal"
          danger
          onConfirm={() => void reveal()}
          onClose={() => setConfirmReveal(false)}
        >
          <p>
            This shows the patient data this session collected, unmasked. The console records in its audit trail that you
            revealed it (which fields, not their values).
          </p>
        </ConfirmDialog>
      </aside>
    </div>
  );
}

const HANDOFF_STATE_TEXT = {
  delivered: "delivered",
  undelivered: "not delivered yet",
  pending: "in progress",
} as const;

function DataTable({ data }: { data: Record<string, unknown> | null | undefined }) {
  if (!data || typeof data !== "object") {
    return <p className="muted">No masked copy was kept for this handoff; reveal it to see the data.</p>;
  }
  const entries = Object.entries(data);
  if (!entries.length) return <p className="muted">No fields.</p>;
  return (
    <table className="data">
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td className="mono">{typeof v === "string" ? v : JSON.stringify(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

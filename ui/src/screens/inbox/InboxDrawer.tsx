/** One inbox message in a drawer: what became of it, its facts (source, mapping, integration,
 * the handoff it became), its body masked (values a mapping maps masked by their field's type,
 * every other value hidden as •••) and its header names; Reveal (audited, asked first) shows
 * the body and headers as received; Release, Reprocess and Ignore where they apply, each
 * showing the console's answer (a 409 says why it no longer applies). */
import { useEffect, useRef, useState } from "react";
import { client } from "../../api/client";
import { ConsoleError } from "../../api/errors";
import type { InboxItem } from "../../api/types/InboxItem";
import type { InboxRevealed } from "../../api/types/InboxRevealed";
import type { IntakeEndpoint } from "../../api/types/IntakeEndpoint";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ErrorState, LocalTime, Spinner, useLoad } from "../../components/state";
import { navigate } from "../../router";
import { STATUS_TEXT, actionsFor, hasHandoff, isHeld } from "./model";
import { StatusBadge } from "./status";
import "../../components/history/history.css";

type Action = "release" | "reprocess" | "ignore";

/** How the message came in (which intake route took it). */
const ENDPOINT_TEXT: Record<IntakeEndpoint, string> = {
  webhook: "a webhook, mapped by the source's mappings",
  handoff: "a handoff naming its integration",
  database: "a database handoff (the seed's route)",
  push: "a push naming its mapping",
};

const ACTION_TEXT: Record<Action, { label: string; done: (i: InboxItem) => string; when: string }> = {
  release: {
    label: "Release",
    done: (i) => `Released: its handoff is made and ${i.status === "delivered" ? "was delivered" : `is ${i.status}`}.`,
    when: "Delivers a message a manual mapping holds.",
  },
  reprocess: {
    label: "Reprocess",
    done: (i) => `Reprocessed with the mappings as they are now: ${i.status}${i.error ? ` (${i.error})` : ""}.`,
    when: "Maps it again with the mappings as they are now (a new handoff when its handoff failed).",
  },
  ignore: {
    label: "Ignore",
    done: () => "Ignored: nothing will be made of it.",
    when: "Marks it as needing nothing: no handoff is made.",
  },
};

function prettyBody(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export function InboxDrawer({
  id,
  integrationName,
  onClose,
  onChanged,
}: {
  id: string;
  /** An integration's name by id (for a message whose handoff is not made yet). */
  integrationName: (id: string) => string | undefined;
  onClose: () => void;
  onChanged: () => void;
}) {
  const panel = useRef<HTMLElement>(null);
  const [view, reload] = useLoad(() => client.inboxItem(id), [id]);
  const [revealed, setRevealed] = useState<InboxRevealed | null>(null);
  const [askReveal, setAskReveal] = useState(false);
  const [action, setAction] = useState<{ busy?: Action; error?: string; done?: string }>({});

  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    panel.current?.focus();
    return () => before?.focus?.();
  }, []);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape" && !document.querySelector("dialog[open]")) {
        e.preventDefault();
        onClose();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);

  const data = view.data;
  const item = data?.item;
  const can = item ? actionsFor(item) : { release: false, reprocess: false, ignore: false };
  const shownRaw = revealed && revealed.id === id ? revealed : null;

  const run = async (a: Action) => {
    setAction({ busy: a });
    try {
      const after =
        a === "release" ? await client.releaseInbox(id) : a === "reprocess" ? await client.reprocessInbox(id) : await client.ignoreInbox(id);
      setAction({ done: ACTION_TEXT[a].done(after) });
      reload();
      onChanged();
    } catch (e) {
      setAction({ error: ConsoleError.from(e).message });
      // The message may have changed under us: show it as it is now.
      reload();
    }
  };

  const reveal = async () => {
    const r = await client.revealInbox(id);
    setRevealed(r);
  };

  return (
    <div className="detail-backdrop" onClick={onClose}>
      <aside
        ref={panel}
        className="detail-drawer inbox-drawer"
        role="dialog"
        aria-modal="true"
        aria-labelledby="inbox-drawer-title"
        tabIndex={-1}
        onClick={(e) => e.stopPropagation()}
        onKeyDown={(e) => {
          // Tab stays inside the drawer while it is open (it is modal).
          if (e.key !== "Tab" || !panel.current || document.querySelector("dialog[open]")) return;
          const focusable = panel.current.querySelectorAll<HTMLElement>('a[href], button:not(:disabled), [tabindex="0"]');
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
          <h2 id="inbox-drawer-title">Message {item ? `from ${item.sourceName}` : ""}</h2>
          <button type="button" onClick={onClose} aria-label="Close (Escape)">
            Close
          </button>
        </header>
        {view.state === "error" && <ErrorState error={view.error} onRetry={reload} />}
        {!item && view.state === "loading" && <Spinner label="Loading the message…" />}
        {item && data && (
          <div className="detail-body">
            <p className={`inbox-state ${item.status}${isHeld(item) ? " held" : ""}`} role="status">
              <StatusBadge status={item.status} held={isHeld(item)} />{" "}
              {isHeld(item) ? "A manual mapping holds it: nothing is delivered until someone releases it." : capitalise(STATUS_TEXT[item.status].means) + "."}
            </p>
            <dl className="facts">
              <dt>Received</dt>
              <dd>
                <LocalTime value={item.receivedAt} />
              </dd>
              <dt>Source</dt>
              <dd>
                {item.sourceName} <span className="muted">({ENDPOINT_TEXT[item.endpoint]})</span>
              </dd>
              <dt>Message id</dt>
              <dd className="mono">{item.messageKey ?? "—"}</dd>
              <dt>Inbox id</dt>
              <dd className="mono">{item.id}</dd>
              <dt>Size</dt>
              <dd>{item.bodyBytes.toLocaleString()} bytes</dd>
              <dt>Mapping</dt>
              <dd>{item.mappingName ?? <span className="muted">{item.status === "ignored" ? "none took it" : "—"}</span>}</dd>
              <dt>Integration</dt>
              <dd>{item.integrationName ?? (item.integrationId ? integrationName(item.integrationId) : null) ?? <span className="muted">—</span>}</dd>
              <dt>Handoff</dt>
              <dd>
                {hasHandoff(item) && item.sessionId ? (
                  <a
                    className="mono"
                    href={`/stats/sessions/${encodeURIComponent(item.sessionId)}`}
                    onClick={(e) => {
                      e.preventDefault();
                      onClose();
                      navigate({ screen: "stats", session: item.sessionId! });
                    }}
                  >
                    {item.handoffId}
                  </a>
                ) : (
                  <span className="muted">{isHeld(item) ? "not made yet: waiting for release" : "none"}</span>
                )}
              </dd>
              {item.sessionId && (
                <>
                  <dt>Session</dt>
                  <dd className="mono">{item.sessionId}</dd>
                </>
              )}
              <dt>Last change</dt>
              <dd>
                <LocalTime value={item.updatedAt} />
              </dd>
            </dl>
            {item.error && (
              <section aria-labelledby="inbox-error">
                <h3 id="inbox-error">Why it failed</h3>
                <p className="error-message">{item.error}</p>
              </section>
            )}

            <section aria-labelledby="inbox-actions">
              <h3 id="inbox-actions">Actions</h3>
              <div className="row">
                {(["release", "reprocess", "ignore"] as const).map((a) => (
                  <button
                    key={a}
                    type="button"
                    className={a === "release" && can.release ? "primary" : undefined}
                    disabled={!can[a] || action.busy !== undefined}
                    title={ACTION_TEXT[a].when}
                    onClick={() => void run(a)}
                  >
                    {action.busy === a ? "Working…" : ACTION_TEXT[a].label}
                  </button>
                ))}
              </div>
              <p className="muted small">{actionHint(item)}</p>
              {action.error && (
                <p className="field-error" role="alert">
                  {action.error}
                </p>
              )}
              {action.done && (
                <p className="ok-text" role="status">
                  {action.done}
                </p>
              )}
            </section>

            <section aria-labelledby="inbox-body">
              <div className="row">
                <h3 id="inbox-body">Body {shownRaw ? "(revealed, as received)" : "(masked)"}</h3>
                {shownRaw ? (
                  <button type="button" onClick={() => setRevealed(null)}>
                    Hide
                  </button>
                ) : (
                  <button type="button" className="danger" onClick={() => setAskReveal(true)}>
                    Reveal…
                  </button>
                )}
              </div>
              {shownRaw ? (
                <pre tabIndex={0} className="inbox-body">{prettyBody(shownRaw.body)}</pre>
              ) : data.maskedBody === null ? (
                <p className="muted">The body is not JSON ({item.bodyBytes.toLocaleString()} bytes): reveal it to read it.</p>
              ) : (
                <>
                  <pre tabIndex={0} className="inbox-body">{JSON.stringify(data.maskedBody, null, 2)}</pre>
                  <p className="muted small">
                    ••• is a hidden value. Values a mapping maps show masked by their field's type; everything else stays
                    hidden until it is revealed.
                  </p>
                </>
              )}
            </section>

            <section aria-labelledby="inbox-headers">
              <h3 id="inbox-headers">Headers {shownRaw ? "(revealed)" : "kept"}</h3>
              {shownRaw ? (
                Object.keys(shownRaw.headers).length === 0 ? (
                  <p className="muted">None kept.</p>
                ) : (
                  <table className="data">
                    <tbody>
                      {Object.entries(shownRaw.headers).map(([k, v]) => (
                        <tr key={k}>
                          <th scope="row" className="mono">
                            {k}
                          </th>
                          <td className="mono">{v}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )
              ) : data.headerNames.length === 0 ? (
                <p className="muted">None kept.</p>
              ) : (
                <p className="mono header-names">{data.headerNames.join(", ")}</p>
              )}
              <p className="muted small">Credentials (signatures, keys, secrets) are never kept.</p>
            </section>
          </div>
        )}
        <ConfirmDialog
          open={askReveal}
          title="Reveal the message as received?"
          confirmLabel="Reveal"
          danger
          onConfirm={reveal}
          onClose={() => setAskReveal(false)}
        >
          <p>
            This shows the message's body and headers unmasked: the patient data the sender sent. The console records in its
            audit trail that you revealed it (who and when, not the values).
          </p>
        </ConfirmDialog>
      </aside>
    </div>
  );
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Why the actions are as they are, in one line. */
function actionHint(item: InboxItem): string {
  if (isHeld(item)) return "Release delivers it now; Reprocess maps it again first; Ignore drops it.";
  if (item.status === "delivered") return "Delivered: nothing to do.";
  if (item.status === "mapped") return "Its handoff is on its way (or waiting for an automatic retry): see it in Stats.";
  if (item.status === "failed" && hasHandoff(item)) return "Its handoff failed with no retry left: Reprocess makes a new handoff with the mappings as they are now.";
  if (item.status === "ignored") return "No mapping took it. After adding one, Reprocess maps it.";
  if (item.status === "failed") return "It could not be mapped. Fix the mapping, then Reprocess; or Ignore it.";
  return "Not mapped yet (it normally is within a second): Reprocess maps it now; Ignore drops it.";
}

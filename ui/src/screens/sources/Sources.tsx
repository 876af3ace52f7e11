/** The Sources screen: the systems that push data in (EHR bridges, voice platforms), each with
 * the endpoint to give its sender, how it proves its messages, whether it is receiving, its
 * rate and the integrations it may name; adding one (its secret shown once), editing,
 * enabling or disabling, rotating its secret, removing it, and a signed test event. */
import { useState } from "react";
import { client } from "../../api/client";
import { ConsoleError } from "../../api/errors";
import type { ConsoleInfo } from "../../api/types/ConsoleInfo";
import type { Integration } from "../../api/types/Integration";
import type { ListenerStatus } from "../../api/types/ListenerStatus";
import type { Source } from "../../api/types/Source";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { CopyButton } from "../../components/CopyButton";
import { Empty, ErrorState, LocalTime, Spinner, useLoad } from "../../components/state";
import { navigate } from "../../router";
import { ListenerPanel } from "./ListenerPanel";
import { SecretDialog, type ShownSecret } from "./SecretDialog";
import { SourceEditor } from "./SourceEditor";
import { TestEventDialog } from "./TestEventDialog";
import { endpointOf, kindLabel, verificationSummary } from "./form";
import "./sources.css";

interface Loaded {
  sources: Source[];
  integrations: Integration[];
  info: ConsoleInfo | null;
  /** The intake listener's setting and address; null when it could not be read. */
  listener: ListenerStatus | null;
  /** How many mappings each source has (by source id); null when they could not be read. */
  mappings: Map<string, number> | null;
}

async function loadAll(): Promise<Loaded> {
  const [sources, integrations, info, listener, mappings] = await Promise.all([
    client.sources(),
    client.integrations(),
    // Without these the endpoint shows as a path; the list still shows.
    client.info().catch(() => null),
    client.intakeListener().catch(() => null),
    client.mappings().catch(() => null),
  ]);
  const counts = mappings && new Map<string, number>();
  for (const m of mappings ?? []) counts?.set(m.sourceId, (counts.get(m.sourceId) ?? 0) + 1);
  return { sources, integrations, info, listener, mappings: counts };
}

type Rotating = { source: Source; hours: string; secret: string; own: boolean };

export function Sources() {
  const [loaded, reload] = useLoad(loadAll, []);
  const [editor, setEditor] = useState<{ editing?: Source } | null>(null);
  // The secret to show once: only here, and only until its dialog closes.
  const [secret, setSecret] = useState<ShownSecret | null>(null);
  const [rotating, setRotating] = useState<Rotating | null>(null);
  const [removing, setRemoving] = useState<Source | null>(null);
  const [testing, setTesting] = useState<Source | null>(null);
  const [notice, setNotice] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const data = loaded.data;
  const intakeUrl = data?.listener ? data.listener.url : (data?.info?.intakeUrl ?? null);
  const names = new Map((data?.integrations ?? []).map((i) => [i.id, i.name]));

  const toggle = async (s: Source) => {
    setBusy(s.id);
    setNotice(null);
    try {
      const saved = await client.updateSource(s.id, { enabled: !s.enabled });
      setNotice({ ok: true, text: `${saved.displayName} is ${saved.enabled ? "enabled: its messages are taken" : "disabled: its messages are refused (403)"}.` });
      reload();
    } catch (e) {
      setNotice({ ok: false, text: ConsoleError.from(e).message });
    } finally {
      setBusy(null);
    }
  };

  const rotate = async (r: Rotating) => {
    const text = r.hours.trim();
    const hours = Number(text);
    if (!/^\d+$/.test(text)) {
      throw new ConsoleError({ kind: "invalid", field: "keepPreviousHours", message: "Keep the old secret: a whole number of hours, 0 to 720." });
    }
    const made = await client.rotateSourceSecret(r.source.id, {
      keepPreviousHours: hours,
      ...(r.own && r.secret ? { secret: r.secret } : {}),
    });
    setSecret({
      why: "rotated",
      sourceName: made.source.displayName,
      verification: made.source.verification,
      secret: made.secret,
      endpoint: endpointOf(intakeUrl, made.source.name),
      previousUntil: made.source.previousSecretUntil,
    });
    reload();
  };

  return (
    <section className="screen sources-screen" aria-labelledby="sources-title">
      <div className="screen-head">
        <h1 id="sources-title">Sources</h1>
        <button type="button" className="primary" onClick={() => setEditor({})} disabled={!data}>
          Add source
        </button>
      </div>
      <p className="screen-intro muted">
        A source is a system that sends data in: an EHR or practice-management bridge, or a voice platform. Each posts to its
        own endpoint and proves every message with its secret.
      </p>

      {data &&
        (data.listener ? (
          <ListenerPanel
            key={`${data.listener.url}|${data.listener.appliesNow}`}
            status={data.listener}
            onChanged={(_, note) => {
              setNotice({ ok: true, text: note });
              reload();
            }}
          />
        ) : (
          <ListenerNote info={data.info} />
        ))}

      {notice && (
        <p className={notice.ok ? "notice" : "notice bad"} role={notice.ok ? "status" : "alert"}>
          {notice.text}
        </p>
      )}

      {loaded.state === "error" && !data ? (
        <ErrorState error={loaded.error} onRetry={reload} />
      ) : !data ? (
        <Spinner label="Loading sources…" />
      ) : data.sources.length === 0 ? (
        <Empty title="No sources yet">
          <p>Add the system that will send data in (its IT or vendor will need the endpoint and the secret shown once).</p>
          <button type="button" className="primary" onClick={() => setEditor({})}>
            Add a source
          </button>
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="sources-table" aria-busy={loaded.state === "loading"}>
            <thead>
              <tr>
                <th scope="col">Source and endpoint</th>
                <th scope="col">Verification</th>
                <th scope="col">Receiving</th>
                <th scope="col">May name</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {data.sources.map((s) => {
                const endpoint = endpointOf(intakeUrl, s.name);
                return (
                  <tr key={s.id} className={s.enabled ? undefined : "disabled"}>
                    <td className="source-cell">
                      <span className="name">{s.displayName}</span>
                      {s.displayName !== s.name && <span className="muted small"> ({s.name})</span>}
                      <div className="muted small">{kindLabel(s.kind)}</div>
                      <div className="endpoint small">
                        <code>{endpoint}</code> <CopyButton text={endpoint} label={`Copy the endpoint of ${s.displayName}`} />
                      </div>
                      {s.kind === "voice" && (
                        <div className="muted small">
                          Naming the integration itself: <code>{endpoint}/handoffs</code>
                        </div>
                      )}
                      {data.mappings && !data.mappings.get(s.id) && (
                        <div className="small warn-text">No mapping yet: its messages are kept in the Inbox as ignored.</div>
                      )}
                      <div className="small source-links">
                        <a
                          href={`/mappings/${encodeURIComponent(s.name)}`}
                          onClick={(e) => {
                            e.preventDefault();
                            navigate({ screen: "mappings", source: s.name });
                          }}
                        >
                          Mappings{data.mappings ? ` (${data.mappings.get(s.id) ?? 0})` : ""}
                        </a>
                        <a
                          href={`/inbox/${encodeURIComponent(s.name)}`}
                          onClick={(e) => {
                            e.preventDefault();
                            navigate({ screen: "inbox", source: s.name });
                          }}
                        >
                          Inbox
                        </a>
                      </div>
                    </td>
                    <td className="wrap">
                      {verificationSummary(s.verification)}
                      {s.previousSecretUntil && new Date(s.previousSecretUntil) > new Date() && (
                        <div className="muted small">
                          Previous secret accepted until <LocalTime value={s.previousSecretUntil} />
                        </div>
                      )}
                    </td>
                    <td>
                      <span className={`badge ${s.enabled ? "ok" : "err"}`}>{s.enabled ? "enabled" : "disabled"}</span>
                      <div className="muted small">{s.ratePerMinute.toLocaleString()} / min</div>
                    </td>
                    <td className="wrap">
                      {s.integrations.length === 0 ? (
                        <span className="muted">none</span>
                      ) : (
                        <ul className="plain-list">
                          {s.integrations.map((id) => (
                            <li key={id}>{names.get(id) ?? <span className="muted">a removed integration</span>}</li>
                          ))}
                        </ul>
                      )}
                    </td>
                    <td>
                      <div className="row-actions source-actions">
                        <button type="button" onClick={() => setTesting(s)} aria-label={`Send a signed test event through ${s.displayName}`}>
                          Send test event
                        </button>
                        <button type="button" onClick={() => setEditor({ editing: s })} aria-label={`Edit ${s.displayName}`}>
                          Edit
                        </button>
                        <button type="button" disabled={busy === s.id} onClick={() => void toggle(s)} aria-label={`${s.enabled ? "Disable" : "Enable"} ${s.displayName}`}>
                          {s.enabled ? "Disable" : "Enable"}
                        </button>
                        <button
                          type="button"
                          onClick={() => setRotating({ source: s, hours: "24", secret: "", own: false })}
                          aria-label={`Rotate the secret of ${s.displayName}`}
                        >
                          Rotate secret
                        </button>
                        <button type="button" className="danger" onClick={() => setRemoving(s)} aria-label={`Remove ${s.displayName}`}>
                          Remove
                        </button>
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      {editor && data && (
        <SourceEditor
          key={editor.editing?.id ?? "new"}
          editing={editor.editing}
          integrations={data.integrations}
          intakeUrl={intakeUrl}
          onClose={() => setEditor(null)}
          onAdded={(added) => {
            setEditor(null);
            setSecret({
              why: "made",
              sourceName: added.source.displayName,
              verification: added.source.verification,
              secret: added.secret,
              endpoint: endpointOf(intakeUrl, added.source.name),
            });
            setNotice({ ok: true, text: `Added ${added.source.displayName}.` });
            reload();
          }}
          onSaved={(saved) => {
            setEditor(null);
            setNotice({ ok: true, text: `Saved ${saved.displayName}.` });
            reload();
          }}
        />
      )}

      {secret && <SecretDialog shown={secret} onClose={() => setSecret(null)} />}

      {testing && <TestEventDialog source={testing} onClose={() => setTesting(null)} />}

      {rotating && (
        <ConfirmDialog
          title={`Rotate the secret of ${rotating.source.displayName}?`}
          confirmLabel="Rotate secret"
          danger
          onClose={() => setRotating(null)}
          onConfirm={() => rotate(rotating)}
        >
          <p>
            The console makes a new secret and shows it once. The sender must be given it; until it switches, its messages
            are accepted with the old secret for the hours below.
          </p>
          <div className="field">
            <label htmlFor="rotate-hours">Keep accepting the old secret for (hours)</label>
            <input
              id="rotate-hours"
              inputMode="numeric"
              value={rotating.hours}
              onChange={(e) => setRotating({ ...rotating, hours: e.target.value })}
            />
            <p className="field-hint">0 to 720; 0 stops the old secret at once.</p>
          </div>
          <label className="check">
            <input type="checkbox" checked={rotating.own} onChange={(e) => setRotating({ ...rotating, own: e.target.checked })} /> The
            sender made its own new secret
          </label>
          {rotating.own && (
            <div className="field">
              <label htmlFor="rotate-secret">The sender's new secret</label>
              <input
                id="rotate-secret"
                type="password"
                autoComplete="new-password"
                value={rotating.secret}
                onChange={(e) => setRotating({ ...rotating, secret: e.target.value })}
              />
            </div>
          )}
        </ConfirmDialog>
      )}

      {removing && (
        <ConfirmDialog
          title={`Remove ${removing.displayName}?`}
          confirmLabel="Remove"
          danger
          onClose={() => setRemoving(null)}
          onConfirm={async () => {
            await client.removeSource(removing.id);
            setNotice({ ok: true, text: `Removed ${removing.displayName}. Its messages stay in the Inbox.` });
            reload();
          }}
        >
          <p>
            Its endpoint stops answering and its secrets are deleted, so the sender's messages are refused from now on. Its
            messages already received stay in the Inbox; its mappings are removed with it.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}

/** Where senders reach this console, or why they cannot yet, when the listener's setting
 * cannot be read here (then only IT can turn it on). */
function ListenerNote({ info }: { info: ConsoleInfo | null }) {
  if (!info) return null;
  if (info.intakeUrl) {
    return (
      <p className="listener on" role="note">
        <span className="badge ok">Listening</span> Senders post to <code>{info.intakeUrl}&lt;source name&gt;</code>: give each
        sender its endpoint below.
      </p>
    );
  }
  return (
    <div className="listener off" role="note">
      <p>
        <span className="badge warn">Intake listener off</span> This console is not listening for senders, so no source can
        deliver yet. You can still add sources, mappings and send test events.
      </p>
      <p className="muted">
        For IT: start the console's server with its intake listener on, e.g. <code>serve --intake-bind 127.0.0.1:7879</code>{" "}
        (a loopback address; for senders on other machines, a certificate with <code>--tls-cert</code> and{" "}
        <code>--tls-key</code>, or a TLS proxy in front).
      </p>
    </div>
  );
}

/** The Integrations screen: every integration with its last health status, kind and target,
 * and its actions (edit, test, stats, remove); the editor drawer (`/integrations/<id>` opens an
 * integration's); on first run, the demo workspace, which is labelled and removable at once. */
import { useMemo, useState } from "react";
import { client } from "../../api/client";
import { ConsoleError } from "../../api/errors";
import type { DeliverySummary } from "../../api/types/DeliverySummary";
import type { Integration } from "../../api/types/Integration";
import type { LastHealth } from "../../api/types/LastHealth";
import type { TargetKind } from "../../api/types/TargetKind";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { Empty, ErrorState, Spinner, formatLocal, formatShort, useLoad } from "../../components/state";
import { navigate, useRoute } from "../../router";
import { healthDot, targetSummary, type Dot } from "./form";
import { IntegrationEditor } from "./IntegrationEditor";
import "./integrations.css";

interface Loaded {
  integrations: Integration[];
  health?: LastHealth;
  deliveries: Map<string, DeliverySummary>;
  demo: Set<string>;
}

/** The window the list's failure rate covers. */
const RATE_WINDOW = "24h";

/** Problems first: error, warning, never checked, healthy. */
const DOT_RANK: Record<Dot, number> = { error: 0, warning: 1, unknown: 2, healthy: 3 };

type StatusFilter = "" | "problems" | Dot;

const DOT_LABEL: Record<Dot, string> = {
  healthy: "Healthy",
  warning: "Warning",
  error: "Error",
  unknown: "Not checked yet",
};

async function loadAll(): Promise<Loaded> {
  // Health and the demo list only decorate the list: their failure does not hide it.
  const [integrations, health, deliveries, demo] = await Promise.all([
    client.integrations(),
    client.lastHealth().catch(() => undefined),
    client.deliveries({ window: RATE_WINDOW }).catch(() => [] as DeliverySummary[]),
    client.demoIntegrations().catch(() => ({ integrations: [] as string[] })),
  ]);
  return {
    integrations,
    health,
    deliveries: new Map(deliveries.map((d) => [d.integrationId, d])),
    demo: new Set(demo.integrations),
  };
}

export function Integrations() {
  const route = useRoute();
  const [loaded, reload] = useLoad(loadAll, []);
  const [adding, setAdding] = useState<TargetKind | null>(null);
  const [removing, setRemoving] = useState<Integration | null>(null);
  const [removingDemo, setRemovingDemo] = useState(false);
  const [creatingDemo, setCreatingDemo] = useState(false);
  const [notice, setNotice] = useState("");
  const [demoError, setDemoError] = useState("");
  const [sending, setSending] = useState(false);
  const [samples, setSamples] = useState<{ ok: boolean; text: string } | null>(null);
  const [text, setText] = useState("");
  const [statusFilter, setStatusFilter] = useState<StatusFilter>("");

  const data = loaded.data;
  // Problems first, then by name; narrowed by the search and the status filter.
  const rows = useMemo(() => {
    if (!data) return [];
    const needle = text.trim().toLowerCase();
    return data.integrations
      .map((i) => ({ integration: i, dot: healthDot(data.health, i.id) }))
      .filter(({ integration: i, dot }) => {
        if (needle && !`${i.name} ${targetSummary(i.config)}`.toLowerCase().includes(needle)) return false;
        if (statusFilter === "problems") return dot === "error" || dot === "warning";
        return statusFilter === "" || statusFilter === dot;
      })
      .sort(
        (a, b) =>
          DOT_RANK[a.dot] - DOT_RANK[b.dot] ||
          a.integration.name.localeCompare(b.integration.name, undefined, { sensitivity: "base" }),
      );
  }, [data, text, statusFilter]);
  const editId = route.screen === "integrations" ? route.id : undefined;
  const editing = editId ? data?.integrations.find((i) => i.id === editId || i.name === editId) : undefined;

  const createDemo = async () => {
    setCreatingDemo(true);
    setDemoError("");
    try {
      const made = await client.createDemo();
      setNotice(`Demo workspace ready: ${made.map((i) => i.name).join(", ")}.`);
      reload();
    } catch (e) {
      setDemoError(e instanceof Error ? e.message : String(e));
    } finally {
      setCreatingDemo(false);
    }
  };

  // One realistic handoff to each demo integration: the database delivers, the offline API
  // fails and gets an automatic retry, so Stats has a delivery, a failure and a retry to show.
  const sendSamples = async () => {
    setSending(true);
    setSamples(null);
    try {
      const r = await client.sendDemoSamples();
      const parts = r.results.map(({ integrationName, result, error }) =>
        !result
          ? `${integrationName}: not sent (${error?.message ?? "unknown error"})`
          : result.success
            ? `${integrationName}: delivered`
            : `${integrationName}: failed (${result.category ?? "error"})${result.nextRetryAt ? ", a retry is scheduled" : ""}`,
      );
      setSamples({ ok: true, text: `Sent ${r.results.length} sample handoff${r.results.length === 1 ? "" : "s"}. ${parts.join("; ")}.` });
      reload();
    } catch (e) {
      setSamples({ ok: false, text: ConsoleError.from(e).message });
    } finally {
      setSending(false);
    }
  };

  const closeEditor = () => {
    setAdding(null);
    if (editId) navigate({ screen: "integrations" });
  };

  return (
    <section className="screen integrations-screen" aria-labelledby="integrations-title">
      <div className="screen-head">
        <h1 id="integrations-title">Integrations</h1>
        <button type="button" className="primary" onClick={() => setAdding("api")}>
          Add API integration
        </button>
        <button type="button" onClick={() => setAdding("database")}>
          Add database integration
        </button>
      </div>
      <p className="notice" role="status">
        {notice}
      </p>

      {data && data.demo.size > 0 && (
        <div className="demo-banner">
          <span className="demo-text">
            <span className="badge demo">Demo</span> The demo workspace is set up: a local SQLite clinic database and an
            offline EMR API, to try sends, failures and retries.
          </span>
          <span className="row">
            <button type="button" className="primary" onClick={sendSamples} disabled={sending}>
              {sending ? "Sending…" : "Send sample handoffs"}
            </button>
            <button type="button" className="danger" onClick={() => setRemovingDemo(true)}>
              Remove the demo
            </button>
          </span>
          {samples && (
            <p className={samples.ok ? "demo-result" : "demo-result field-error"} role={samples.ok ? "status" : "alert"}>
              {samples.text}{" "}
              {samples.ok && (
                <button type="button" className="linkish" onClick={() => navigate({ screen: "stats" })}>
                  See them in Stats
                </button>
              )}
            </p>
          )}
        </div>
      )}

      {loaded.state === "error" && !data ? (
        <ErrorState error={loaded.error} onRetry={reload} />
      ) : !data ? (
        <div className="list-placeholder">
          <Spinner label="Loading integrations…" />
        </div>
      ) : data.integrations.length === 0 ? (
        <Empty title="No integrations yet">
          <p>
            An integration delivers what a voice agent collects to a REST API or a database table. Try the demo workspace
            first (nothing external needed), or add your own.
          </p>
          <div className="row">
            <button type="button" className="primary" onClick={createDemo} disabled={creatingDemo}>
              {creatingDemo ? "Creating the demo…" : "Create the demo workspace"}
            </button>
            <button type="button" onClick={() => setAdding("api")}>
              Add an integration
            </button>
          </div>
          {demoError && (
            <p className="field-error" role="alert">
              {demoError}
            </p>
          )}
        </Empty>
      ) : (
        <>
          {loaded.state === "error" && <ErrorState error={loaded.error} onRetry={reload} />}
          <form className="row list-filters" role="search" aria-label="Filter the integrations" onSubmit={(e) => e.preventDefault()}>
            <div className="field">
              <label htmlFor="if-text">Search</label>
              <input
                id="if-text"
                type="search"
                placeholder="Name or target"
                maxLength={200}
                value={text}
                onChange={(e) => setText(e.target.value)}
              />
            </div>
            <div className="field">
              <label htmlFor="if-status">Status</label>
              <select id="if-status" value={statusFilter} onChange={(e) => setStatusFilter(e.target.value as StatusFilter)}>
                <option value="">All</option>
                <option value="problems">Problems (error or warning)</option>
                <option value="error">Error</option>
                <option value="warning">Warning</option>
                <option value="healthy">Healthy</option>
                <option value="unknown">Not checked yet</option>
              </select>
            </div>
            <span className="muted" aria-live="polite">
              {rows.length === data.integrations.length
                ? `${rows.length} integration${rows.length === 1 ? "" : "s"}, problems first`
                : `${rows.length} of ${data.integrations.length} integrations shown`}
            </span>
          </form>
          <div className="table-wrap">
            <table className="integrations-table" aria-busy={loaded.state === "loading"}>
              <thead>
                <tr>
                  <th scope="col">Status</th>
                  <th scope="col">Integration</th>
                  <th scope="col">Last delivery</th>
                  <th scope="col">Failed ({RATE_WINDOW})</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.length === 0 && (
                  <tr>
                    <td colSpan={5} className="muted">
                      No integration matches the search and the status filter.
                    </td>
                  </tr>
                )}
                {rows.map(({ integration: i, dot }) => {
                  const checkedAt = data.health?.integrations.find((h) => h.id === i.id)?.checkedAt;
                  const dotTitle = checkedAt ? `${DOT_LABEL[dot]} (checked ${formatLocal(new Date(checkedAt))})` : DOT_LABEL[dot];
                  return (
                    <tr key={i.id}>
                      <td>
                        <span className="status-cell" title={dotTitle}>
                          <span className={`dot ${dot}`} aria-hidden="true" />
                          <span className="sr-only">{dotTitle}</span>
                        </span>
                      </td>
                      <td className="name-cell">
                        <span className="name">{i.name}</span>{" "}
                        {data.demo.has(i.id) && <span className="badge demo">Demo</span>}
                        <div className="muted small target-line" title={targetSummary(i.config)}>
                          {i.kind === "api" ? "API" : "Database"} · <span className="mono">{targetSummary(i.config)}</span>
                        </div>
                        {i.config.description && <div className="muted small">{i.config.description}</div>}
                      </td>
                      <td>
                        <LastDelivery summary={data.deliveries.get(i.id)} />
                      </td>
                      <td className="num">
                        <FailureRate summary={data.deliveries.get(i.id)} />
                      </td>
                      <td>
                        <div className="row-actions">
                          <button type="button" onClick={() => navigate({ screen: "integrations", id: i.id })} aria-label={`Edit ${i.name}`}>
                            Edit
                          </button>
                          <button type="button" onClick={() => navigate({ screen: "tests", integration: i.id })} aria-label={`Test ${i.name}`}>
                            Test
                          </button>
                          <button type="button" onClick={() => navigate({ screen: "stats", integration: i.id })} aria-label={`Stats of ${i.name}`}>
                            Stats
                          </button>
                          <button type="button" className="danger" onClick={() => setRemoving(i)} aria-label={`Remove ${i.name}`}>
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
        </>
      )}

      {editId && data && !editing && (
        <ErrorState
          error={new ConsoleError({ kind: "notFound", message: `There is no integration '${editId}' (it may have been removed).` })}
          onRetry={() => navigate({ screen: "integrations" })}
        />
      )}

      {(adding || editing) && (
        <IntegrationEditor
          key={editing?.id ?? `new-${adding}`}
          editing={editing}
          kind={adding ?? undefined}
          onClose={closeEditor}
          onSaved={(saved) => {
            setNotice(`Saved ${saved.name}.`);
            closeEditor();
            reload();
          }}
        />
      )}

      {removing && (
        <ConfirmDialog
          title={`Remove ${removing.name}?`}
          confirmLabel="Remove"
          danger
          onClose={() => setRemoving(null)}
          onConfirm={async () => {
            await client.removeIntegration(removing.id);
            setNotice(`Removed ${removing.name}. Its history is kept.`);
            reload();
          }}
        >
          <p>Its secrets are deleted. Its delivery history and audit trail are kept.</p>
        </ConfirmDialog>
      )}

      {removingDemo && (
        <ConfirmDialog
          title="Remove the demo workspace?"
          confirmLabel="Remove the demo"
          danger
          onClose={() => setRemovingDemo(false)}
          onConfirm={async () => {
            const r = await client.removeDemo();
            setNotice(
              `Removed the demo (${r.removed.length} integration${r.removed.length === 1 ? "" : "s"}${
                r.databaseDeleted ? " and its SQLite file" : ""
              }). Its history is kept.`,
            );
            reload();
          }}
        >
          <p>Removes the demo integrations and the demo's SQLite file. Your own integrations are not touched; history is kept.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

/** When the last delivery was and how it went (live handoffs and their retries, not tests). */
function LastDelivery({ summary }: { summary: DeliverySummary | undefined }) {
  const last = summary?.lastDelivery;
  if (!last) return <span className="muted">none yet</span>;
  const ok = last.status === "succeeded";
  const why = ok ? "delivered" : [last.category, last.statusCode, last.message].filter((x) => x !== null && x !== "").join(" · ");
  return (
    <span className="last-delivery" title={`${formatLocal(new Date(last.at))}: ${why}`}>
      <span className={`badge ${ok ? "succeeded" : "failed"}`}>{ok ? "delivered" : "failed"}</span>{" "}
      <time dateTime={last.at}>{formatShort(new Date(last.at))}</time>
      {!ok && (
        <span className="last-failure">
          {[last.category, last.message.startsWith(String(last.statusCode)) ? null : last.statusCode]
            .filter((x) => x !== null)
            .join(" · ")}
          {last.message ? `: ${last.message}` : ""}
        </span>
      )}
    </span>
  );
}

/** Failed deliveries over the window, as "3 of 41 (7%)". */
function FailureRate({ summary }: { summary: DeliverySummary | undefined }) {
  const w = summary?.window;
  if (!w || w.deliveries === 0) return <span className="muted">—</span>;
  const rate = w.failureRate ?? 0;
  // A failure is never rounded away: 1 of 300 is "<1%", not "0%".
  const pct = rate > 0 && rate < 0.01 ? "<1" : String(Math.round(rate * 100));
  return (
    <span className={w.failed > 0 ? "rate bad" : "rate"} title={`${w.failed} of ${w.deliveries} deliveries failed since ${formatLocal(new Date(w.since))}`}>
      {w.failed} of {w.deliveries} ({pct}%)
    </span>
  );
}

import type { TestReport } from "../../api/types/TestReport";
import type { JsonValue } from "../../api/types/serde_json/JsonValue";
import { Json, KeyValues, asObject, text } from "./json";

/** What a test says: the verdict, what was (or would be) sent, what came back, each
 * expectation, and for databases the row as stored and whether it was kept. */
export function ReportView({ report }: { report: TestReport }) {
  const o = report.outcome;
  const preview = report.mode === "preview";
  const isDb = report.kind === "database";
  const verdict = preview
    ? o.success
      ? "Preview built"
      : "Preview could not be built"
    : o.success
      ? "Test passed"
      : "Test failed";
  return (
    <section className="card tp-report" aria-labelledby="tp-report-title" aria-live="polite">
      <header className="row tp-report-head">
        <h2 id="tp-report-title">{verdict}</h2>
        <span className={`badge ${o.success ? "ok" : "err"}`}>{o.success ? "success" : (o.category ?? "failed")}</span>
        <span className="badge demo">{preview ? "preview: nothing sent" : "run"}</span>
        {isDb && !preview && o.committed !== null && (
          <span className={`badge ${o.committed ? "warn" : "ok"}`}>
            {o.committed ? "committed: the row was kept" : "rolled back: nothing was kept"}
          </span>
        )}
      </header>
      {o.message && <p className="tp-message">{o.message}</p>}
      {!preview && <Timings report={report} />}

      {o.expectations.length > 0 && (
        <div className="tp-block">
          <h3>Expectations</h3>
          <ul className="tp-expectations">
            {o.expectations.map((e) => (
              <li key={e.name} className={e.passed ? "passed" : "failed"}>
                <span className={`badge ${e.passed ? "ok" : "err"}`}>{e.passed ? "passed" : "failed"}</span>{" "}
                <strong>{e.name}</strong> — {e.reason}
              </li>
            ))}
          </ul>
        </div>
      )}

      {isDb && !preview && (
        <div className="tp-block">
          <h3>Row as stored</h3>
          {o.row ? (
            <table className="tp-table">
              <thead>
                <tr>
                  <th scope="col">Column</th>
                  <th scope="col">Type</th>
                  <th scope="col">Value</th>
                </tr>
              </thead>
              <tbody>
                {o.row.map((c) => (
                  <tr key={c.column}>
                    <td>{c.column}</td>
                    <td className="muted">{c.type}</td>
                    <td className="mono tp-wrap">{c.value === null ? <span className="muted">NULL</span> : text(c.value)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="muted">{o.rowNote ?? "No row was read back."}</p>
          )}
        </div>
      )}

      <div className="tp-block">
        <h3>{preview ? "Would send" : "Sent"}</h3>
        <RequestView request={report.request} isDb={isDb} />
      </div>

      {!isDb && !preview && (o.statusCode !== null || o.body !== null) && (
        <div className="tp-block">
          <h3>Response {o.statusCode !== null && <span className="mono">{o.statusCode}</span>}</h3>
          {o.headers && (
            <details>
              <summary>Headers</summary>
              <KeyValues entries={o.headers} caption="Response headers" />
            </details>
          )}
          {o.body !== null ? <Json value={o.body} label="Response body" /> : <p className="muted">No body.</p>}
        </div>
      )}

      <details className="tp-block">
        <summary>Test data used{report.seed !== null ? ` (seed ${report.seed})` : " (custom)"}</summary>
        <Json value={report.data} label="Test data" />
      </details>
      {o.attemptId && (
        <p className="muted">
          Recorded as attempt <span className="mono">{o.attemptId}</span> (trigger test).
        </p>
      )}
    </section>
  );
}

function Timings({ report }: { report: TestReport }) {
  const o = report.outcome;
  const total = o.totalMs ?? 0;
  const items: [string, number | null][] = [
    ["Connect", o.connectMs],
    ["First byte", o.firstByteMs],
    ["Total", o.totalMs],
  ];
  const shown = report.kind === "api" ? items : items.slice(2);
  return (
    <div className="tp-block">
      <h3>Timings</h3>
      <dl className="tp-timings">
        {shown.map(([label, v]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd>
              <span className="mono">{v === null ? "—" : `${v} ms`}</span>
              <span className="tp-bar" aria-hidden="true">
                <span style={{ width: `${v === null || total === 0 ? 0 : Math.min(100, (100 * v) / total)}%` }} />
              </span>
            </dd>
          </div>
        ))}
      </dl>
      {o.timingNote && <p className="field-hint">{o.timingNote}</p>}
    </div>
  );
}

function RequestView({ request, isDb }: { request: JsonValue; isDb: boolean }) {
  const r = asObject(request);
  if (!r) return <p className="muted">The request could not be built.</p>;
  if (isDb) {
    const params = Array.isArray(r.params) ? r.params.map((p) => asObject(p) ?? {}) : [];
    return (
      <>
        <Json value={text(r.sql)} label="SQL" />
        {params.length > 0 && (
          <table className="tp-table">
            <caption className="visually-hidden">Bound parameters</caption>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Field</th>
                <th scope="col">Column</th>
                <th scope="col">Type</th>
                <th scope="col">Value</th>
              </tr>
            </thead>
            <tbody>
              {params.map((p, n) => (
                <tr key={n}>
                  <td className="muted">{n + 1}</td>
                  <td>{text(p.field)}</td>
                  <td>{text(p.column)}</td>
                  <td className="muted">{text(p.type)}</td>
                  <td className="mono tp-wrap">{p.value === null ? <span className="muted">NULL</span> : text(p.value)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </>
    );
  }
  const headers = asObject(r.headers);
  return (
    <>
      <p className="mono tp-wrap">
        <strong>{text(r.method)}</strong> {text(r.url)}
      </p>
      {headers && <KeyValues entries={headers} caption="Request headers" />}
      {r.body !== undefined && r.body !== null ? <Json value={r.body} label="Request body" /> : <p className="muted">No body.</p>}
    </>
  );
}

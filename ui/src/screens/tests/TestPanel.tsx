/** The Test Panel: pick an integration, generate test data (reproducible by its seed) or type
 * your own (per-field form or JSON, checked against the schema), preview exactly what would be
 * sent, run it against the real target, and read the analysis; the integration's recent tests
 * beside it. */
import { useEffect, useId, useRef, useState } from "react";
import { client } from "../../api/client";
import { ConsoleError } from "../../api/errors";
import type { GeneratedData } from "../../api/types/GeneratedData";
import type { Integration } from "../../api/types/Integration";
import type { TestReport } from "../../api/types/TestReport";
import type { TestRunRequest } from "../../api/types/TestRunRequest";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { Empty, ErrorState, Spinner, useLoad } from "../../components/state";
import { navigate, useRoute } from "../../router";
import { FieldForm } from "./DataEditor";
import {
  type FormValues,
  type TestData,
  dataToForm,
  dataToJson,
  formToData,
  parseJsonData,
  problemsByField,
} from "./form";
import { ReportView } from "./ReportView";
import { TestHistory } from "./TestHistory";
import "./tests.css";

export function TestPanel() {
  const route = useRoute();
  const chosen = route.screen === "tests" ? route.integration : undefined;
  const [list, reload] = useLoad(() => client.integrations(), []);
  const selectId = useId();

  let body;
  if (!list.data) {
    body = list.state === "error" ? <ErrorState error={list.error} onRetry={reload} /> : <Spinner label="Loading integrations…" />;
  } else if (list.data.length === 0) {
    body = <Empty title="No integrations yet">Add one on the Integrations screen, then test it here.</Empty>;
  } else {
    const integration = list.data.find((i) => i.id === chosen || i.name === chosen);
    body = integration ? (
      // A new integration starts a new workbench (its data, report and choices).
      <Workbench key={integration.id} integration={integration} />
    ) : chosen ? (
      <Empty title="No such integration">It may have been removed; pick another one above.</Empty>
    ) : (
      <Empty title="Pick an integration to test" />
    );
  }

  return (
    <section className="screen" aria-labelledby="tp-title">
      <div className="screen-head">
        <h1 id="tp-title">Test Panel</h1>
        <label htmlFor={selectId} className="visually-hidden">
          Integration
        </label>
        <select
          id={selectId}
          value={list.data?.find((i) => i.id === chosen || i.name === chosen)?.id ?? ""}
          onChange={(e) => navigate({ screen: "tests", integration: e.target.value || undefined })}
          disabled={!list.data || list.data.length === 0}
        >
          <option value="">Choose an integration…</option>
          {list.data?.map((i) => (
            <option key={i.id} value={i.id}>
              {i.name} ({i.kind === "api" ? "API" : "database"})
            </option>
          ))}
        </select>
      </div>
      {body}
    </section>
  );
}

/** Where the data of the next test comes from: generated (sent as its seed, so the report can
 * repeat it) until edited, then custom. */
type Source = { kind: "generated"; seed: number; allFields: boolean } | { kind: "custom" };
type Busy = null | "generate" | "check" | "preview" | "run";

function Workbench({ integration }: { integration: Integration }) {
  const id = integration.id;
  const fields = integration.config.fields;
  const isDb = integration.kind === "database";

  const [source, setSource] = useState<Source | null>(null);
  const [editor, setEditor] = useState<"form" | "json">("form");
  const [form, setForm] = useState<FormValues>({});
  // Keys the form cannot show, kept from the JSON editor.
  const [extras, setExtras] = useState<TestData>({});
  const [jsonText, setJsonText] = useState("{}");
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [allFields, setAllFields] = useState(true);
  const [seedText, setSeedText] = useState("");
  const [seedError, setSeedError] = useState<string | null>(null);
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [checked, setChecked] = useState(false);
  const [commit, setCommit] = useState(false);
  const [busy, setBusy] = useState<Busy>(null);
  const [error, setError] = useState<ConsoleError | null>(null);
  const [report, setReport] = useState<TestReport | null>(null);
  const [historyRound, setHistoryRound] = useState(0);
  // A run that reaches the real target (an API request, a committed row) is confirmed first.
  const [confirmRun, setConfirmRun] = useState(false);
  const api = integration.config.api;
  const db = integration.config.database;
  const runIsLive = !isDb || commit;

  function showGenerated(g: GeneratedData, all: boolean) {
    setSource({ kind: "generated", seed: g.seed, allFields: all });
    setForm(dataToForm(fields, g.data));
    setExtras({});
    setJsonText(dataToJson(g.data));
    setJsonError(null);
    setSeedText(String(g.seed));
    setSeedError(null);
    setProblems({});
    setChecked(false);
  }

  // Set once the user edits the data (read only in callbacks, never during render).
  const touched = useRef(false);
  // First data: generated, every field, so the admin sees the whole schema filled in.
  useEffect(() => {
    let live = true;
    client.generateTestData({ integration: id, allFields: true }).then(
      (g) => {
        // Typing before the first data arrived wins: it is not overwritten.
        if (!live || touched.current) return;
        setSource({ kind: "generated", seed: g.seed, allFields: true });
        setForm(dataToForm(fields, g.data));
        setJsonText(dataToJson(g.data));
        setSeedText(String(g.seed));
      },
      (e) => live && setError(ConsoleError.from(e)),
    );
    return () => {
      live = false;
    };
    // `fields` belongs to the integration, which `id` names (the workbench is keyed by it).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id]);

  async function generate(seed?: number, all = allFields) {
    setBusy("generate");
    setError(null);
    try {
      showGenerated(await client.generateTestData({ integration: id, seed, allFields: all }), all);
    } catch (e) {
      const err = ConsoleError.from(e);
      if (err.forField("seed")) setSeedError(err.forField("seed") ?? null);
      else setError(err);
    } finally {
      setBusy(null);
    }
  }

  function reproduce() {
    const t = seedText.trim();
    if (!/^\d+$/.test(t) || !Number.isSafeInteger(Number(t))) {
      setSeedError("a whole number from 0 to 9007199254740991");
      return;
    }
    void generate(Number(t));
  }

  /** The data in the editor, or `null` (with the JSON error shown) when it cannot be read. */
  function currentData(): TestData | null {
    if (editor === "form") return formToData(fields, form, extras);
    const parsed = parseJsonData(jsonText);
    if (!parsed.ok) {
      setJsonError(parsed.error);
      return null;
    }
    return parsed.data;
  }

  function edited() {
    touched.current = true;
    setSource({ kind: "custom" });
    setChecked(false);
  }

  function switchEditor(to: "form" | "json") {
    if (to === editor) return;
    if (to === "json") {
      setJsonText(dataToJson(formToData(fields, form, extras)));
      setJsonError(null);
    } else {
      const parsed = parseJsonData(jsonText);
      if (!parsed.ok) {
        setJsonError(`${parsed.error} — fix it before switching to the form`);
        return;
      }
      setForm(dataToForm(fields, parsed.data));
      setExtras(parsed.data);
    }
    setEditor(to);
  }

  /** Shows an `invalid` error about the test data at its fields; false for other errors. */
  function showProblems(err: ConsoleError): boolean {
    const requestFields = ["integration", "seed", "allFields", "commit", "preview", "body"];
    if (err.kind !== "invalid" || err.details.length === 0) return false;
    if (err.details.some((d) => requestFields.includes(d.field))) return false;
    setProblems(problemsByField(err.details));
    return true;
  }

  async function check() {
    const data = currentData();
    if (!data) return;
    setBusy("check");
    setError(null);
    try {
      await client.checkTestData({ integration: id, data });
      setProblems({});
      setChecked(true);
    } catch (e) {
      const err = ConsoleError.from(e);
      setChecked(false);
      if (!showProblems(err)) setError(err);
    } finally {
      setBusy(null);
    }
  }

  async function send(preview: boolean) {
    let request: TestRunRequest;
    if (source?.kind === "generated") {
      request = { integration: id, seed: source.seed, allFields: source.allFields };
    } else {
      const data = currentData();
      if (!data) return;
      request = { integration: id, data };
    }
    request.preview = preview;
    if (!preview && isDb) request.commit = commit;
    setBusy(preview ? "preview" : "run");
    setError(null);
    try {
      const r = await client.runTest(request);
      setReport(r);
      setProblems({});
      if (!preview) setHistoryRound((n) => n + 1);
    } catch (e) {
      const err = ConsoleError.from(e);
      if (!showProblems(err)) setError(err);
    } finally {
      setBusy(null);
    }
  }

  const problemKeys = Object.keys(problems);
  const otherProblems = problemKeys.filter((k) => editor === "json" || !fields.some((f) => f.name === k));

  return (
    <div className="tp-layout">
      <div className="tp-main">
        <section className="card tp-data" aria-labelledby="tp-data-title">
          <div className="row tp-data-head">
            <h2 id="tp-data-title">Test data</h2>
            <span className="muted" aria-live="polite">
              {source === null
                ? "Generating…"
                : source.kind === "generated"
                  ? `Generated, seed ${source.seed}${source.allFields ? ", every field" : ", required fields"}`
                  : "Custom data"}
            </span>
          </div>
          <div className="row tp-generate">
            <button type="button" onClick={() => void generate(undefined)} disabled={busy !== null}>
              {busy === "generate" ? "Generating…" : "Regenerate"}
            </button>
            <label className="tp-inline">
              <input
                type="checkbox"
                checked={allFields}
                onChange={(e) => {
                  setAllFields(e.target.checked);
                  void generate(source?.kind === "generated" ? source.seed : undefined, e.target.checked);
                }}
                disabled={busy !== null}
              />
              All fields
            </label>
            <form
              className="row tp-seed"
              onSubmit={(e) => {
                e.preventDefault();
                reproduce();
              }}
            >
              <label htmlFor="tp-seed">Seed</label>
              <input
                id="tp-seed"
                inputMode="numeric"
                value={seedText}
                onChange={(e) => setSeedText(e.target.value)}
                aria-invalid={seedError ? true : undefined}
                aria-describedby={seedError ? "tp-seed-err" : undefined}
                size={18}
              />
              <button type="submit" disabled={busy !== null}>
                Use seed
              </button>
              {seedError && (
                <p className="field-error" id="tp-seed-err">
                  {seedError}
                </p>
              )}
            </form>
          </div>

          <div className="tp-tabs" role="group" aria-label="Editor">
            <button type="button" aria-pressed={editor === "form"} onClick={() => switchEditor("form")}>
              Form
            </button>
            <button type="button" aria-pressed={editor === "json"} onClick={() => switchEditor("json")}>
              JSON
            </button>
          </div>

          {editor === "form" ? (
            <FieldForm
              fields={fields}
              values={form}
              problems={problems}
              disabled={busy !== null && busy !== "check"}
              onChange={(name, text) => {
                setForm((f) => ({ ...f, [name]: text }));
                setProblems((p) => withoutKey(p, name));
                edited();
              }}
            />
          ) : (
            <div className="field">
              <label htmlFor="tp-json">Test data (a JSON object of field values)</label>
              <textarea
                id="tp-json"
                rows={Math.min(18, Math.max(6, jsonText.split("\n").length + 1))}
                spellCheck={false}
                value={jsonText}
                onChange={(e) => {
                  setJsonText(e.target.value);
                  setJsonError(null);
                  edited();
                }}
                aria-invalid={jsonError ? true : undefined}
                aria-describedby={jsonError ? "tp-json-err" : undefined}
              />
              {jsonError && (
                <p className="field-error" id="tp-json-err">
                  {jsonError}
                </p>
              )}
            </div>
          )}
          {otherProblems.length > 0 && (
            <ul className="field-error tp-problems" aria-label="Problems in the test data">
              {otherProblems.map((k) => (
                <li key={k}>
                  <strong>{k}</strong>: {problems[k]}
                </li>
              ))}
            </ul>
          )}

          {isDb && (
            <div className={`tp-commit ${commit ? "on" : ""}`}>
              <label className="tp-inline">
                <input type="checkbox" checked={commit} onChange={(e) => setCommit(e.target.checked)} />
                Commit the row
              </label>
              <p className="field-hint" id="tp-commit-hint">
                {commit
                  ? "Warning: the test row will be kept in the clinic's table (and recorded as a test attempt). Remove it yourself afterwards."
                  : "The row is inserted, read back and rolled back: nothing is kept."}
              </p>
            </div>
          )}

          <div className="row tp-actions">
            <button type="button" onClick={() => void check()} disabled={busy !== null || source === null}>
              {busy === "check" ? "Checking…" : "Validate"}
            </button>
            <button type="button" onClick={() => void send(true)} disabled={busy !== null || source === null}>
              {busy === "preview" ? "Building…" : "Preview"}
            </button>
            <button
              type="button"
              className={isDb && commit ? "danger" : "primary"}
              onClick={() => (runIsLive ? setConfirmRun(true) : void send(false))}
              disabled={busy !== null || source === null}
              aria-describedby={isDb ? "tp-commit-hint" : undefined}
            >
              {busy === "run" ? "Running…" : isDb && commit ? "Run and commit" : "Run test"}
            </button>
            <span className="tp-status" aria-live="polite">
              {checked && problemKeys.length === 0 && <span className="badge ok">fits the schema</span>}
              {problemKeys.length > 0 && (
                <span className="badge err">
                  {problemKeys.length} problem{problemKeys.length === 1 ? "" : "s"}
                </span>
              )}
            </span>
          </div>
          {error && <ErrorState error={error} />}
        </section>

        {report ? (
          <ReportView report={report} />
        ) : (
          <Empty title="No test run yet">
            Preview shows exactly what would be sent, with secrets masked; Run sends it to the real target
            {isDb ? " (and rolls the row back unless you commit it)" : ""}.
          </Empty>
        )}
      </div>
      <TestHistory integrationId={id} round={historyRound} />
      <ConfirmDialog
        open={confirmRun}
        title={isDb ? "Keep a test row in the clinic's table?" : "Send the test to the real endpoint?"}
        confirmLabel={isDb ? "Insert and keep the row" : "Send the test"}
        danger={isDb}
        onConfirm={() => void send(false)}
        onClose={() => setConfirmRun(false)}
      >
        {isDb ? (
          <p>
            The test row is inserted into <code>{db?.table}</code> and kept there (recorded as a test attempt). Remove it
            yourself afterwards.
          </p>
        ) : (
          <p>
            This sends the test data to <code className="break">{`${api?.method ?? "POST"} ${api?.endpoint ?? ""}`}</code> — the
            real system, as a handoff would. Use Preview to see the request without sending it.
          </p>
        )}
      </ConfirmDialog>
    </div>
  );
}

function withoutKey(problems: Record<string, string>, key: string): Record<string, string> {
  const rest = { ...problems };
  delete rest[key];
  return rest;
}

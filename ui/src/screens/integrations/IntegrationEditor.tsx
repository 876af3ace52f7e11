/** Creating or editing one integration, in a modal drawer (Escape closes it): a form for the
 * API or database target, the field schema, the mapping (with the table's real columns) and the
 * retry policy, or the raw JSON for power users. Secrets are password inputs that are sent only
 * when typed; a stored one is kept by sending the mask back. The backend's problems show at
 * their inputs and in a summary. */
import { useEffect, useRef, useState, type FormEvent, type InputHTMLAttributes } from "react";
import { client } from "../../api/client";
import { ConsoleError } from "../../api/errors";
import type { Integration } from "../../api/types/Integration";
import type { TargetColumn } from "../../api/types/TargetColumn";
import type { TargetKind } from "../../api/types/TargetKind";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { FieldsEditor } from "./FieldsEditor";
import {
  FormProblem,
  configToForm,
  emptyForm,
  errorsByField,
  fieldsFromColumns,
  followRenames,
  formToConfig,
  formToConfigChecked,
  unfilledRequiredColumns,
  rowKey,
  removeAt,
  updateAt,
  hideTypedSecrets,
  restoreTypedSecrets,
  TYPED_SECRET,
  SSL_MODES,
  sslFor,
  type FormState,
  type SecretInput,
} from "./form";
import { Labeled, ProblemSummary, inputId, type InputProps } from "./Inputs";
import { MappingEditor } from "./MappingEditor";

type Tab = "form" | "json";

export function IntegrationEditor({
  editing,
  kind,
  onClose,
  onSaved,
}: {
  editing?: Integration;
  kind?: TargetKind;
  onClose: () => void;
  onSaved: (saved: Integration) => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [form, setForm] = useState<FormState>(() => (editing ? configToForm(editing.config) : emptyForm(kind)));
  // What the form held when opened (and the JSON when its tab was opened), to ask before
  // closing over unsaved changes.
  const [initial] = useState(() => JSON.stringify(form));
  const [tab, setTab] = useState<Tab>("form");
  const [json, setJson] = useState("");
  const [jsonShown, setJsonShown] = useState("");
  // Secrets typed in the form, kept out of the JSON tab's text (see hideTypedSecrets).
  const [typed, setTyped] = useState<Record<string, string>>({});
  const [confirmDiscard, setConfirmDiscard] = useState(false);
  const [problem, setProblem] = useState<ConsoleError | FormProblem | null>(null);
  const [saving, setSaving] = useState(false);
  // The target table's live columns, once loaded in the mapping editor (for this table).
  const [columns, setColumns] = useState<{ table: string; list: TargetColumn[] } | null>(null);
  const errors = errorsByField(problem);

  // After a save with problems, the first one in the form (top to bottom) gets the focus and is
  // scrolled into view; a problem no input shows leaves the focus on the summary.
  useEffect(() => {
    if (!problem) return;
    const root = dialog.current;
    const first = root?.querySelector<HTMLElement>('[aria-invalid="true"]') ?? root?.querySelector<HTMLElement>(".problem-summary");
    if (!first) return;
    first.scrollIntoView?.({ block: "center" });
    if (first.classList.contains("problem-summary")) first.setAttribute("tabindex", "-1");
    first.focus();
  }, [problem]);

  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
    // showModal focuses the first control (a tab); the name is where editing starts.
    document.getElementById(inputId("name"))?.focus();
  }, []);

  const set = (patch: Partial<FormState>) => setForm((f) => ({ ...f, ...patch }));
  const setApi = (patch: Partial<FormState["api"]>) => setForm((f) => ({ ...f, api: { ...f.api, ...patch } }));
  const setDb = (patch: Partial<FormState["database"]>) => setForm((f) => ({ ...f, database: { ...f.database, ...patch } }));
  const setRetry = (patch: Partial<FormState["retry"]>) => setForm((f) => ({ ...f, retry: { ...f.retry, ...patch } }));
  const setHealth = (patch: Partial<FormState["health"]>) => setForm((f) => ({ ...f, health: { ...f.health, ...patch } }));

  const switchTab = (next: Tab) => {
    if (next === tab) return;
    try {
      if (next === "json") {
        const hidden = hideTypedSecrets(formToConfig(form));
        const text = JSON.stringify(hidden.config, null, 2);
        setTyped(hidden.typed);
        setJson(text);
        setJsonShown(text);
      } else {
        setForm(configToForm(restoreTypedSecrets(JSON.parse(json), typed)));
      }
      setProblem(null);
      setTab(next);
    } catch (e) {
      setProblem(e instanceof FormProblem ? e : new FormProblem("json", `is not a config: ${e instanceof Error ? e.message : String(e)}`));
    }
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    let body: unknown;
    if (tab !== "json") {
      // Every problem the form can see at once: its own (a number that is not one), and a
      // required column nothing fills (when the table's columns were read; saving never needs
      // the target to be reachable).
      const { config, problems } = formToConfigChecked(form);
      const table = `${form.database.database}|${form.database.table}`;
      if (form.kind === "database" && columns && columns.table === table) {
        problems.push(...unfilledRequiredColumns(columns.list, form.database.mapping, form.database.fixed));
      }
      const [first, ...rest] = problems;
      if (first) {
        setProblem(await withConsoleProblems(new FormProblem(first.field, first.message, rest), config));
        return;
      }
      body = config;
    } else {
      try {
        // The JSON as typed (the backend names what is wrong in it), with typed secrets put back.
        body = json.includes(TYPED_SECRET) ? restoreTypedSecrets(JSON.parse(json), typed) : json;
      } catch (err) {
        setProblem(err instanceof FormProblem ? err : ConsoleError.from(err));
        return;
      }
    }
    setSaving(true);
    setProblem(null);
    try {
      const config = typeof body === "string" ? body : JSON.stringify(body);
      const saved = editing ? await client.updateIntegration(editing.id, { config }) : await client.addIntegration({ config });
      onSaved(saved);
    } catch (err) {
      setProblem(ConsoleError.from(err));
    } finally {
      setSaving(false);
    }
  };

  /** The form's own problems and the console's about the rest of the config, together: one
   * save shows them all. Nothing is saved (the console only checks). */
  const withConsoleProblems = async (own: FormProblem, config: unknown): Promise<FormProblem> => {
    try {
      const text = typeof config === "string" ? config : JSON.stringify(config);
      await client.validateIntegration({ config: text, id: editing?.id });
      return own;
    } catch (err) {
      const e = ConsoleError.from(err);
      if (e.kind !== "invalid") return own;
      const known = new Set(own.problems.map((p) => p.field));
      const more = (e.details.length ? e.details : e.field ? [{ field: e.field, reason: e.message }] : [])
        .filter((d) => !known.has(d.field))
        .map((d) => ({ field: d.field, message: d.reason }));
      return new FormProblem(own.field, own.problems[0]!.message, [...own.problems.slice(1), ...more]);
    }
  };

  // The form's own problems (a port that is not a number) come back as the request's would.
  const dirty = JSON.stringify(form) !== initial || (tab === "json" && json !== jsonShown);
  const requestClose = () => (dirty ? setConfirmDiscard(true) : onClose());

  const loadColumns = async () => {
    let config;
    try {
      config = formToConfig(form);
    } catch (e) {
      if (e instanceof FormProblem) throw new ConsoleError({ kind: "invalid", message: e.message, field: e.field });
      throw e;
    }
    return client.targetColumns({ config, integration: editing?.id });
  };

  const a = form.api;
  const d = form.database;
  const text = (value: string, onChange: (v: string) => void, extra: InputHTMLAttributes<HTMLInputElement> = {}) =>
    (p: InputProps) => <input {...p} {...extra} value={value} onChange={(e) => onChange(e.target.value)} />;
  const secret = (s: SecretInput, onChange: (s: SecretInput) => void) => (p: InputProps) => (
    <input
      {...p}
      type="password"
      autoComplete="new-password"
      placeholder={s.stored ? "•••••••• stored — type to replace" : ""}
      value={s.value}
      onChange={(e) => onChange({ ...s, value: e.target.value })}
    />
  );
  const storedHint = (s: SecretInput) => (s.stored ? "Left empty, the stored value is kept." : undefined);
  const title = editing ? `Edit ${editing.name}` : `Add ${form.kind === "api" ? "an API" : "a database"} integration`;

  return (
    <dialog
      ref={dialog}
      className="drawer"
      aria-labelledby="editor-title"
      onCancel={(e) => {
        e.preventDefault();
        if (e.target === e.currentTarget) requestClose();
      }}
    >
      <form onSubmit={save} noValidate>
        <header className="drawer-head">
          <h2 id="editor-title">{title}</h2>
          <div role="tablist" aria-label="Edit as" className="tabs">
            {(["form", "json"] as const).map((t) => (
              <button
                key={t}
                type="button"
                role="tab"
                aria-selected={tab === t}
                className={tab === t ? "tab active" : "tab"}
                onClick={() => switchTab(t)}
              >
                {t === "form" ? "Form" : "JSON"}
              </button>
            ))}
          </div>
          <button type="button" className="ghost" onClick={requestClose} aria-label="Close">
            ✕
          </button>
        </header>
        <div className="drawer-body">
          <ProblemSummary errors={errors} message={problem?.message} />
          {tab === "json" ? (
            <Labeled label="Config (JSON)" path="json" errors={errors} hint="Secrets show as ••••••••; left so, the stored values are kept.">
              {(p) => <textarea {...p} className="json-input" spellCheck={false} rows={28} value={json} onChange={(e) => setJson(e.target.value)} />}
            </Labeled>
          ) : (
            <>
              <fieldset className="editor-section">
                <legend>General</legend>
                <div className="grid-2">
                  <Labeled label="Name" path="name" errors={errors}>
                    {text(form.name, (name) => set({ name }), { maxLength: 100, required: true })}
                  </Labeled>
                  <Labeled label="Kind" path="kind" errors={errors} hint={editing ? "Fixed once saved." : undefined}>
                    {(p) => (
                      <select {...p} value={form.kind} disabled={!!editing} onChange={(e) => set({ kind: e.target.value as TargetKind })}>
                        <option value="api">REST API</option>
                        <option value="database">Database table</option>
                      </select>
                    )}
                  </Labeled>
                </div>
                <Labeled label="Description" path="description" errors={errors}>
                  {text(form.description, (description) => set({ description }), { maxLength: 500 })}
                </Labeled>
              </fieldset>

              {form.kind === "api" ? (
                <fieldset className="editor-section">
                  <legend>API target</legend>
                  <div className="grid-endpoint">
                    <Labeled label="Method" path="api.method" errors={errors}>
                      {(p) => (
                        <select {...p} value={a.method} onChange={(e) => setApi({ method: e.target.value as FormState["api"]["method"] })}>
                          {["POST", "PUT", "GET", "DELETE"].map((m) => (
                            <option key={m}>{m}</option>
                          ))}
                        </select>
                      )}
                    </Labeled>
                    <Labeled label="Endpoint" path="api.endpoint" errors={errors} hint="May hold placeholders: /patients/{{patientId}}">
                      {text(a.endpoint, (endpoint) => setApi({ endpoint }), { placeholder: "https://emr.example/api/patients", maxLength: 2048 })}
                    </Labeled>
                  </div>
                  <Labeled label="Authentication" path="api.authentication" errors={errors}>
                    {(p) => (
                      <select {...p} value={a.auth} onChange={(e) => setApi({ auth: e.target.value as FormState["api"]["auth"] })}>
                        <option value="">None</option>
                        <option value="bearer">Bearer token</option>
                        <option value="basic">Basic (user and password)</option>
                        <option value="api-key">API key</option>
                      </select>
                    )}
                  </Labeled>
                  {a.auth === "bearer" && (
                    <Labeled label="Token" path="api.authentication.credentials.token" errors={errors} hint={storedHint(a.token)}>
                      {secret(a.token, (token) => setApi({ token }))}
                    </Labeled>
                  )}
                  {a.auth === "basic" && (
                    <div className="grid-2">
                      <Labeled label="Username" path="api.authentication.credentials.username" errors={errors}>
                        {text(a.username, (username) => setApi({ username }), { autoComplete: "off" })}
                      </Labeled>
                      <Labeled label="Password" path="api.authentication.credentials.password" errors={errors} hint={storedHint(a.password)}>
                        {secret(a.password, (password) => setApi({ password }))}
                      </Labeled>
                    </div>
                  )}
                  {a.auth === "api-key" && (
                    <div className="grid-3">
                      <Labeled label="Key" path="api.authentication.credentials.key" errors={errors} hint={storedHint(a.key)}>
                        {secret(a.key, (key) => setApi({ key }))}
                      </Labeled>
                      <Labeled label="Sent in" path="api.authentication.credentials" errors={errors}>
                        {(p) => (
                          <select {...p} value={a.keyIn} onChange={(e) => setApi({ keyIn: e.target.value as "header" | "query" })}>
                            <option value="header">a header</option>
                            <option value="query">the query string</option>
                          </select>
                        )}
                      </Labeled>
                      <Labeled
                        label={a.keyIn === "header" ? "Header name" : "Query parameter"}
                        path={`api.authentication.credentials.${a.keyIn}`}
                        errors={errors}
                      >
                        {text(a.keyName, (keyName) => setApi({ keyName }), { placeholder: a.keyIn === "header" ? "X-API-Key" : "api_key" })}
                      </Labeled>
                    </div>
                  )}

                  <h3>Custom headers</h3>
                  {errors["api.headers"] && <p className="field-error">{errors["api.headers"]}</p>}
                  {a.headers.map((h, i) => {
                    const path = `api.headers.${h.name.trim()}`;
                    return (
                      <div className="row header-row" key={h.key}>
                        <input
                          aria-label={`Header ${i + 1} name`}
                          placeholder="X-Header"
                          value={h.name}
                          maxLength={200}
                          onChange={(e) => setApi({ headers: updateAt(a.headers, i, { name: e.target.value }) })}
                        />
                        <input
                          id={inputId(path)}
                          aria-label={`Header ${i + 1} value`}
                          aria-invalid={errors[path] ? true : undefined}
                          type={h.stored ? "password" : "text"}
                          placeholder={h.stored ? "•••••••• stored — type to replace" : "value"}
                          value={h.value}
                          onChange={(e) => setApi({ headers: updateAt(a.headers, i, { value: e.target.value }) })}
                        />
                        <button
                          type="button"
                          className="icon danger"
                          aria-label={`Remove header ${i + 1}`}
                          onClick={() => setApi({ headers: removeAt(a.headers, i) })}
                        >
                          ✕
                        </button>
                        {errors[path] && <p className="field-error">{errors[path]}</p>}
                      </div>
                    );
                  })}
                  <p className="field-hint">Headers whose names carry a credential (token, secret, key, auth…) are kept in the secrets backend.</p>
                  <button type="button" onClick={() => setApi({ headers: [...a.headers, { key: rowKey(), name: "", value: "", stored: false }] })}>
                    Add header
                  </button>

                  <Labeled
                    label="Payload structure (JSON)"
                    path="api.payloadStructure"
                    errors={errors}
                    hint="Placeholders: {{field}}, {{timestamp}}, {{sessionId}}, {{handoffId}}. Empty: the collected fields are sent as they are."
                  >
                    {(p) => <textarea {...p} rows={6} spellCheck={false} value={a.payload} onChange={(e) => setApi({ payload: e.target.value })} />}
                  </Labeled>
                  <div className="grid-2">
                    <Labeled label="Timeout (ms)" path="api.timeoutMs" errors={errors} hint="Default 10000">
                      {text(a.timeoutMs, (timeoutMs) => setApi({ timeoutMs }), { inputMode: "numeric" })}
                    </Labeled>
                    <Labeled label="Connect timeout (ms)" path="api.connectTimeoutMs" errors={errors} hint="Default 5000">
                      {text(a.connectTimeoutMs, (connectTimeoutMs) => setApi({ connectTimeoutMs }), { inputMode: "numeric" })}
                    </Labeled>
                  </div>
                  <h3>Expectations</h3>
                  <div className="grid-3">
                    <Labeled label="Accepted statuses" path="api.expect.status" errors={errors} hint="e.g. 200, 201; empty: any 2xx">
                      {text(a.expectStatus, (expectStatus) => setApi({ expectStatus }))}
                    </Labeled>
                    <Labeled label="Required JSON pointer" path="api.expect.requirePointer" errors={errors}>
                      {text(a.requirePointer, (requirePointer) => setApi({ requirePointer }), { placeholder: "/data" })}
                    </Labeled>
                    <Labeled label="Submission id pointer" path="api.expect.submissionIdPointer" errors={errors}>
                      {text(a.submissionIdPointer, (submissionIdPointer) => setApi({ submissionIdPointer }), { placeholder: "/id" })}
                    </Labeled>
                  </div>
                  <div className="grid-endpoint">
                    <Labeled label="Health method" path="api.healthCheck.method" errors={errors}>
                      {(p) => (
                        <select {...p} value={a.healthMethod} onChange={(e) => setApi({ healthMethod: e.target.value as FormState["api"]["healthMethod"] })}>
                          {["GET", "HEAD", "OPTIONS", "POST"].map((m) => (
                            <option key={m}>{m}</option>
                          ))}
                        </select>
                      )}
                    </Labeled>
                    <Labeled label="Health check path" path="api.healthCheck.path" errors={errors} hint="Optional; e.g. /health. Sent with the credentials, never with data.">
                      {text(a.healthPath, (healthPath) => setApi({ healthPath }))}
                    </Labeled>
                  </div>
                </fieldset>
              ) : (
                <fieldset className="editor-section">
                  <legend>Database target</legend>
                  <div className="grid-3">
                    <Labeled label="Type" path="database.type" errors={errors}>
                      {(p) => (
                        <select
                          {...p}
                          value={d.type}
                          onChange={(e) => {
                            const type = e.target.value as FormState["database"]["type"];
                            setDb({ type, ssl: sslFor(type, d.ssl) });
                          }}
                        >
                          <option value="postgresql">PostgreSQL</option>
                          <option value="mysql">MySQL / MariaDB</option>
                          <option value="sqlite">SQLite</option>
                        </select>
                      )}
                    </Labeled>
                    {d.type !== "sqlite" && (
                      <>
                        <Labeled label="Host" path="database.hostname" errors={errors}>
                          {text(d.hostname, (hostname) => setDb({ hostname }), { placeholder: "localhost", maxLength: 253 })}
                        </Labeled>
                        <Labeled label="Port" path="database.port" errors={errors}>
                          {text(d.port, (port) => setDb({ port }), { inputMode: "numeric", placeholder: d.type === "mysql" ? "3306" : "5432" })}
                        </Labeled>
                      </>
                    )}
                  </div>
                  <div className="grid-2">
                    <Labeled label={d.type === "sqlite" ? "File path" : "Database"} path="database.database" errors={errors}>
                      {text(d.database, (database) => setDb({ database }), { maxLength: 4096 })}
                    </Labeled>
                    <Labeled label="Table" path="database.table" errors={errors} hint="table or schema.table">
                      {text(d.table, (table) => setDb({ table }), { maxLength: 130 })}
                    </Labeled>
                  </div>
                  {d.type !== "sqlite" && (
                    <div className="grid-3">
                      <Labeled label="User" path="database.username" errors={errors}>
                        {text(d.username, (username) => setDb({ username }), { autoComplete: "off" })}
                      </Labeled>
                      <Labeled label="Password" path="database.password" errors={errors} hint={storedHint(d.password)}>
                        {secret(d.password, (password) => setDb({ password }))}
                      </Labeled>
                      <Labeled label="TLS" path="database.ssl" errors={errors} hint="Default: verified (certificate and host name); on this machine, prefer">
                        {(p) => (
                          <select {...p} value={d.ssl} onChange={(e) => setDb({ ssl: e.target.value as FormState["database"]["ssl"] })}>
                            <option value="">default</option>
                            {SSL_MODES[d.type === "mysql" ? "mysql" : "postgresql"].map((m) => (
                              <option key={m} value={m}>
                                {m}
                              </option>
                            ))}
                          </select>
                        )}
                      </Labeled>
                      <Labeled label="CA file" path="database.sslRootCert" errors={errors} hint="Optional: the full path of a PEM file, for a private CA">
                        {text(d.sslRootCert, (sslRootCert) => setDb({ sslRootCert }), { maxLength: 4096 })}
                      </Labeled>
                    </div>
                  )}
                  <div className="grid-3">
                    <Labeled label="Pool size" path="database.poolSize" errors={errors} hint="Default 5">
                      {text(d.poolSize, (poolSize) => setDb({ poolSize }), { inputMode: "numeric" })}
                    </Labeled>
                    <Labeled label="Connect timeout (ms)" path="database.connectTimeoutMs" errors={errors} hint="Default 5000">
                      {text(d.connectTimeoutMs, (connectTimeoutMs) => setDb({ connectTimeoutMs }), { inputMode: "numeric" })}
                    </Labeled>
                    <Labeled label="Statement timeout (ms)" path="database.statementTimeoutMs" errors={errors} hint="Default 10000">
                      {text(d.statementTimeoutMs, (statementTimeoutMs) => setDb({ statementTimeoutMs }), { inputMode: "numeric" })}
                    </Labeled>
                  </div>
                </fieldset>
              )}

              <FieldsEditor
                rows={form.fields}
                onChange={(fields) =>
                  setForm((f) => ({ ...f, fields, database: { ...f.database, mapping: followRenames(f.fields, fields, f.database.mapping) } }))
                }
                errors={errors}
              />

              {form.kind === "database" && (
                <MappingEditor
                  rows={d.mapping}
                  onChange={(mapping) => setDb({ mapping })}
                  fixed={d.fixed}
                  onFixed={(fixed) => setDb({ fixed })}
                  fieldNames={form.fields.map((f) => f.name.trim())}
                  errors={errors}
                  loadColumns={loadColumns}
                  onColumns={(list) => setColumns(list ? { table: `${d.database}|${d.table}`, list } : null)}
                  onAddFields={(list) => {
                    const next = fieldsFromColumns(list, form.fields, d.mapping, d.fixed);
                    setForm((f) => ({ ...f, fields: next.fields, database: { ...f.database, mapping: next.mapping } }));
                    return next.added;
                  }}
                />
              )}

              <fieldset className="editor-section">
                <legend>Health from deliveries</legend>
                <p className="field-hint">
                  Recent deliveries decide part of this integration's health: it is in error when its latest deliveries all
                  failed, and a warning when some failed. Empty: the defaults.
                </p>
                <div className="grid-3">
                  <Labeled label="Failures in a row for error" path="health.failuresForError" errors={errors} hint="Default 3">
                    {text(form.health.failuresForError, (failuresForError) => setHealth({ failuresForError }), { inputMode: "numeric" })}
                  </Labeled>
                  <Labeled label="Deliveries looked at" path="health.recentDeliveries" errors={errors} hint="Default 20">
                    {text(form.health.recentDeliveries, (recentDeliveries) => setHealth({ recentDeliveries }), { inputMode: "numeric" })}
                  </Labeled>
                  <Labeled label="Recent means within (hours)" path="health.windowHours" errors={errors} hint="Default 24">
                    {text(form.health.windowHours, (windowHours) => setHealth({ windowHours }), { inputMode: "numeric" })}
                  </Labeled>
                </div>
              </fieldset>

              <fieldset className="editor-section">
                <legend>Automatic retry</legend>
                <div className="grid-3">
                  <Labeled label="Tries in all" path="retry.maxAttempts" errors={errors} hint="1–50; the first included">
                    {text(form.retry.maxAttempts, (maxAttempts) => setRetry({ maxAttempts }), { inputMode: "numeric" })}
                  </Labeled>
                  <Labeled label="Base delay (ms)" path="retry.baseDelayMs" errors={errors}>
                    {text(form.retry.baseDelayMs, (baseDelayMs) => setRetry({ baseDelayMs }), { inputMode: "numeric" })}
                  </Labeled>
                  <Labeled label="Longest delay (ms)" path="retry.maxDelayMs" errors={errors}>
                    {text(form.retry.maxDelayMs, (maxDelayMs) => setRetry({ maxDelayMs }), { inputMode: "numeric" })}
                  </Labeled>
                </div>
              </fieldset>
            </>
          )}
        </div>
        <footer className="drawer-foot">
          <button type="button" onClick={requestClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={saving}>
            {saving ? "Saving…" : editing ? "Save changes" : "Create integration"}
          </button>
        </footer>
      </form>
      {confirmDiscard && (
        <ConfirmDialog
          title="Discard your changes?"
          confirmLabel="Discard"
          danger
          onClose={() => setConfirmDiscard(false)}
          onConfirm={onClose}
        >
          <p>The changes in this form are not saved.</p>
        </ConfirmDialog>
      )}
    </dialog>
  );
}

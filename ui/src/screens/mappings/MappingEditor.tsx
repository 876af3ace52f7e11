/** Adding or editing one mapping of a source, in a modal drawer: start from a preset (its
 * sample goes into the sample box) or blank; which messages it takes (by a JSON pointer or a
 * header, and the value), the integration, one row per field (its value from a pointer, a
 * constant or pointers joined, then transforms), the session id, realtime or manual. Beside
 * it, a sample body and what the console makes of it, tried as it is typed (nothing is sent
 * or saved). A refused save shows each problem at its row. */
import { useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { client } from "../../api/client";
import { ConsoleError } from "../../api/errors";
import type { FieldSpec } from "../../api/types/FieldSpec";
import type { Integration } from "../../api/types/Integration";
import type { Mapping } from "../../api/types/Mapping";
import type { MappingPreview } from "../../api/types/MappingPreview";
import type { MappingTry } from "../../api/types/MappingTry";
import type { PresetSystem } from "../../api/types/PresetSystem";
import type { Source } from "../../api/types/Source";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { Labeled, ProblemSummary, inputId } from "../../components/Inputs";
import { modeLabel } from "../sources/form";
import { TransformChain, ValueInputs } from "./ValueEditors";
import {
  emptyMappingForm,
  errorsByPath,
  formToRequest,
  mappingToForm,
  newFieldRow,
  parseSample,
  presetDescription,
  presetToForm,
  rowLeftovers,
  type EventKind,
  type FieldRow,
  type MappingForm,
  type SessionKind,
} from "./form";

/** How long the preview waits after the last keystroke. */
const PREVIEW_DELAY_MS = 400;

type Preview =
  | { state: "idle" }
  | { state: "waiting"; last?: MappingPreview }
  | { state: "note"; message: string }
  | { state: "ready"; preview: MappingPreview }
  | { state: "error"; error: ConsoleError };

/** What the preview should try now, or why it cannot. */
type Attempt = { note: string } | { request: MappingTry } | { idle: true };

function attemptOf(form: MappingForm, source: Source, specs: FieldSpec[], body: string, headers: string): Attempt {
  if (!body.trim()) return { idle: true };
  const sample = parseSample(body, headers);
  if ("problem" in sample) return { note: sample.problem };
  if (!form.integration) return { note: "Pick the integration to see what the sample becomes." };
  return { request: { mapping: formToRequest(form, source.id, specs), body: sample.body, headers: sample.headers } };
}

export function MappingEditor({
  source,
  integrations,
  presets,
  editing,
  onClose,
  onSaved,
}: {
  source: Source;
  integrations: Integration[];
  presets: PresetSystem[];
  editing?: Mapping;
  onClose: () => void;
  onSaved: (saved: Mapping) => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  // The integrations this source may name (and the mapping's own, should it no longer be one).
  const allowed = useMemo(
    () => integrations.filter((i) => source.integrations.includes(i.id) || i.id === editing?.integrationId),
    [integrations, source, editing],
  );
  const [form, setForm] = useState<MappingForm>(() =>
    editing ? mappingToForm(editing) : emptyMappingForm(allowed.length === 1 ? allowed[0]!.id : ""),
  );
  const [initial] = useState(() => JSON.stringify(form));
  const [presetId, setPresetId] = useState("");
  const [sampleBody, setSampleBody] = useState("");
  const [sampleHeaders, setSampleHeaders] = useState("");
  const [preview, setPreview] = useState<Preview>({ state: "idle" });
  const [problem, setProblem] = useState<ConsoleError | null>(null);
  const [saving, setSaving] = useState(false);
  const [confirmDiscard, setConfirmDiscard] = useState(false);
  const errors = errorsByPath(problem);
  const integration = integrations.find((i) => i.id === form.integration);
  const specs = useMemo(() => integration?.config.fields ?? [], [integration]);
  const set = (patch: Partial<MappingForm>) => setForm((f) => ({ ...f, ...patch }));
  const setRow = (i: number, patch: Partial<FieldRow>) =>
    setForm((f) => ({ ...f, fields: f.fields.map((r, k) => (k === i ? { ...r, ...patch } : r)) }));

  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) {
      if (typeof d.showModal === "function") d.showModal();
      else d.setAttribute("open", "");
    }
    document.getElementById(editing ? inputId("name") : "mapping-preset")?.focus();
  }, [editing]);

  // After a refused save, the first problem in the form has the focus.
  useEffect(() => {
    if (!problem) return;
    const root = dialog.current;
    const first = root?.querySelector<HTMLElement>('[aria-invalid="true"]') ?? root?.querySelector<HTMLElement>(".problem-summary");
    if (!first) return;
    first.scrollIntoView?.({ block: "center" });
    if (first.classList.contains("problem-summary")) first.setAttribute("tabindex", "-1");
    first.focus();
  }, [problem]);

  // The preview: the mapping as it is now, tried on the sample after a pause in typing. Only
  // the answer to the latest try is shown.
  const attemptKey = JSON.stringify(attemptOf(form, source, specs, sampleBody, sampleHeaders));
  const latest = useRef(0);
  useEffect(() => {
    const attempt = JSON.parse(attemptKey) as Attempt;
    const round = ++latest.current;
    const timer = setTimeout(
      async () => {
        if ("idle" in attempt) return setPreview({ state: "idle" });
        if ("note" in attempt) return setPreview({ state: "note", message: attempt.note });
        setPreview((p) => ({ state: "waiting", last: p.state === "ready" ? p.preview : p.state === "waiting" ? p.last : undefined }));
        try {
          const r = await client.tryMapping(attempt.request);
          if (round === latest.current) setPreview({ state: "ready", preview: r });
        } catch (e) {
          if (round === latest.current) setPreview({ state: "error", error: ConsoleError.from(e) });
        }
      },
      "request" in attempt ? PREVIEW_DELAY_MS : 0,
    );
    return () => clearTimeout(timer);
  }, [attemptKey]);

  const pickPreset = (id: string) => {
    setPresetId(id);
    if (!id) return;
    for (const system of presets) {
      const event = system.events.find((e) => e.id === id);
      if (!event) continue;
      const keep = form.integration || (allowed.length === 1 ? allowed[0]!.id : "");
      setForm(presetToForm(event.mapping, keep));
      setSampleBody(JSON.stringify(event.sample, null, 2));
      setSampleHeaders(Object.keys(event.headers).length ? JSON.stringify(event.headers, null, 2) : "");
      setProblem(null);
    }
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(null);
    setSaving(true);
    try {
      const request = formToRequest(form, source.id, specs);
      onSaved(editing ? await client.updateMapping(editing.id, request) : await client.addMapping(request));
    } catch (err) {
      setProblem(ConsoleError.from(err));
    } finally {
      setSaving(false);
    }
  };

  const dirty = JSON.stringify(form) !== initial;
  const requestClose = () => (dirty ? setConfirmDiscard(true) : onClose());
  const chosenSystem = presets.find((s) => s.events.some((e) => e.id === presetId));
  const shownPreview = preview.state === "ready" ? preview.preview : preview.state === "waiting" ? preview.last : undefined;
  const fieldProblems = new Map((shownPreview?.problems ?? []).map((p) => [p.field, p.reason]));

  return (
    <dialog
      ref={dialog}
      className="drawer mapping-editor"
      aria-labelledby="mapping-editor-title"
      onCancel={(e) => {
        e.preventDefault();
        if (e.target === e.currentTarget) requestClose();
      }}
    >
      <form onSubmit={save} noValidate>
        <header className="drawer-head">
          <h2 id="mapping-editor-title">{editing ? `Edit ${editing.name}` : `Add a mapping to ${source.displayName}`}</h2>
          <button type="button" className="ghost" onClick={requestClose} aria-label="Close">
            ✕
          </button>
        </header>
        <div className="drawer-body mapping-layout">
          <div className="mapping-main">
            <ProblemSummary errors={errors} message={problem?.message} />
            {!editing && (
              <fieldset className="editor-section">
                <legend>Start from</legend>
                <div className="field">
                  <label htmlFor="mapping-preset">Preset</label>
                  <select id="mapping-preset" value={presetId} onChange={(e) => pickPreset(e.target.value)}>
                    <option value="">Blank: write the pointers yourself</option>
                    {presets.map((s) => (
                      <optgroup key={s.system} label={s.title}>
                        {s.events.map((ev) => (
                          <option key={ev.id} value={ev.id}>
                            {s.title}: {ev.title}
                          </option>
                        ))}
                      </optgroup>
                    ))}
                  </select>
                  {chosenSystem ? (
                    <p className="field-hint">
                      {presetDescription(chosenSystem.description)}
                      {chosenSystem.verification.mode !== source.verification.mode && (
                        <>
                          {" "}
                          <strong>Note:</strong> such senders sign with {modeLabel(chosenSystem.verification.mode)}; this source
                          checks {modeLabel(source.verification.mode)}.
                        </>
                      )}
                    </p>
                  ) : (
                    <p className="field-hint">A preset fills the fields below and puts its sample event in the sample box.</p>
                  )}
                </div>
              </fieldset>
            )}

            <fieldset className="editor-section">
              <legend>Which messages</legend>
              <div className="grid-2">
                <Labeled label="Name" path="name" errors={errors}>
                  {(p) => <input {...p} value={form.name} maxLength={200} placeholder="Appointment booked" onChange={(e) => set({ name: e.target.value })} />}
                </Labeled>
                <Labeled label="Integration" path="integration" errors={errors} hint={allowed.length === 0 ? undefined : "Only the integrations this source may name."}>
                  {(p) => (
                    <select {...p} value={form.integration} onChange={(e) => set({ integration: e.target.value })}>
                      <option value="">Choose…</option>
                      {allowed.map((i) => (
                        <option key={i.id} value={i.id}>
                          {i.name}
                          {source.integrations.includes(i.id) ? "" : " (no longer allowed)"}
                        </option>
                      ))}
                    </select>
                  )}
                </Labeled>
              </div>
              {allowed.length === 0 && (
                <p className="field-error">
                  {source.displayName} may not name any integration yet: tick one in its settings on the Sources screen first.
                </p>
              )}
              <div className="grid-event">
                <Labeled label="Event named by" path="event" errors={errors}>
                  {(p) => (
                    <select {...p} value={form.eventKind} onChange={(e) => set({ eventKind: e.target.value as EventKind })}>
                      <option value="any">— any message (no event)</option>
                      <option value="pointer">a JSON pointer in the body</option>
                      <option value="header">a header</option>
                    </select>
                  )}
                </Labeled>
                {form.eventKind === "pointer" && (
                  <Labeled label="Pointer" path="event.pointer" errors={errors}>
                    {(p) => (
                      <input {...p} className="mono" spellCheck={false} value={form.eventPointer} placeholder="/type" onChange={(e) => set({ eventPointer: e.target.value })} />
                    )}
                  </Labeled>
                )}
                {form.eventKind === "header" && (
                  <Labeled label="Header" path="event.header" errors={errors}>
                    {(p) => (
                      <input {...p} className="mono" spellCheck={false} value={form.eventHeader} placeholder="X-Event-Type" onChange={(e) => set({ eventHeader: e.target.value })} />
                    )}
                  </Labeled>
                )}
                {form.eventKind !== "any" && (
                  <Labeled label="Equals" path="event.equals" errors={errors}>
                    {(p) => <input {...p} value={form.equals} placeholder="appointment.booked" onChange={(e) => set({ equals: e.target.value })} />}
                  </Labeled>
                )}
              </div>
              {form.eventKind === "any" && (
                <p className="field-hint">Takes every message of the source that no mapping with an event takes.</p>
              )}
            </fieldset>

            <fieldset className="editor-section">
              <legend>Fields</legend>
              {errors.fields && <p className="field-error">{errors.fields}</p>}
              {!integration && <p className="field-hint">Pick the integration first: its fields are what a message is mapped onto.</p>}
              <ol className="field-rows">
                {form.fields.map((row, i) => {
                  const label = `Field ${i + 1}`;
                  const leftovers = rowLeftovers(errors, row, i);
                  const previewProblem = row.field ? fieldProblems.get(row.field) : undefined;
                  return (
                    <li key={row.key} className={`field-row${leftovers.length || previewProblem ? " has-problem" : ""}`}>
                      <div className="field-row-head">
                        <Labeled label={label} path={`fields[${i}].field`} errors={errors} className="field-name">
                          {(p) => (
                            <select {...p} aria-label={`${label}: integration field`} value={row.field} onChange={(e) => setRow(i, { field: e.target.value })}>
                              <option value="">Choose…</option>
                              {specs.map((s) => (
                                <option key={s.name} value={s.name}>
                                  {s.name} ({s.type}
                                  {s.required ? ", required" : ""})
                                </option>
                              ))}
                              {row.field && !specs.some((s) => s.name === row.field) && <option value={row.field}>{row.field} (not a field of this integration)</option>}
                            </select>
                          )}
                        </Labeled>
                        <ValueInputs value={row} onChange={(v) => setRow(i, v)} path={`fields[${i}].value`} label={label} errors={errors} />
                        <button
                          type="button"
                          className="icon danger remove-row"
                          aria-label={`Remove field ${i + 1}`}
                          onClick={() => set({ fields: form.fields.filter((_, k) => k !== i) })}
                        >
                          ✕
                        </button>
                      </div>
                      <TransformChain rows={row.transforms} onChange={(transforms) => setRow(i, { transforms })} path={`fields[${i}].transforms`} label={label} errors={errors} />
                      {leftovers.map(([path, reason]) => (
                        <p key={path} className="field-error">
                          <code>{path}</code> {reason}
                        </p>
                      ))}
                      {previewProblem && (
                        <p className="field-error preview-problem">
                          On the sample: {previewProblem}
                        </p>
                      )}
                    </li>
                  );
                })}
              </ol>
              <button type="button" onClick={() => set({ fields: [...form.fields, newFieldRow(specs.find((s) => !form.fields.some((r) => r.field === s.name))?.name ?? "")] })}>
                Add a field
              </button>
            </fieldset>

            <fieldset className="editor-section">
              <legend>Session and delivery</legend>
              <div className="session-line">
                <Labeled label="Session id from" path="session" errors={errors} className="session-kind">
                  {(p) => (
                    <select {...p} value={form.sessionKind} onChange={(e) => set({ sessionKind: e.target.value as SessionKind })}>
                      <option value="message">the message id (webhook-id or Idempotency-Key)</option>
                      <option value="pointer">a JSON pointer in the body</option>
                      <option value="join">pointers joined</option>
                      <option value="constant">a constant</option>
                    </select>
                  )}
                </Labeled>
                {form.sessionKind !== "message" && (
                  <ValueInputs
                    value={{ ...form.session, kind: form.sessionKind }}
                    onChange={(v) => set({ session: v })}
                    path="session"
                    label="Session"
                    errors={errors}
                    kinds={[form.sessionKind]}
                  />
                )}
              </div>
              {fieldProblems.get("session") && <p className="field-error preview-problem">On the sample: {fieldProblems.get("session")}</p>}
              <div className="grid-2">
                <div className="field" role="radiogroup" aria-label="Delivery">
                  <span className="label-like">Delivery</span>
                  <label className="check">
                    <input type="radio" name="sync" checked={form.sync === "realtime"} onChange={() => set({ sync: "realtime" })} /> Realtime: delivered at once
                  </label>
                  <label className="check">
                    <input type="radio" name="sync" checked={form.sync === "manual"} onChange={() => set({ sync: "manual" })} /> Manual: waits in the Inbox for
                    someone to release it
                  </label>
                </div>
                <div className="field">
                  <span className="label-like">State</span>
                  <label className="check">
                    <input type="checkbox" checked={form.enabled} onChange={(e) => set({ enabled: e.target.checked })} /> Enabled
                  </label>
                  <p className="field-hint">A disabled mapping takes no message.</p>
                </div>
              </div>
            </fieldset>
          </div>

          <aside className="mapping-side" aria-label="Sample and preview">
            <div className="field">
              <label htmlFor="sample-body">Sample body (JSON)</label>
              <textarea
                id="sample-body"
                rows={12}
                spellCheck={false}
                value={sampleBody}
                placeholder='A message as the sender sends it: {"type": "appointment.booked", …}'
                onChange={(e) => setSampleBody(e.target.value)}
              />
            </div>
            <div className="field">
              <label htmlFor="sample-headers">Sample headers (JSON, optional)</label>
              <textarea
                id="sample-headers"
                rows={2}
                spellCheck={false}
                value={sampleHeaders}
                placeholder='{"X-Event-Type": "appointment.booked"}'
                onChange={(e) => setSampleHeaders(e.target.value)}
              />
            </div>
            <PreviewPanel preview={preview} enabled={form.enabled} sessionFromMessage={form.sessionKind === "message"} />
          </aside>
        </div>
        <footer className="drawer-foot">
          <button type="button" onClick={requestClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={saving}>
            {saving ? "Saving…" : editing ? "Save changes" : "Add mapping"}
          </button>
        </footer>
      </form>
      {confirmDiscard && (
        <ConfirmDialog title="Discard your changes?" confirmLabel="Discard" danger onClose={() => setConfirmDiscard(false)} onConfirm={onClose}>
          <p>The changes to this mapping are not saved.</p>
        </ConfirmDialog>
      )}
    </dialog>
  );
}

/** What the sample becomes: whether the mapping takes it, the session id, the data as the
 * integration's checks leave it, and every problem. */
function PreviewPanel({ preview, enabled, sessionFromMessage }: { preview: Preview; enabled: boolean; sessionFromMessage: boolean }) {
  const shown = preview.state === "ready" ? preview.preview : preview.state === "waiting" ? preview.last : undefined;
  return (
    <section className="mapping-preview" aria-labelledby="preview-title" aria-busy={preview.state === "waiting"}>
      <h3 id="preview-title">
        Preview {preview.state === "waiting" && <span className="muted small">trying…</span>}
      </h3>
      {preview.state === "idle" && <p className="muted">Put a sample body above (a preset fills one) to see what it becomes. Nothing is sent.</p>}
      {preview.state === "note" && <p className="field-error">{preview.message}</p>}
      {preview.state === "error" &&
        (preview.error.kind === "invalid" && (preview.error.details.length > 0 || preview.error.field) ? (
          <div role="status">
            <p className="preview-verdict bad">Not a mapping yet:</p>
            <ul className="preview-problems">
              {(preview.error.details.length ? preview.error.details : [{ field: preview.error.field ?? "", reason: preview.error.message }]).map((d) => (
                <li key={`${d.field}:${d.reason}`}>
                  <code>{d.field}</code> {d.reason}
                </li>
              ))}
            </ul>
          </div>
        ) : (
          <p className="field-error" role="alert">
            {preview.error.message}
          </p>
        ))}
      {shown && preview.state !== "error" && preview.state !== "note" && (
        <div role="status" className="preview-result">
          <p className={`preview-verdict ${shown.matched ? "ok" : "bad"}`}>
            {shown.matched
              ? "Matched: this mapping takes the sample."
              : enabled
                ? "Does not match its event: a message like this is not taken by this mapping."
                : "Not taken: the mapping is disabled."}
          </p>
          <dl className="facts">
            <dt>Session id</dt>
            <dd>
              <span className="mono">{shown.sessionId ?? "—"}</span>
              {sessionFromMessage && shown.sessionId && <span className="muted small"> (a real message's own id)</span>}
            </dd>
            <dt>Integration</dt>
            <dd>{shown.integration ?? "—"}</dd>
            <dt>Delivery</dt>
            <dd>{shown.sync === "manual" ? "manual: held in the Inbox until released" : "realtime: at once"}</dd>
          </dl>
          <h4>Data it becomes</h4>
          {shown.data && Object.keys(shown.data).length > 0 ? (
            <table className="data preview-data">
              <tbody>
                {Object.entries(shown.data).map(([k, v]) => (
                  <tr key={k}>
                    <th scope="row">{k}</th>
                    <td className="mono">{typeof v === "string" ? v : JSON.stringify(v)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="muted">No data.</p>
          )}
          {shown.problems.length > 0 ? (
            <>
              <h4 className="bad">
                {shown.problems.length} problem{shown.problems.length === 1 ? "" : "s"}
              </h4>
              <ul className="preview-problems">
                {shown.problems.map((p) => (
                  <li key={`${p.field}:${p.reason}`}>
                    <code>{p.field}</code> {p.reason}
                  </li>
                ))}
              </ul>
            </>
          ) : (
            <p className="ok-text">No problems: the integration's checks pass.</p>
          )}
        </div>
      )}
    </section>
  );
}

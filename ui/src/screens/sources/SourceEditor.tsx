/** Adding or editing one source, in a modal drawer: its name (the endpoint shows as it is
 * typed), kind, how it proves a message is its own (the header fields only when the mode
 * reads a header), its rate, the integrations it may name, and (when added) the secret the
 * sender already has. The backend's problems show at their inputs and in a summary. */
import { useEffect, useRef, useState, type FormEvent } from "react";
import { client } from "../../api/client";
import { ConsoleError } from "../../api/errors";
import type { Integration } from "../../api/types/Integration";
import type { Source } from "../../api/types/Source";
import type { SourceKind } from "../../api/types/SourceKind";
import type { SourceSecret } from "../../api/types/SourceSecret";
import { Labeled, ProblemSummary, inputId } from "../../components/Inputs";
import {
  KINDS,
  MODES,
  defaultHeader,
  emptySourceForm,
  endpointOf,
  errorsByField,
  formToChange,
  formToRequest,
  modeLabel,
  sourceToForm,
  type Mode,
  type SourceForm,
} from "./form";

export function SourceEditor({
  editing,
  integrations,
  intakeUrl,
  onClose,
  onAdded,
  onSaved,
}: {
  editing?: Source;
  integrations: Integration[];
  intakeUrl: string | null;
  onClose: () => void;
  /** A new source and its secret (to show once). */
  onAdded: (added: SourceSecret) => void;
  onSaved: (saved: Source) => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [form, setForm] = useState<SourceForm>(() => (editing ? sourceToForm(editing) : emptySourceForm()));
  const [ownSecret, setOwnSecret] = useState(false);
  const [problem, setProblem] = useState<ConsoleError | null>(null);
  const [saving, setSaving] = useState(false);
  const errors = errorsByField(problem);
  const set = (patch: Partial<SourceForm>) => setForm((f) => ({ ...f, ...patch }));

  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) {
      if (typeof d.showModal === "function") d.showModal();
      else d.setAttribute("open", "");
    }
    document.getElementById(inputId(editing ? "displayName" : "name"))?.focus();
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

  const pickMode = (mode: Mode) => {
    const d = defaultHeader(mode);
    setForm((f) => ({ ...f, mode, header: f.header || d.header, prefix: mode === "hmacHex" && !f.prefix ? d.prefix : f.prefix }));
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(null);
    setSaving(true);
    try {
      if (editing) {
        onSaved(await client.updateSource(editing.id, formToChange(form, editing)));
      } else {
        const request = formToRequest({ ...form, secret: ownSecret ? form.secret : "" });
        const added = await client.addSource(request);
        // The sender's own secret is not kept in the form once sent.
        set({ secret: "" });
        onAdded(added);
      }
    } catch (err) {
      setProblem(ConsoleError.from(err));
    } finally {
      setSaving(false);
    }
  };

  const mode = editing ? editing.verification.mode : form.mode;
  const modeInfo = MODES.find((m) => m.mode === mode);
  const endpoint = endpointOf(intakeUrl, editing ? editing.name : form.name);
  const title = editing ? `Edit ${editing.displayName}` : "Add a source";

  return (
    <dialog
      ref={dialog}
      className="drawer source-editor"
      aria-labelledby="source-editor-title"
      onCancel={(e) => {
        e.preventDefault();
        if (e.target === e.currentTarget) onClose();
      }}
    >
      <form onSubmit={save} noValidate>
        <header className="drawer-head">
          <h2 id="source-editor-title">{title}</h2>
          <button type="button" className="ghost" onClick={onClose} aria-label="Close">
            ✕
          </button>
        </header>
        <div className="drawer-body">
          <ProblemSummary errors={errors} message={problem?.message} />
          <fieldset className="editor-section">
            <legend>The sender</legend>
            <div className="grid-2">
              {editing ? (
                <div className="field">
                  <span className="label-like">Name</span>
                  <span className="mono">{editing.name}</span>
                  <p className="field-hint">Fixed once added: it is the address the sender posts to.</p>
                </div>
              ) : (
                <Labeled
                  label="Name"
                  path="name"
                  errors={errors}
                  hint="Lowercase letters, digits, - and _: it becomes the sender's address."
                >
                  {(p) => (
                    <input
                      {...p}
                      value={form.name}
                      maxLength={64}
                      autoComplete="off"
                      spellCheck={false}
                      placeholder="opendental"
                      onChange={(e) => set({ name: e.target.value })}
                    />
                  )}
                </Labeled>
              )}
              <Labeled label="Display name" path="displayName" errors={errors} hint="Optional; the name when empty.">
                {(p) => (
                  <input {...p} value={form.displayName} maxLength={200} placeholder="OpenDental (front desk)" onChange={(e) => set({ displayName: e.target.value })} />
                )}
              </Labeled>
            </div>
            <p className="endpoint-line">
              <span className="muted">Endpoint: </span>
              <code data-testid="endpoint-preview">{endpoint}</code>
              {!intakeUrl && <span className="muted"> (the intake listener is off: see the note on the Sources screen)</span>}
            </p>
            <Labeled label="Kind" path="kind" errors={errors}>
              {(p) => (
                <select {...p} value={form.kind} onChange={(e) => set({ kind: e.target.value as SourceKind })}>
                  {KINDS.map((k) => (
                    <option key={k.kind} value={k.kind}>
                      {k.label}
                    </option>
                  ))}
                </select>
              )}
            </Labeled>
          </fieldset>

          <fieldset className="editor-section">
            <legend>How it proves a message is its own</legend>
            {editing ? (
              <div className="field">
                <span className="label-like">Verification</span>
                <span>{modeLabel(mode)}</span>
                <p className="field-hint">
                  Another mode needs a new secret of that kind: remove the source and add it again.
                </p>
              </div>
            ) : (
              <Labeled label="Verification" path="verification.mode" errors={errors} hint={modeInfo?.hint}>
                {(p) => (
                  <select {...p} value={form.mode} onChange={(e) => pickMode(e.target.value as Mode)}>
                    {MODES.map((m) => (
                      <option key={m.mode} value={m.mode}>
                        {m.label}
                      </option>
                    ))}
                  </select>
                )}
              </Labeled>
            )}
            {(mode === "hmacHex" || mode === "sharedSecret") && (
              <div className={mode === "hmacHex" ? "grid-3" : "grid-2"}>
                <Labeled label={mode === "hmacHex" ? "Signature header" : "Secret header"} path="verification.header" errors={errors}>
                  {(p) => (
                    <input
                      {...p}
                      value={form.header}
                      maxLength={64}
                      spellCheck={false}
                      placeholder={mode === "hmacHex" ? "X-Signature" : "X-Webhook-Secret"}
                      onChange={(e) => set({ header: e.target.value })}
                    />
                  )}
                </Labeled>
                {mode === "hmacHex" && (
                  <>
                    <Labeled label="Signature prefix" path="verification.prefix" errors={errors} hint="Before the hex, e.g. sha256=; may be empty.">
                      {(p) => <input {...p} value={form.prefix} maxLength={32} spellCheck={false} onChange={(e) => set({ prefix: e.target.value })} />}
                    </Labeled>
                    <Labeled
                      label="Timestamp header"
                      path="verification.timestampHeader"
                      errors={errors}
                      hint="Optional: then the signature covers timestamp.body and old messages are refused."
                    >
                      {(p) => (
                        <input
                          {...p}
                          value={form.timestampHeader}
                          maxLength={64}
                          spellCheck={false}
                          placeholder="X-Timestamp"
                          onChange={(e) => set({ timestampHeader: e.target.value })}
                        />
                      )}
                    </Labeled>
                  </>
                )}
              </div>
            )}
            {!editing && (
              <>
                <label className="check">
                  <input type="checkbox" checked={ownSecret} onChange={(e) => setOwnSecret(e.target.checked)} /> The sender
                  already has a secret
                </label>
                {ownSecret ? (
                  <Labeled
                    label="The sender's secret"
                    path="secret"
                    errors={errors}
                    hint={mode === "standardWebhooks" ? "A whsec_… secret, as the sender shows it." : "16 to 256 characters, no spaces."}
                  >
                    {(p) => (
                      <input
                        {...p}
                        type="password"
                        autoComplete="new-password"
                        value={form.secret}
                        onChange={(e) => set({ secret: e.target.value })}
                      />
                    )}
                  </Labeled>
                ) : (
                  <p className="field-hint">The console makes a secret and shows it once, to give to the sender.</p>
                )}
              </>
            )}
          </fieldset>

          <fieldset className="editor-section">
            <legend>What it may do</legend>
            <div className="grid-2">
              <Labeled label="Rate (messages a minute)" path="ratePerMinute" errors={errors} hint="Above it the sender is told to wait (429).">
                {(p) => (
                  <input {...p} inputMode="numeric" value={form.ratePerMinute} onChange={(e) => set({ ratePerMinute: e.target.value })} />
                )}
              </Labeled>
              <div className="field">
                <span className="label-like">Receiving</span>
                <label className="check">
                  <input type="checkbox" checked={form.enabled} onChange={(e) => set({ enabled: e.target.checked })} /> Enabled
                </label>
                <p className="field-hint">A disabled source's messages are refused (403).</p>
              </div>
            </div>
            <div className="field" role="group" aria-labelledby="source-integrations-label" aria-describedby={errors.integrations ? `${inputId("integrations")}-err` : undefined}>
              <span className="label-like" id="source-integrations-label">
                Integrations it may name
              </span>
              {integrations.length === 0 ? (
                <p className="field-hint">There are no integrations yet: add one on the Integrations screen first.</p>
              ) : (
                <ul className="check-list" id={inputId("integrations")}>
                  {integrations.map((i) => (
                    <li key={i.id}>
                      <label className="check">
                        <input
                          type="checkbox"
                          aria-invalid={errors.integrations ? true : undefined}
                          checked={form.integrations.includes(i.id)}
                          onChange={(e) =>
                            set({
                              integrations: e.target.checked ? [...form.integrations, i.id] : form.integrations.filter((x) => x !== i.id),
                            })
                          }
                        />{" "}
                        {i.name}
                      </label>
                    </li>
                  ))}
                </ul>
              )}
              <p className="field-hint">A mapping of this source can deliver only to these.</p>
              {errors.integrations && (
                <p className="field-error" id={`${inputId("integrations")}-err`}>
                  {errors.integrations}
                </p>
              )}
            </div>
          </fieldset>
        </div>
        <footer className="drawer-foot">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={saving}>
            {saving ? "Saving…" : editing ? "Save changes" : "Add source"}
          </button>
        </footer>
      </form>
    </dialog>
  );
}

/** The intake listener, where senders post: whether this console listens and where, and its
 * setting (on or off, the address, TLS), changed here. The window, and a server started
 * without its own listener option, apply a change at once; a server started with one keeps it
 * and takes the setting at its next start. */
import { useState, type FormEvent } from "react";
import { client } from "../../api/client";
import { ConsoleError } from "../../api/errors";
import type { ListenerSettings } from "../../api/types/ListenerSettings";
import type { ListenerStatus } from "../../api/types/ListenerStatus";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { Labeled, ProblemSummary } from "../../components/Inputs";
import { errorsByField } from "./form";

const DEFAULT_BIND = "127.0.0.1:7879";

interface ListenerForm {
  bind: string;
  tls: boolean;
  tlsCert: string;
  tlsKey: string;
  allowRemote: boolean;
}

function formOf(s: ListenerSettings): ListenerForm {
  return {
    bind: s.bind || DEFAULT_BIND,
    tls: !!(s.tlsCert || s.tlsKey),
    tlsCert: s.tlsCert ?? "",
    tlsKey: s.tlsKey ?? "",
    allowRemote: s.allowRemote ?? false,
  };
}

export function settingsOf(f: ListenerForm, enabled: boolean): ListenerSettings {
  const s: ListenerSettings = { enabled, bind: f.bind.trim() };
  if (f.tls) {
    s.tlsCert = f.tlsCert.trim();
    s.tlsKey = f.tlsKey.trim();
  } else if (f.allowRemote) {
    s.allowRemote = true;
  }
  return s;
}

export function ListenerPanel({ status, onChanged }: { status: ListenerStatus; onChanged: (s: ListenerStatus, note: string) => void }) {
  const on = status.url !== null;
  const [editing, setEditing] = useState(!on);
  const [form, setForm] = useState<ListenerForm>(() => formOf(status.settings));
  const [problem, setProblem] = useState<ConsoleError | null>(null);
  const [saving, setSaving] = useState(false);
  const [askOff, setAskOff] = useState(false);
  const errors = errorsByField(problem);
  const set = (patch: Partial<ListenerForm>) => setForm((f) => ({ ...f, ...patch }));

  const save = async (enabled: boolean) => {
    setProblem(null);
    setSaving(true);
    try {
      const next = await client.setIntakeListener(settingsOf(form, enabled));
      const note = !next.appliesNow
        ? "Saved. This console's server was started with its own listener address, which it keeps until it is next started without it."
        : next.url
          ? `The intake listener is on: senders post to ${next.url}<source name>.`
          : "The intake listener is off: senders cannot reach this console.";
      setEditing(next.url === null && next.appliesNow);
      onChanged(next, note);
    } catch (e) {
      setProblem(ConsoleError.from(e));
    } finally {
      setSaving(false);
    }
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void save(true);
  };

  return (
    <div className={`listener ${on ? "on" : "off"}`} role="region" aria-label="Intake listener">
      {on ? (
        <p>
          <span className="badge ok">Listening</span> Senders post to <code>{status.url}&lt;source name&gt;</code>: give each sender
          its endpoint below.{" "}
          {!editing && (
            <button type="button" className="linkish" onClick={() => setEditing(true)}>
              Listener settings…
            </button>
          )}
        </p>
      ) : (
        <p>
          <span className="badge warn">Intake listener off</span> No sender can reach this console yet. You can still add sources
          and mappings, and send test events. Turn the listener on here:
        </p>
      )}
      {!status.appliesNow && (
        <p className="muted">
          This console's server was started with its own listener address: a change here is saved and applies when it is
          next started without it.
        </p>
      )}
      {editing && (
        <form className="listener-form" onSubmit={submit} noValidate>
          <ProblemSummary errors={errors} message={problem?.message} />
          <div className="grid-2">
            <Labeled
              label="Listen on (address:port)"
              path="bind"
              errors={errors}
              hint="127.0.0.1 takes senders on this machine (or through a proxy on it); 0.0.0.0 takes them from the network, with TLS or a TLS proxy in front."
            >
              {(p) => <input {...p} className="mono" value={form.bind} placeholder={DEFAULT_BIND} spellCheck={false} onChange={(e) => set({ bind: e.target.value })} />}
            </Labeled>
            <div className="field">
              <span className="label-like">Encryption</span>
              <label className="check">
                <input type="radio" name="listener-tls" checked={form.tls} onChange={() => set({ tls: true })} /> TLS with a certificate on
                this machine
              </label>
              <label className="check">
                <input type="radio" name="listener-tls" checked={!form.tls} onChange={() => set({ tls: false })} /> None here (loopback,
                or a TLS proxy in front)
              </label>
            </div>
          </div>
          {form.tls ? (
            <div className="grid-2">
              <Labeled label="Certificate file (PEM chain)" path="tlsCert" errors={errors} hint="The full path, e.g. /etc/letsencrypt/live/clinic/fullchain.pem">
                {(p) => <input {...p} className="mono" value={form.tlsCert} spellCheck={false} onChange={(e) => set({ tlsCert: e.target.value })} />}
              </Labeled>
              <Labeled label="Key file (PEM)" path="tlsKey" errors={errors} hint="Its private key, unencrypted; read by the console, never shown.">
                {(p) => <input {...p} className="mono" value={form.tlsKey} spellCheck={false} onChange={(e) => set({ tlsKey: e.target.value })} />}
              </Labeled>
            </div>
          ) : (
            <label className="check">
              <input type="checkbox" checked={form.allowRemote} onChange={(e) => set({ allowRemote: e.target.checked })} /> A TLS proxy is
              in front: accept plain HTTP on an address beyond this machine
            </label>
          )}
          <div className="row listener-actions">
            <button type="submit" className="primary" disabled={saving}>
              {saving ? "Saving…" : on ? "Save and restart the listener" : "Turn the listener on"}
            </button>
            {on && (
              <button type="button" className="danger" disabled={saving} onClick={() => setAskOff(true)}>
                Turn it off
              </button>
            )}
            {on && (
              <button type="button" disabled={saving} onClick={() => setEditing(false)}>
                Cancel
              </button>
            )}
          </div>
        </form>
      )}
      {askOff && (
        <ConfirmDialog title="Turn the intake listener off?" confirmLabel="Turn it off" danger onClose={() => setAskOff(false)} onConfirm={() => void save(false)}>
          <p>Senders can no longer reach this console: their messages are not received until it is turned on again.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}

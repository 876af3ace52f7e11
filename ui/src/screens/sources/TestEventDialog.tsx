/** "Send a signed test event": the console signs a body (the default test event, one typed
 * here, or a preset's sample) with the source's own secret and takes it as its listener
 * would. The answer (the inbox message and its status) shows, then what became of it, with a
 * link to the Inbox filtered by the source. */
import { useEffect, useRef, useState } from "react";
import { client } from "../../api/client";
import { ConsoleError } from "../../api/errors";
import type { IntakeAccepted } from "../../api/types/IntakeAccepted";
import type { InboxItem } from "../../api/types/InboxItem";
import type { PresetSystem } from "../../api/types/PresetSystem";
import type { Source } from "../../api/types/Source";
import { navigate } from "../../router";
import { hasHandoff, isHeld } from "../inbox/model";
import { StatusBadge } from "../inbox/status";

/** How long the dialog follows the message after the answer (mapping and delivery run in the
 * background). */
const FOLLOW_MS = 15_000;

type Parsed = { ok: true; body?: unknown; headers: Record<string, string> } | { ok: false; field: "body" | "headers"; message: string };

export function parseTestEvent(bodyText: string, headersText: string): Parsed {
  let body: unknown;
  if (bodyText.trim()) {
    try {
      body = JSON.parse(bodyText);
    } catch (e) {
      return { ok: false, field: "body", message: `is not JSON (${e instanceof Error ? e.message : String(e)})` };
    }
  }
  const headers: Record<string, string> = {};
  if (headersText.trim()) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(headersText);
    } catch {
      return { ok: false, field: "headers", message: 'must be a JSON object of header names and text values: {"X-Event": "booked"}' };
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      return { ok: false, field: "headers", message: 'must be a JSON object: {"X-Event": "booked"}' };
    }
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== "string") return { ok: false, field: "headers", message: `${k} must be text` };
      headers[k] = v;
    }
  }
  return { ok: true, body, headers };
}

export function TestEventDialog({ source, onClose }: { source: Source; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [presets, setPresets] = useState<PresetSystem[]>([]);
  const [bodyText, setBodyText] = useState("");
  const [headersText, setHeadersText] = useState("");
  const [problem, setProblem] = useState<{ field: string; message: string } | null>(null);
  const [sending, setSending] = useState(false);
  const [answer, setAnswer] = useState<IntakeAccepted | null>(null);
  const [now, setNow] = useState<InboxItem | null>(null);

  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) {
      if (typeof d.showModal === "function") d.showModal();
      else d.setAttribute("open", "");
    }
    return () => {
      if (d?.open && typeof d.close === "function") d.close();
    };
  }, []);

  useEffect(() => {
    let live = true;
    client.mappingPresets().then(
      (p) => live && setPresets(p),
      () => {
        // Presets only help fill the body: without them the body is typed.
      },
    );
    return () => {
      live = false;
    };
  }, []);

  // Follows the message until it is no longer `received` (or a while has passed).
  useEffect(() => {
    if (!answer) return;
    let live = true;
    const until = Date.now() + FOLLOW_MS;
    const follow = async () => {
      while (live && Date.now() < until) {
        try {
          const view = await client.inboxItem(answer.id);
          if (!live) return;
          setNow(view.item);
          // Settled: anything but received, or a handoff still on its way.
          const settled = view.item.status !== "received" && !(view.item.status === "mapped" && hasHandoff(view.item));
          if (settled) return;
        } catch {
          return;
        }
        await new Promise((r) => setTimeout(r, 400));
      }
    };
    void follow();
    return () => {
      live = false;
    };
  }, [answer]);

  const pickPreset = (id: string) => {
    for (const system of presets) {
      const event = system.events.find((e) => e.id === id);
      if (event) {
        setBodyText(JSON.stringify(event.sample, null, 2));
        setHeadersText(Object.keys(event.headers).length ? JSON.stringify(event.headers, null, 2) : "");
        setProblem(null);
      }
    }
  };

  const send = async () => {
    const parsed = parseTestEvent(bodyText, headersText);
    if (!parsed.ok) {
      setProblem({ field: parsed.field, message: parsed.message });
      return;
    }
    setProblem(null);
    setSending(true);
    setAnswer(null);
    setNow(null);
    try {
      const request = parsed.body === undefined ? { headers: parsed.headers } : { body: parsed.body, headers: parsed.headers };
      setAnswer(await client.sendTestEvent(source.id, request));
    } catch (e) {
      const err = ConsoleError.from(e);
      setProblem({ field: err.field ?? "", message: err.message });
    } finally {
      setSending(false);
    }
  };

  const shown = now ?? null;

  return (
    <dialog
      ref={ref}
      className="test-event-dialog"
      aria-labelledby="test-event-title"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <h2 id="test-event-title">Send a signed test event through {source.displayName}</h2>
      <p className="muted">
        The console signs it with this source's own secret and takes it exactly as its listener takes a sender's message:
        verified, counted against the rate, stored in the inbox and mapped by the source's mappings.
      </p>
      {presets.length > 0 && (
        <div className="field">
          <label htmlFor="te-preset">Fill from a preset's sample</label>
          <select id="te-preset" defaultValue="" onChange={(e) => pickPreset(e.target.value)}>
            <option value="">—</option>
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
        </div>
      )}
      <div className="field">
        <label htmlFor="te-body">Body (JSON)</label>
        <textarea
          id="te-body"
          rows={8}
          spellCheck={false}
          placeholder='Empty: a small {"type": "handoff-console.test"} event'
          value={bodyText}
          aria-invalid={problem?.field === "body" ? true : undefined}
          onChange={(e) => setBodyText(e.target.value)}
        />
        {problem?.field === "body" && <p className="field-error">Body {problem.message}</p>}
      </div>
      <div className="field">
        <label htmlFor="te-headers">Extra headers (JSON, optional)</label>
        <textarea
          id="te-headers"
          rows={2}
          spellCheck={false}
          placeholder='{"X-Event-Type": "appointment.booked"}'
          value={headersText}
          aria-invalid={problem?.field.startsWith("headers") ? true : undefined}
          onChange={(e) => setHeadersText(e.target.value)}
        />
        {problem?.field.startsWith("headers") && <p className="field-error">Headers: {problem.message}</p>}
      </div>
      {problem && !problem.field.startsWith("headers") && problem.field !== "body" && (
        <p className="field-error" role="alert">
          {problem.message}
        </p>
      )}
      {answer && (
        <div className="test-answer" role="status">
          <p>
            <strong>Accepted</strong> as inbox message <code>{answer.id}</code>: <StatusBadge status={answer.status} />
          </p>
          {shown && shown.status !== answer.status && (
            <p>
              Now: <StatusBadge status={shown.status} held={isHeld(shown)} />
              {shown.mappingName && <> by the mapping “{shown.mappingName}”</>}
              {hasHandoff(shown) && shown.sessionId && (
                <>
                  {" "}
                  as handoff{" "}
                  <a
                    className="mono"
                    href={`/stats/sessions/${encodeURIComponent(shown.sessionId)}`}
                    onClick={(e) => {
                      e.preventDefault();
                      onClose();
                      navigate({ screen: "stats", session: shown.sessionId! });
                    }}
                  >
                    {shown.handoffId}
                  </a>
                </>
              )}
              {shown.error && <span className="field-error"> {shown.error}</span>}
            </p>
          )}
          {shown?.status === "ignored" && <p className="muted">No mapping of this source takes it: add one on the Mappings screen.</p>}
          <p>
            <a
              href={`/inbox/${encodeURIComponent(source.name)}`}
              onClick={(e) => {
                e.preventDefault();
                onClose();
                navigate({ screen: "inbox", source: source.name });
              }}
            >
              See {source.displayName}'s messages in the Inbox
            </a>
          </p>
        </div>
      )}
      <div className="row confirm-actions">
        <button type="button" onClick={onClose}>
          Close
        </button>
        <button type="button" className="primary" disabled={sending} onClick={() => void send()}>
          {sending ? "Sending…" : answer ? "Send another" : "Send test event"}
        </button>
      </div>
    </dialog>
  );
}

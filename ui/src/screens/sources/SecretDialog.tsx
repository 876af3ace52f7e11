/** A source's secret, shown once (after it is made or rotated): a modal with the secret, a
 * copy button, how the sender uses it and where it posts. The secret lives only in the
 * parent's state while this is open; closing drops it (nothing can show it again). */
import { useEffect, useRef, useState } from "react";
import type { Verification } from "../../api/types/Verification";

export interface ShownSecret {
  /** "made" (a new source) or "rotated". */
  why: "made" | "rotated";
  sourceName: string;
  verification: Verification;
  secret: string;
  endpoint: string;
  /** Until when the replaced secret is still accepted (a rotation). */
  previousUntil?: string | null;
}

function howToUse(v: Verification): string {
  switch (v.mode) {
    case "standardWebhooks":
      return "The sender signs every message with it (Standard Webhooks: the webhook-id, webhook-timestamp and webhook-signature headers).";
    case "hmacHex":
      return `The sender uses it as the HMAC-SHA256 key and sends the hex signature of each body in the ${v.header} header, after "${v.prefix}".`;
    case "sharedSecret":
      return `The sender puts it, as it is, in the ${v.header} header of every message.`;
    case "intakeKey":
      return "The sender sends it in the Authorization header of every message: Bearer <key>.";
  }
}

export function SecretDialog({ shown, onClose }: { shown: ShownSecret; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<"yes" | "select" | null>(null);

  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (!d.open) {
      if (typeof d.showModal === "function") d.showModal();
      else d.setAttribute("open", "");
    }
    input.current?.focus();
    input.current?.select();
    return () => {
      if (d.open && typeof d.close === "function") d.close();
    };
  }, []);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(shown.secret);
      setCopied("yes");
    } catch {
      // No clipboard (an insecure origin, a refused permission): select it for Ctrl+C.
      input.current?.focus();
      input.current?.select();
      setCopied("select");
    }
  };

  return (
    <dialog
      ref={ref}
      className="secret-dialog"
      role="alertdialog"
      aria-modal="true"
      aria-labelledby="secret-title"
      aria-describedby="secret-warning"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <h2 id="secret-title">
        {shown.why === "made" ? "Source added" : "Secret rotated"}: the secret of {shown.sourceName}
      </h2>
      <p id="secret-warning" className="secret-warning" role="note">
        <strong>Copy it now: it will not be shown again.</strong> The console keeps it only in its secrets backend, and no
        screen can show it later. If it is lost, rotate the secret and give the sender the new one.
      </p>
      <label htmlFor="secret-value">Secret</label>
      <div className="row secret-row">
        <input
          ref={input}
          id="secret-value"
          className="mono secret-value"
          readOnly
          value={shown.secret}
          spellCheck={false}
          autoComplete="off"
          onFocus={(e) => e.currentTarget.select()}
        />
        <button type="button" className="primary" onClick={() => void copy()}>
          Copy
        </button>
      </div>
      <p className="field-hint" role="status">
        {copied === "yes" ? "Copied to the clipboard." : copied === "select" ? "Selected: press Ctrl+C (⌘C) to copy it." : ""}
      </p>
      <p>{howToUse(shown.verification)}</p>
      <p>
        The sender posts to <code className="endpoint">{shown.endpoint}</code>
      </p>
      {shown.why === "rotated" && (
        <p className="muted">
          {shown.previousUntil
            ? `The secret it replaces is still accepted until ${new Date(shown.previousUntil).toLocaleString()}, so the sender can switch without losing messages.`
            : "The secret it replaces is no longer accepted."}
        </p>
      )}
      <div className="row confirm-actions">
        <button type="button" onClick={onClose}>
          I have copied it: close
        </button>
      </div>
    </dialog>
  );
}

/** The console's one confirmation dialog: a modal on the native <dialog>, announced as an
 * alertdialog (it interrupts to ask). Focus moves to Cancel (the safe choice) when it opens and
 * back to what had it when it closes; Escape cancels. Confirming runs `onConfirm`: when that
 * returns a promise the dialog stays open and busy until it settles, shows its error if it
 * fails, and closes when it succeeds. A plain function closes it at once (for actions that show
 * their own progress elsewhere), unless it throws. */
import { useEffect, useId, useRef, useState, type ReactNode } from "react";
import { ConsoleError } from "../api/errors";
import "./confirm-dialog.css";

export interface ConfirmDialogProps {
  /** Whether it shows; it may also be mounted only while it is needed (open by default). */
  open?: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  /** A destructive or irreversible action: the confirm button says so. */
  danger?: boolean;
  /** Work under way outside the dialog: both buttons wait, and Escape does nothing. */
  busy?: boolean;
  /** Nothing to confirm (e.g. nothing matches): the confirm button is disabled. */
  confirmDisabled?: boolean;
  onConfirm: () => void | Promise<unknown>;
  /** Cancel, Escape, or a confirmation that succeeded. */
  onClose: () => void;
}

export function ConfirmDialog({
  open = true,
  title,
  children,
  confirmLabel,
  danger = false,
  busy: busyOutside = false,
  confirmDisabled = false,
  onConfirm,
  onClose,
}: ConfirmDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  // Several dialogs may be in the page at once: each names its own title and text.
  const titleId = useId();
  const bodyId = useId();
  const [working, setWorking] = useState(false);
  const [error, setError] = useState<ConsoleError | null>(null);
  const busy = busyOutside || working;

  useEffect(() => {
    const d = ref.current;
    if (!open || !d) return;
    const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!d.open) {
      // jsdom has no showModal; a browser always does.
      if (typeof d.showModal === "function") d.showModal();
      else d.setAttribute("open", "");
    }
    cancelRef.current?.focus();
    return () => {
      if (d.open) {
        if (typeof d.close === "function") d.close();
        else d.removeAttribute("open");
      }
      // Back to where the reader was, unless that is gone (e.g. the row just removed).
      if (previous?.isConnected) previous.focus();
    };
  }, [open]);

  // A reopened dialog starts afresh, without the last attempt's error.
  const [shownFor, setShownFor] = useState(open);
  if (shownFor !== open) {
    setShownFor(open);
    if (open) setError(null);
  }

  const cancel = () => {
    if (!busy) onClose();
  };

  const confirm = async () => {
    if (busy || confirmDisabled) return;
    setError(null);
    try {
      const result = onConfirm();
      if (!(result instanceof Promise)) {
        onClose();
        return;
      }
      setWorking(true);
      await result;
      setWorking(false);
      onClose();
    } catch (e) {
      setError(ConsoleError.from(e));
      setWorking(false);
    }
  };

  return (
    <dialog
      ref={ref}
      className="confirm-dialog"
      role="alertdialog"
      aria-modal="true"
      aria-labelledby={titleId}
      aria-describedby={bodyId}
      aria-busy={busy || undefined}
      onCancel={(e) => {
        // The browser's Escape: this dialog decides (and stays open while busy).
        e.preventDefault();
        // React passes the cancel on to an enclosing dialog (an editor): it is this one's.
        e.stopPropagation();
        cancel();
      }}
      onKeyDown={(e) => {
        // Escape closes this dialog only, not a drawer or editor it sits in.
        if (e.key !== "Escape") return;
        e.preventDefault();
        e.stopPropagation();
        cancel();
      }}
    >
      <h2 id={titleId}>{title}</h2>
      <div id={bodyId} className="confirm-body">
        {children}
      </div>
      {error && (
        <p className="field-error" role="alert">
          {error.message}
        </p>
      )}
      <div className="row confirm-actions">
        <button ref={cancelRef} type="button" onClick={cancel} disabled={busy}>
          Cancel
        </button>
        <button
          type="button"
          className={danger ? "danger" : "primary"}
          onClick={() => void confirm()}
          disabled={busy || confirmDisabled}
        >
          {busy ? "Working…" : confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

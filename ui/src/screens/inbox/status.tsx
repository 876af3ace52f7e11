/** An inbox status as a badge: each status its own colour and shape, so received, mapped and
 * failed (the undelivered ones) stand apart from delivered and ignored. */
import type { InboxStatus } from "../../api/types/InboxStatus";
import { STATUS_TEXT } from "./model";
import "./inbox.css";

const MARK: Record<InboxStatus, string> = {
  received: "●",
  mapped: "◐",
  failed: "✕",
  delivered: "✓",
  ignored: "–",
};

export function StatusBadge({ status, held = false }: { status: InboxStatus; held?: boolean }) {
  const text = STATUS_TEXT[status];
  const label = status === "mapped" && held ? "mapped · held" : text.label;
  return (
    <span className={`badge inbox-status ${status}${held ? " held" : ""}`} title={held ? "a manual mapping holds it until someone releases it" : text.means}>
      <span aria-hidden="true">{MARK[status]}</span> {label}
    </span>
  );
}

/** What an inbox message's status means, and what a person may do with it. No React here. */
import type { InboxItem } from "../../api/types/InboxItem";
import type { InboxStatus } from "../../api/types/InboxStatus";

export const STATUSES: InboxStatus[] = ["received", "mapped", "failed", "delivered", "ignored"];

/** The statuses of messages not delivered yet, which need someone (or the worker) to act. */
export const UNDELIVERED: InboxStatus[] = ["received", "mapped", "failed"];

export const STATUS_TEXT: Record<InboxStatus, { label: string; means: string }> = {
  received: { label: "received", means: "accepted, not mapped yet" },
  mapped: { label: "mapped", means: "its handoff is on its way, or a manual mapping holds it for release" },
  failed: { label: "failed", means: "it could not become a handoff, or its handoff failed with no retry left" },
  delivered: { label: "delivered", means: "its handoff was delivered" },
  ignored: { label: "ignored", means: "no mapping took it; nothing was sent" },
};

/** Whether the message's handoff exists: the inbox names it (`handoffId`) only once it is made. */
export function hasHandoff(item: InboxItem): boolean {
  return item.handoffId !== null;
}

/** A `mapped` message a manual mapping holds: no handoff until someone releases it. */
export function isHeld(item: InboxItem): boolean {
  return item.status === "mapped" && !hasHandoff(item);
}

export interface Actions {
  release: boolean;
  reprocess: boolean;
  ignore: boolean;
}

/** Which actions the console takes for a message (the server checks again and answers 409
 * when the message changed meanwhile):
 * - release: a message a manual mapping holds (mapped, no handoff yet);
 * - reprocess: one with no handoff (received, failed, ignored, or held), or whose handoff
 *   failed for good (it gets a new handoff);
 * - ignore: one with no handoff that is not ignored already. */
export function actionsFor(item: InboxItem): Actions {
  const made = hasHandoff(item);
  return {
    release: isHeld(item),
    reprocess: made ? item.status === "failed" : item.status !== "delivered",
    ignore: !made && item.status !== "ignored" && item.status !== "delivered",
  };
}

/** The status in words for a row: "mapped" says whether it waits for a person or is on its way. */
export function statusDetail(item: InboxItem): string {
  if (item.status === "mapped") return isHeld(item) ? "waiting for release" : "delivering";
  if (item.status === "failed") return hasHandoff(item) ? "delivery failed" : "not mapped";
  return "";
}

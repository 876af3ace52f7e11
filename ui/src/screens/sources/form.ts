/** The source form's state and what it sends, the endpoint a sender is given, and the words
 * for kinds and verification modes. No React here (tested on its own). */
import { ConsoleError } from "../../api/errors";
import type { Source } from "../../api/types/Source";
import type { SourceChange } from "../../api/types/SourceChange";
import type { SourceKind } from "../../api/types/SourceKind";
import type { SourceRequest } from "../../api/types/SourceRequest";
import type { Verification } from "../../api/types/Verification";

export type Mode = Verification["mode"];

export const MODES: { mode: Mode; label: string; hint: string }[] = [
  {
    mode: "standardWebhooks",
    label: "Standard Webhooks",
    hint: "The sender signs each message with webhook-id, webhook-timestamp and webhook-signature headers (a whsec_ secret).",
  },
  {
    mode: "hmacHex",
    label: "HMAC-SHA256 signature header",
    hint: "The sender puts a hex HMAC-SHA256 of the body in a header, e.g. X-Signature: sha256=…",
  },
  {
    mode: "sharedSecret",
    label: "Shared secret header",
    hint: "The sender puts the secret itself in a header, e.g. X-Webhook-Secret.",
  },
  {
    mode: "intakeKey",
    label: "Intake key (bearer)",
    hint: "The sender sends Authorization: Bearer <key>. Suits voice platforms that call an API with a key.",
  },
];

export const KINDS: { kind: SourceKind; label: string }[] = [
  { kind: "ehr", label: "EHR / practice management" },
  { kind: "voice", label: "Voice platform" },
  { kind: "other", label: "Other" },
];

export function modeLabel(mode: Mode): string {
  return MODES.find((m) => m.mode === mode)?.label ?? mode;
}

export function kindLabel(kind: SourceKind): string {
  return KINDS.find((k) => k.kind === kind)?.label ?? kind;
}

/** A verification in one line: the mode and the header it reads. */
export function verificationSummary(v: Verification): string {
  switch (v.mode) {
    case "hmacHex":
      return `${modeLabel(v.mode)}: ${v.header}: ${v.prefix}…${v.timestampHeader ? ` (timestamp in ${v.timestampHeader})` : ""}`;
    case "sharedSecret":
      return `${modeLabel(v.mode)}: ${v.header}`;
    default:
      return modeLabel(v.mode);
  }
}

export interface SourceForm {
  name: string;
  displayName: string;
  kind: SourceKind;
  mode: Mode;
  header: string;
  prefix: string;
  timestampHeader: string;
  ratePerMinute: string;
  /** Integration ids ticked. */
  integrations: string[];
  enabled: boolean;
  /** The sender's own secret, when it has one already (sent once, never kept after). */
  secret: string;
}

export function emptySourceForm(): SourceForm {
  return {
    name: "",
    displayName: "",
    kind: "ehr",
    mode: "standardWebhooks",
    header: "",
    prefix: "",
    timestampHeader: "",
    ratePerMinute: "6000",
    integrations: [],
    enabled: true,
    secret: "",
  };
}

export function sourceToForm(s: Source): SourceForm {
  const v = s.verification;
  return {
    name: s.name,
    displayName: s.displayName === s.name ? "" : s.displayName,
    kind: s.kind,
    mode: v.mode,
    header: v.mode === "hmacHex" || v.mode === "sharedSecret" ? v.header : "",
    prefix: v.mode === "hmacHex" ? v.prefix : "",
    timestampHeader: v.mode === "hmacHex" ? (v.timestampHeader ?? "") : "",
    ratePerMinute: String(s.ratePerMinute),
    integrations: [...s.integrations],
    enabled: s.enabled,
    secret: "",
  };
}

/** The header a mode reads by default (what the form proposes when the mode is picked). */
export function defaultHeader(mode: Mode): { header: string; prefix: string } {
  if (mode === "hmacHex") return { header: "X-Signature", prefix: "sha256=" };
  if (mode === "sharedSecret") return { header: "X-Webhook-Secret", prefix: "" };
  return { header: "", prefix: "" };
}

export function verificationOf(f: SourceForm): Verification {
  switch (f.mode) {
    case "hmacHex": {
      const ts = f.timestampHeader.trim();
      return { mode: "hmacHex", header: f.header.trim(), prefix: f.prefix, ...(ts ? { timestampHeader: ts } : {}) };
    }
    case "sharedSecret":
      return { mode: "sharedSecret", header: f.header.trim() };
    case "standardWebhooks":
      return { mode: "standardWebhooks" };
    case "intakeKey":
      return { mode: "intakeKey" };
  }
}

/** A whole number typed in the form, or the form's own problem for it. */
function rateOf(f: SourceForm): number {
  const text = f.ratePerMinute.trim();
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) {
    throw new ConsoleError({
      kind: "invalid",
      field: "ratePerMinute",
      message: "must be a whole number of messages a minute",
      details: [{ field: "ratePerMinute", reason: "must be a whole number of messages a minute" }],
    });
  }
  return n;
}

export function formToRequest(f: SourceForm): SourceRequest {
  const req: SourceRequest = {
    name: f.name.trim(),
    kind: f.kind,
    verification: verificationOf(f),
    enabled: f.enabled,
    ratePerMinute: rateOf(f),
    integrations: f.integrations,
  };
  if (f.displayName.trim()) req.displayName = f.displayName.trim();
  if (f.secret) req.secret = f.secret;
  return req;
}

/** What an edit sends: every setting the form shows (the mode stays the source's). */
export function formToChange(f: SourceForm, current: Source): SourceChange {
  return {
    displayName: f.displayName.trim() || current.name,
    kind: f.kind,
    verification: verificationOf({ ...f, mode: current.verification.mode }),
    enabled: f.enabled,
    ratePerMinute: rateOf(f),
    integrations: f.integrations,
  };
}

/** Each field's problem (the first for a field) from a refused save. */
export function errorsByField(e: ConsoleError | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!e) return out;
  for (const d of e.details) out[d.field] ??= d.reason;
  if (e.field) out[e.field] ??= e.message;
  return out;
}

/** Where a sender posts: the listener's URL and the name, or (no listener) the path alone. */
export function endpointOf(intakeUrl: string | null | undefined, name: string): string {
  const segment = name.trim() ? encodeURIComponent(name.trim()) : "<name>";
  return intakeUrl ? `${intakeUrl}${segment}` : `/intake/v1/${segment}`;
}

/** Formatting for the history-file viewer. */

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

/** A duration in ms as people read it; "—" when unknown. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** A rate in [0, 1] as a percentage; "—" when there is none. */
export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined) return "—";
  return `${(rate * 100).toFixed(1)}%`;
}

/** An audit entry's details in one line (they never hold secrets), cut to `max` characters. */
export function detailsLine(details: unknown, max = 160): string {
  if (details === null || details === undefined) return "";
  const s = typeof details === "string" ? details : JSON.stringify(details);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function obj(v: unknown): Record<string, Json> {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, Json>) : {};
}

function text(v: Json | undefined): string {
  if (v === null || v === undefined) return "—";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return v.map(text).join(", ");
  return Object.entries(v)
    .filter(([, x]) => x !== null && x !== undefined && x !== "")
    .map(([k, x]) => `${k} ${text(x)}`)
    .join(", ");
}

/** An audit entry's details as a sentence a support person reads (never raw JSON), by action;
 * unknown shapes fall back to "key value" pairs. The details never hold secrets. */
export function auditSummary(action: string, details: unknown, max = 300): string {
  const d = obj(details);
  let s: string;
  switch (action) {
    case "integration.created":
    case "integration.removed": {
      const t = obj(d.target);
      const where = t.endpoint ? `${text(t.method ?? "")} ${text(t.endpoint)}`.trim() : [t.type, t.hostname, t.database, t.table].filter(Boolean).map((x) => text(x)).join(" · ");
      s = `${action === "integration.created" ? "Created" : "Removed"}${where ? `: ${where}` : ""}`;
      break;
    }
    case "integration.updated": {
      const changes = Array.isArray(d.changes) ? d.changes.map(obj) : [];
      const parts = changes.map((c) => {
        const path = text(c.path);
        if (c.redacted) return `${path} (secret changed)`;
        if (c.change === "added") return `${path} added (${text(c.after)})`;
        if (c.change === "removed") return `${path} removed`;
        return `${path}: ${text(c.before)} → ${text(c.after)}`;
      });
      s = parts.length ? `Changed ${parts.join("; ")}` : "Changed (no field listed)";
      if (typeof d.omitted === "number" && d.omitted > 0) s += `; and ${d.omitted} more`;
      break;
    }
    case "secret.set":
    case "secret.rotated":
      s = `${action === "secret.set" ? "Set" : "Replaced"} the secret ${text(d.secret)}${d.path ? ` (${text(d.path)})` : ""}`;
      break;
    case "retry.single":
      s = `Retried a handoff: attempt #${text(d.attemptNumber)} ${d.success ? "delivered" : `failed${d.category ? ` (${text(d.category)})` : ""}`}`;
      break;
    case "retry.bulk":
      s = `Retried ${text(d.retried)} of ${text(d.matched)} failed handoffs: ${text(d.succeeded)} delivered${
        typeof d.skipped === "number" && d.skipped > 0 ? `, ${d.skipped} skipped` : ""
      }`;
      break;
    case "data.revealed":
      s = `Revealed the collected data${Array.isArray(d.fields) && d.fields.length ? ` (fields: ${text(d.fields)})` : ""}`;
      break;
    case "history.exported":
      s = `Exported ${text(d.rows)} rows${d.destination ? ` to ${text(d.destination)}` : ""}`;
      break;
    case "keys.rotated":
      s = `Rotated the data key; ${text(d.reencrypted)} handoffs re-sealed`;
      break;
    case "keys.exported":
      s = `Exported the data keys ${text(d.keys)} to ${text(d.destination)}`;
      break;
    case "keys.imported":
      s = `Imported data keys: added ${text(d.added)}; already here ${text(d.already)}`;
      break;
    case "source.created":
      s = `Added the intake source ${text(d.name)} (${text(d.kind)})`;
      break;
    case "source.updated":
      s = "Changed the intake source's settings";
      break;
    case "source.removed":
      s = `Removed the intake source ${text(d.name)}`;
      break;
    case "mapping.created":
    case "mapping.updated":
    case "mapping.removed":
      s = `${action === "mapping.created" ? "Added" : action === "mapping.updated" ? "Changed" : "Removed"} the mapping ${text(d.mapping)}`;
      break;
    case "inbox.revealed":
      s = `Revealed an inbox message (${text(d.bytes)} bytes)`;
      break;
    case "inbox.released":
      s = "Released an inbox message for delivery";
      break;
    case "inbox.reprocessed":
      s = "Reprocessed an inbox message";
      break;
    case "inbox.ignored":
      s = "Marked an inbox message as ignored";
      break;
    case "source.secret_rotated":
      s = `Gave the intake source a new secret; the old one is accepted ${
        d.previousUntil ? `until ${text(d.previousUntil)}` : "no longer"
      }`;
      break;
    default:
      s = text(d as Json);
  }
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

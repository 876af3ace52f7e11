/** The dashboard's view of health results: the last-known state or a fresh run brought to one
 * shape, and grouped into the four cards (databases, APIs, local components, end-to-end), each
 * with its worst status. */
import type { Check } from "../../api/types/Check";
import type { HealthReport } from "../../api/types/HealthReport";
import type { HealthStatus } from "../../api/types/HealthStatus";
import type { LastHealth } from "../../api/types/LastHealth";
import type { LocalCheck } from "../../api/types/LocalCheck";
import type { TargetKind } from "../../api/types/TargetKind";

/** One integration's latest result, with when it was checked (runs may differ per integration). */
export interface IntegrationView {
  id: string;
  name: string;
  kind: TargetKind;
  status: HealthStatus;
  latencyMs: number;
  checkedAt: string;
  checks: Check[];
}

/** What the dashboard shows for a line or a card: a check's status, or `unknown` for an
 * integration whose target was never probed and whose recent deliveries show no problem (its
 * `deliveries` check is healthy when there are none: not known to be healthy). */
export type ShownStatus = HealthStatus | "unknown";

/** An integration's status as shown: `unknown` when it is healthy only by its deliveries. */
export function shownStatus(i: { status: HealthStatus; checks: { name: string }[] }): ShownStatus {
  return i.status === "healthy" && !isProbed(i) ? "unknown" : i.status;
}

export interface HealthView {
  /** The worst shown status of every line; `null` when nothing was ever checked. */
  status: ShownStatus | null;
  integrations: IntegrationView[];
  local: LocalCheck[];
  localCheckedAt: string | null;
}

/** The name of the end-to-end check; it gets a card of its own. */
export const END_TO_END = "endToEnd";

/** Severity: not checked is worse than healthy (a card of healthy and unchecked lines is not
 * known to be healthy) and better than any problem found. */
const RANK: Record<ShownStatus, number> = { healthy: 0, unknown: 1, warning: 2, error: 3 };

/** The worst of some statuses; `null` for none (nothing known, not "healthy"). */
export function worstStatus<S extends ShownStatus>(statuses: Iterable<S>): S | null {
  let worst: S | null = null;
  for (const s of statuses) if (worst === null || RANK[s] > RANK[worst]) worst = s;
  return worst;
}

/** The overall status: the worst line, an unchecked integration counting as not checked. */
function overall(integrations: IntegrationView[], local: LocalCheck[]): ShownStatus | null {
  return worstStatus<ShownStatus>([...integrations.map(shownStatus), ...local.map((c) => c.status)]);
}

export function fromLast(last: LastHealth): HealthView {
  const integrations = last.integrations.map((s) => ({ ...s }));
  const local = last.local?.checks ?? [];
  return { status: overall(integrations, local), integrations, local, localCheckedAt: last.local?.checkedAt ?? null };
}

export function fromReport(report: HealthReport): HealthView {
  const integrations = report.integrations.map((i) => ({ ...i, checkedAt: report.checkedAt }));
  return { status: overall(integrations, report.local), integrations, local: report.local, localCheckedAt: report.checkedAt };
}

/** `view` with the integrations of a partial run (one integration checked) replaced. */
export function mergeReport(view: HealthView, report: HealthReport): HealthView {
  const fresh = fromReport(report);
  const byId = new Map(fresh.integrations.map((i) => [i.id, i]));
  const kept = view.integrations.map((i) => byId.get(i.id) ?? i);
  const added = fresh.integrations.filter((i) => !view.integrations.some((v) => v.id === i.id));
  const integrations = [...kept, ...added];
  return { status: overall(integrations, fresh.local), integrations, local: fresh.local, localCheckedAt: fresh.localCheckedAt };
}

/** One line of a card: an integration (its checks) or a local component. */
export interface CardItem {
  key: string;
  /** The integration this line is about (for "check this one" and its trend). */
  integrationId?: string;
  name: string;
  status: ShownStatus;
  /** Total latency of the checks shown, when they have one. */
  latencyMs: number | null;
  checkedAt: string | null;
  checks: { name: string; status: HealthStatus; reason: string | null; latencyMs: number | null }[];
  /** `false` for an integration whose target was never probed (only its deliveries are known). */
  probed?: boolean;
}

export interface Card {
  key: "databases" | "apis" | "local" | "endToEnd";
  title: string;
  /** The worst of its items; `null` when it has none. */
  status: ShownStatus | null;
  items: CardItem[];
  counts: Record<ShownStatus, number>;
  /** Healthy items counted but not listed (the end-to-end card lists only problems). */
  hidden?: number;
}

function card(key: Card["key"], title: string, items: CardItem[]): Card {
  const counts: Record<ShownStatus, number> = { healthy: 0, unknown: 0, warning: 0, error: 0 };
  for (const i of items) counts[i.status] += 1;
  return { key, title, status: worstStatus(items.map((i) => i.status)), items, counts };
}

function targetItem(i: IntegrationView): CardItem {
  // The end-to-end check is shown on its own card; this line is reachability and the target.
  const checks = i.checks.filter((c) => c.name !== END_TO_END);
  return {
    key: i.id,
    integrationId: i.id,
    name: i.name,
    // The integration's own status (end-to-end included): the line must not look healthier
    // than the list and the filters say it is; never probed and no problem is "not checked".
    status: shownStatus(i),
    // Never probed: its only check read the console's own store, not the target.
    latencyMs: isProbed(i) ? checks.reduce((sum, c) => sum + c.latencyMs, 0) : null,
    checkedAt: i.checkedAt,
    checks,
    probed: isProbed(i),
  };
}

/** The name of the check that reads recent deliveries from the store (no probe). */
export const DELIVERIES = "deliveries";

/** Whether the target itself was ever probed: an integration never checked is listed with its
 * deliveries alone, computed when the results were read. */
export function isProbed(i: { checks: { name: string }[] }): boolean {
  return i.checks.some((c) => c.name !== DELIVERIES);
}

/** Which integrations the dashboard shows: a text in the name, and a status (`problems` is
 * warning or error). Local components are always shown. */
export interface HealthFilter {
  text: string;
  status: "" | "problems" | ShownStatus;
}

/** A problem found: warning or error (not checked is not a problem found). */
export function isProblem(status: ShownStatus | null): boolean {
  return status === "warning" || status === "error";
}

export const NO_FILTER: HealthFilter = { text: "", status: "" };

export function matchesFilter(filter: HealthFilter, name: string, status: ShownStatus): boolean {
  const text = filter.text.trim().toLowerCase();
  if (text && !name.toLowerCase().includes(text)) return false;
  if (filter.status === "problems") return isProblem(status);
  return filter.status === "" || filter.status === status;
}

/** Problems first (error, then warning, then not checked, then healthy), by name within a status. */
export function byProblemsFirst<T extends { status: ShownStatus; name: string }>(a: T, b: T): number {
  return RANK[b.status] - RANK[a.status] || a.name.localeCompare(b.name, undefined, { sensitivity: "base" });
}

/** The four cards, in the dashboard's order; each lists its problems first. The end-to-end card
 * lists only its problems: a healthy run is already said by the target's own line, and with a
 * hundred integrations repeating every name there would bury the few that matter. */
export function groupCards(view: HealthView, filter: HealthFilter = NO_FILTER): Card[] {
  const shown = view.integrations.filter((i) => matchesFilter(filter, i.name, shownStatus(i)));
  const ofKind = (k: TargetKind) =>
    shown
      .filter((i) => i.kind === k)
      .map(targetItem)
      .sort(byProblemsFirst);
  const local: CardItem[] = view.local.map((c) => ({
    key: `local:${c.name}`,
    name: checkLabel(c.name),
    status: c.status,
    latencyMs: null,
    checkedAt: view.localCheckedAt,
    checks: [{ name: c.name, status: c.status, reason: c.reason, latencyMs: null }],
  }));
  const endToEnd: CardItem[] = shown.flatMap((i) => {
    const c = i.checks.find((c) => c.name === END_TO_END);
    if (!c) return [];
    return [
      {
        key: `e2e:${i.id}`,
        integrationId: i.id,
        name: i.name,
        status: c.status,
        latencyMs: c.latencyMs,
        checkedAt: i.checkedAt,
        checks: [{ name: c.name, status: c.status, reason: c.reason, latencyMs: c.latencyMs }],
      },
    ];
  });
  endToEnd.sort(byProblemsFirst);
  const e2e = card("endToEnd", "End-to-end", endToEnd.filter((i) => i.status !== "healthy"));
  // The card's counts and status still cover every end-to-end check, healthy ones included.
  const all = card("endToEnd", "End-to-end", endToEnd);
  return [
    card("databases", "Databases", ofKind("database")),
    card("apis", "APIs", ofKind("api")),
    card("local", "Local components", local),
    { ...e2e, status: all.status, counts: all.counts, hidden: all.items.length - e2e.items.length },
  ];
}

/** What is wrong, in one line: the worst check's name and reason (`null` when all is well). */
export function worstReason(item: CardItem): string | null {
  if (!isProblem(item.status)) return null;
  const worst = item.checks.find((c) => c.status === item.status) ?? item.checks.find((c) => c.status !== "healthy");
  if (!worst) return item.status === "error" ? "end-to-end failed (see the End-to-end card)" : null;
  return `${checkLabel(worst.name)}: ${worst.reason ?? worst.status}`;
}

/** How a status reads on the screen. */
export function statusLabel(status: ShownStatus | null): string {
  return status === null || status === "unknown" ? "not checked" : status;
}

/** "3 healthy, 1 error, 2 not checked" (statuses with none left out). */
export function countsText(counts: Record<ShownStatus, number>): string {
  const parts = (["error", "warning", "unknown", "healthy"] as const)
    .filter((s) => counts[s] > 0)
    .map((s) => `${counts[s]} ${statusLabel(s)}`);
  return parts.length ? parts.join(", ") : "nothing checked";
}

/** The summary of the lines folded away after the problems: "12 more healthy" or, with some
 * never probed, "12 more (10 healthy, 2 not checked)". */
export function foldedText(items: CardItem[]): string {
  const unknown = items.filter((i) => i.status === "unknown").length;
  const healthy = items.length - unknown;
  if (unknown === 0) return `${healthy} more healthy`;
  if (healthy === 0) return `${unknown} more not checked`;
  return `${items.length} more (${healthy} healthy, ${unknown} not checked)`;
}

/** Readable names of the checks. */
const CHECK_LABELS: Record<string, string> = {
  dns: "DNS",
  connect: "Connect",
  tls: "TLS",
  request: "Health request",
  credentials: "Credentials",
  authenticate: "Authenticate",
  query: "Query",
  table: "Table",
  columns: "Mapped columns",
  requiredColumns: "Required columns",
  idempotency: "One row per handoff",
  insertPrivilege: "Insert privilege",
  endToEnd: "End-to-end",
  deliveries: "Recent deliveries",
  store: "Store",
  migrations: "Migrations",
  secrets: "Secrets backend",
  config: "Configuration",
};

export function checkLabel(name: string): string {
  return CHECK_LABELS[name] ?? name;
}

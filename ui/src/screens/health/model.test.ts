import { describe, expect, it } from "vitest";
import type { HealthReport } from "../../api/types/HealthReport";
import type { LastHealth } from "../../api/types/LastHealth";
import {
  countsText,
  foldedText,
  fromLast,
  fromReport,
  groupCards,
  matchesFilter,
  mergeReport,
  worstReason,
  worstStatus,
} from "./model";

const at = "2026-11-24T14:00:00.000Z";

const report: HealthReport = {
  status: "error",
  checkedAt: at,
  integrations: [
    {
      id: "db-1",
      name: "Clinic DB",
      kind: "database",
      status: "warning",
      latencyMs: 30,
      checks: [
        { name: "connect", status: "healthy", latencyMs: 10, reason: null },
        { name: "tls", status: "warning", latencyMs: 5, reason: "not encrypted" },
        { name: "endToEnd", status: "healthy", latencyMs: 15, reason: "rolled back" },
      ],
    },
    {
      id: "api-1",
      name: "EMR",
      kind: "api",
      status: "error",
      latencyMs: 4,
      checks: [
        { name: "dns", status: "healthy", latencyMs: 1, reason: null },
        { name: "connect", status: "error", latencyMs: 3, reason: "refused" },
        { name: "endToEnd", status: "healthy", latencyMs: 0, reason: "nothing was sent" },
      ],
    },
  ],
  local: [
    { name: "store", status: "healthy", reason: null },
    { name: "secrets", status: "healthy", reason: "vault answered" },
  ],
};

describe("worstStatus", () => {
  it("is the most severe, and null for nothing", () => {
    expect(worstStatus([])).toBeNull();
    expect(worstStatus(["healthy", "warning", "healthy"])).toBe("warning");
    expect(worstStatus(["warning", "error", "healthy"])).toBe("error");
  });
});

describe("groupCards", () => {
  it("puts integrations by kind, local parts and end-to-end checks on their cards with each card's worst status", () => {
    const cards = groupCards(fromReport(report));
    expect(cards.map((c) => c.title)).toEqual(["Databases", "APIs", "Local components", "End-to-end"]);
    const [dbs, apis, local, e2e] = cards;
    expect(dbs?.items.map((i) => i.name)).toEqual(["Clinic DB"]);
    expect(dbs?.status).toBe("warning");
    // The end-to-end check is on its own card, not counted in the target's line.
    expect(dbs?.items[0]?.checks.map((c) => c.name)).toEqual(["connect", "tls"]);
    expect(dbs?.items[0]?.latencyMs).toBe(15);
    expect(apis?.status).toBe("error");
    expect(local?.status).toBe("healthy");
    expect(local?.items.map((i) => i.name)).toEqual(["Store", "Secrets backend"]);
    // Healthy end-to-end checks are counted, not listed again.
    expect(e2e?.items).toEqual([]);
    expect(e2e?.hidden).toBe(2);
    expect(e2e?.status).toBe("healthy");
    expect(countsText(e2e!.counts)).toBe("2 healthy");
    expect(countsText(apis!.counts)).toBe("1 error");
  });

  it("leaves a card without items unknown, not healthy", () => {
    const empty: LastHealth = { status: null, integrations: [], local: null };
    const cards = groupCards(fromLast(empty));
    expect(cards.every((c) => c.status === null && c.items.length === 0)).toBe(true);
    expect(countsText(cards[0]!.counts)).toBe("nothing checked");
  });

  it("keeps each integration's own time from the last-known state", () => {
    const last: LastHealth = {
      status: "warning",
      integrations: [{ ...report.integrations[0]!, checkedAt: "2026-11-20T08:00:00.000Z" }],
      local: { checkedAt: at, checks: report.local },
    };
    const [dbs, , local] = groupCards(fromLast(last));
    expect(dbs?.items[0]?.checkedAt).toBe("2026-11-20T08:00:00.000Z");
    expect(local?.items[0]?.checkedAt).toBe(at);
  });
});

describe("worstReason", () => {
  it("says what is wrong on the line itself: the worst check and its reason", () => {
    const [dbs, apis] = groupCards(fromReport(report));
    expect(worstReason(apis!.items[0]!)).toBe("Connect: refused");
    expect(worstReason(dbs!.items[0]!)).toBe("TLS: not encrypted");
  });
});

describe("ordering and filtering", () => {
  const many: HealthReport = {
    status: "error",
    checkedAt: at,
    local: [],
    integrations: [
      ["a-ok", "Alpha", "healthy"],
      ["b-err", "beta", "error"],
      ["c-warn", "Gamma", "warning"],
      ["d-err", "Delta", "error"],
    ].map(([id, name, status]) => ({
      id: id!,
      name: name!,
      kind: "api" as const,
      status: status as "healthy" | "warning" | "error",
      latencyMs: 1,
      checks: [
        { name: "deliveries", status: status as "healthy" | "warning" | "error", latencyMs: 0, reason: null },
        { name: "endToEnd", status: status as "healthy" | "warning" | "error", latencyMs: 0, reason: "preview only" },
      ],
    })),
  };

  it("lists problems first (errors, then warnings), then the healthy ones, by name", () => {
    const [, apis, , e2e] = groupCards(fromReport(many));
    expect(apis?.items.map((i) => i.name)).toEqual(["beta", "Delta", "Gamma", "Alpha"]);
    // The end-to-end card lists only its problems, in the same order, and counts the rest.
    expect(e2e?.items.map((i) => i.name)).toEqual(["beta", "Delta", "Gamma"]);
    expect(e2e?.hidden).toBe(1);
    expect(e2e?.status).toBe("error");
  });

  it("filters by name and by status; problems means warning or error", () => {
    const view = fromReport(many);
    const names = (f: Parameters<typeof groupCards>[1]) => groupCards(view, f)[1]?.items.map((i) => i.name);
    expect(names({ text: "ta", status: "" })).toEqual(["beta", "Delta"]);
    expect(names({ text: "", status: "problems" })).toEqual(["beta", "Delta", "Gamma"]);
    expect(names({ text: "", status: "healthy" })).toEqual(["Alpha"]);
    expect(names({ text: "  GAM ", status: "warning" })).toEqual(["Gamma"]);
    expect(matchesFilter({ text: "x", status: "" }, "Alpha", "healthy")).toBe(false);
  });
});

describe("mergeReport", () => {
  it("replaces only the integration checked and recomputes the overall status", () => {
    const view = fromReport(report);
    const fixed: HealthReport = {
      status: "healthy",
      checkedAt: "2026-11-24T15:00:00.000Z",
      integrations: [
        { ...report.integrations[1]!, status: "healthy", checks: [{ name: "connect", status: "healthy", latencyMs: 2, reason: null }] },
      ],
      local: report.local,
    };
    const merged = mergeReport(view, fixed);
    expect(merged.integrations.map((i) => [i.id, i.status])).toEqual([
      ["db-1", "warning"],
      ["api-1", "healthy"],
    ]);
    expect(merged.integrations[1]?.checkedAt).toBe("2026-11-24T15:00:00.000Z");
    expect(merged.status).toBe("warning");
  });
});

describe("integrations never probed", () => {
  // The last-known state of a new workspace: no check has run, each integration has only its
  // deliveries, read from the store (healthy when there are none).
  const deliveriesOnly = (id: string, name: string, status: "healthy" | "warning" | "error") => ({
    id,
    name,
    kind: "api" as const,
    status,
    latencyMs: 0,
    checkedAt: at,
    checks: [{ name: "deliveries", status, latencyMs: 0, reason: status === "healthy" ? "no deliveries yet" : "3 of 3 failed" }],
  });
  const last: LastHealth = {
    status: "error",
    integrations: [deliveriesOnly("a", "Offline EMR", "healthy"), deliveriesOnly("b", "Failing EMR", "error")],
    local: null,
  };

  it("are not checked, not healthy, unless their deliveries show a problem", () => {
    const [, apis] = groupCards(fromLast(last));
    expect(apis?.items.map((i) => [i.name, i.status])).toEqual([
      ["Failing EMR", "error"],
      ["Offline EMR", "unknown"],
    ]);
    expect(countsText(apis!.counts)).toBe("1 error, 1 not checked");
    expect(worstReason(apis!.items[1]!)).toBeNull();
    // No latency shown: nothing was sent to either target, only the store was read.
    expect(apis!.items.map((i) => i.latencyMs)).toEqual([null, null]);
  });

  it("make the overall status and a card's status not checked when nothing else is wrong", () => {
    const quiet: LastHealth = { status: "healthy", integrations: [deliveriesOnly("a", "Offline EMR", "healthy")], local: null };
    const view = fromLast(quiet);
    expect(view.status).toBe("unknown");
    expect(groupCards(view)[1]?.status).toBe("unknown");
    // One checked and healthy beside one not checked: still not known to be all healthy.
    const checked = { ...report.integrations[0]!, status: "healthy" as const, checks: [{ name: "connect", status: "healthy" as const, latencyMs: 1, reason: null }] };
    const merged = mergeReport(view, { status: "healthy", checkedAt: at, integrations: [checked], local: [] });
    expect(merged.status).toBe("unknown");
    // Once probed, the same integration is healthy.
    const probed = mergeReport(merged, {
      status: "healthy",
      checkedAt: at,
      integrations: [{ ...quiet.integrations[0]!, checks: [{ name: "connect", status: "healthy", latencyMs: 1, reason: null }] }],
      local: [],
    });
    expect(probed.status).toBe("healthy");
  });

  it("have a filter of their own and are not problems", () => {
    const view = fromLast(last);
    const names = (status: "unknown" | "problems" | "healthy") => groupCards(view, { text: "", status })[1]?.items.map((i) => i.name);
    expect(names("unknown")).toEqual(["Offline EMR"]);
    expect(names("problems")).toEqual(["Failing EMR"]);
    expect(names("healthy")).toEqual([]);
  });

  it("say so in the folded summary", () => {
    const [, apis] = groupCards(fromLast(last));
    const offline = apis!.items[1]!;
    const healthy = { ...offline, status: "healthy" as const };
    expect(foldedText([healthy, healthy])).toBe("2 more healthy");
    expect(foldedText([offline, healthy, healthy])).toBe("3 more (2 healthy, 1 not checked)");
    expect(foldedText([offline])).toBe("1 more not checked");
  });
});

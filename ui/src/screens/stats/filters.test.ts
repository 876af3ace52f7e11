import { describe, expect, it } from "vitest";
import {
  INITIAL_FILTERS,
  attemptsQueryOf,
  bucketOf,
  bulkRetryOf,
  filtersReducer,
  handoffsQueryOf,
  isFiltered,
  searchTooShort,
  statsQueryOf,
  windowOf,
  type StatsFilters,
} from "./filters";

/** A panel with a scope (trigger, window) and table filters set, in the attempt view. */
const busy: StatsFilters = {
  ...INITIAL_FILTERS,
  view: "attempts",
  trigger: "live",
  window: "24h",
  bucket: "day",
  handoffStatus: "pending",
  attemptStatus: "succeeded",
  category: "timeout",
  text: "ann",
  q: "ann",
  attemptSort: { key: "durationMs", order: "asc" },
};

/** The scope and view settings every table action leaves alone. */
const scopeOf = (f: StatsFilters) => ({
  trigger: f.trigger,
  window: f.window,
  customSince: f.customSince,
  customUntil: f.customUntil,
  bucket: f.bucket,
  handoffSort: f.handoffSort,
  attemptSort: f.attemptSort,
  autoRefresh: f.autoRefresh,
});

describe("the Stats panel's filter reducer", () => {
  it("sets what it is given and nothing else", () => {
    const next = filtersReducer(INITIAL_FILTERS, { type: "set", patch: { trigger: "retry", autoRefresh: false } });
    expect(next).toEqual({ ...INITIAL_FILTERS, trigger: "retry", autoRefresh: false });
    // The state before is untouched (React compares by identity).
    expect(INITIAL_FILTERS.trigger).toBe("");
  });

  it("“Needs attention” shows the undelivered handoffs, dropping the table's other filters and the search, not the scope", () => {
    const next = filtersReducer(busy, { type: "showUndelivered" });
    expect(next.view).toBe("handoffs");
    expect(next.handoffStatus).toBe("undelivered");
    expect([next.category, next.text, next.q]).toEqual(["", "", ""]);
    expect(scopeOf(next)).toEqual(scopeOf(busy));
  });

  it("a category clicked in the attempt view shows that category's failed attempts", () => {
    const next = filtersReducer(busy, { type: "category", category: "server" });
    expect(next).toEqual({ ...busy, category: "server", attemptStatus: "failed" });
  });

  it("a category clicked in the handoff view keeps the status filters as they were", () => {
    const handoffs = { ...busy, view: "handoffs" as const };
    const next = filtersReducer(handoffs, { type: "category", category: "server" });
    expect(next).toEqual({ ...handoffs, category: "server" });
  });

  it("a category in the failures card switches to the failed attempts of that category, without a search", () => {
    const handoffs = { ...busy, view: "handoffs" as const };
    const next = filtersReducer(handoffs, { type: "failedAttempts", category: "auth" });
    expect(next.view).toBe("attempts");
    expect(next.attemptStatus).toBe("failed");
    expect(next.category).toBe("auth");
    expect([next.text, next.q]).toEqual(["", ""]);
    expect(next.handoffStatus).toBe(handoffs.handoffStatus);
    expect(scopeOf(next)).toEqual(scopeOf(handoffs));
  });

  it("clearing the table's filters keeps the view, the scope and the sort", () => {
    const next = filtersReducer(busy, { type: "clearTable" });
    expect(next).toEqual({ ...busy, handoffStatus: "", attemptStatus: "", category: "", text: "", q: "" });
    expect(isFiltered({}, next)).toBe(true); // the trigger and window still narrow it
    expect(isFiltered({}, { ...next, trigger: "", window: "" })).toBe(false);
  });
});

describe("the queries the filters make", () => {
  it("take a preset window as an age and a custom one as UTC times", () => {
    expect(windowOf({ ...INITIAL_FILTERS, window: "7d" })).toEqual({ since: "7d" });
    expect(windowOf(INITIAL_FILTERS)).toEqual({ since: undefined });
    const custom = windowOf({ ...INITIAL_FILTERS, window: "custom", customSince: "2026-11-24T10:30", customUntil: "" });
    expect(custom).toEqual({ since: new Date(2026, 10, 24, 10, 30).toISOString(), until: undefined });
  });

  it("give the cards and chart the scope only, never the table's filters", () => {
    expect(statsQueryOf({ integration: "emr" }, busy)).toEqual({ integration: "emr", trigger: "live", since: "24h", bucket: "day" });
  });

  it("give each table its own status and sort, the search trimmed, and nothing empty", () => {
    const f = { ...busy, q: "  ann  " };
    expect(handoffsQueryOf({ session: "call-1" }, f)).toEqual({
      session: "call-1",
      since: "24h",
      trigger: "live",
      status: "pending",
      category: "timeout",
      q: "ann",
      sort: "updatedAt",
      order: "desc",
    });
    expect(attemptsQueryOf({}, { ...f, category: "", q: " " })).toEqual({
      trigger: "live",
      since: "24h",
      status: "succeeded",
      sort: "durationMs",
      order: "asc",
    });
  });

  it("send a search only from three characters on, and say when it is shorter", () => {
    for (const q of ["a", " ab ", "日本"]) {
      expect(handoffsQueryOf({}, { ...busy, q }).q).toBeUndefined();
      expect(searchTooShort(q)).toBe(true);
    }
    expect(attemptsQueryOf({}, { ...busy, q: " abc " }).q).toBe("abc");
    expect(attemptsQueryOf({}, { ...busy, q: "日本語" }).q).toBe("日本語");
    expect([searchTooShort(""), searchTooShort("   "), searchTooShort("abc")]).toEqual([false, false, false]);
    expect(isFiltered({}, { ...busy, trigger: "", window: "", handoffStatus: "", attemptStatus: "", category: "", q: "ab" })).toBe(false);
  });

  it("make a bulk retry of the integration, trigger, category and window (not the session, status or search)", () => {
    expect(bulkRetryOf({ integration: "emr", session: "call-1" }, busy, true)).toEqual({
      failed: true,
      dryRun: true,
      integration: "emr",
      trigger: "live",
      category: "timeout",
      since: "24h",
    });
  });

  it("pick the chart's bucket by the window when it is Auto, and keep a chosen one", () => {
    const auto = { ...INITIAL_FILTERS, bucket: "auto" };
    const byWindow = ["", "1h", "24h", "7d", "30d"].map((window) => bucketOf({ ...auto, window }));
    // All time (any length of history) and 30 days in days, so the series stays short.
    expect(byWindow).toEqual(["day", "minute", "hour", "hour", "day"]);
    expect(statsQueryOf({}, auto).bucket).toBe("day");
    expect(bucketOf({ ...auto, window: "", bucket: "minute" })).toBe("minute");
    const now = Date.parse("2026-12-06T12:00:00Z");
    const custom = (customSince: string, customUntil: string) => bucketOf({ ...auto, window: "custom", customSince, customUntil }, now);
    expect(custom("2026-12-06T09:00", "2026-12-06T12:00")).toBe("minute");
    expect(custom("2026-12-01T00:00", "2026-12-06T00:00")).toBe("hour");
    expect(custom("2026-10-01T00:00", "")).toBe("day");
    expect(custom("", "2026-12-06T00:00")).toBe("day");
  });
});

import { describe, expect, it } from "vitest";
import { INITIAL_FILTERS, attemptsQueryOf, bulkRetryOf, handoffsQueryOf, statsQueryOf } from "./filters";

describe("the queries the Stats panel sends", () => {
  const scope = { integration: "emr" };
  const f = { ...INITIAL_FILTERS, attemptStatus: "failed", category: "timeout", window: "24h", q: "  ann  " };

  it("send only the filters that filter, as the API's typed choices", () => {
    expect(attemptsQueryOf(scope, { ...f, attemptSort: { key: "durationMs", order: "asc" } })).toEqual({
      integration: "emr",
      status: "failed",
      category: "timeout",
      since: "24h",
      q: "ann",
      sort: "durationMs",
      order: "asc",
    });
    expect(statsQueryOf(scope, f)).toEqual({ integration: "emr", since: "24h", bucket: "hour" });
    expect(handoffsQueryOf({}, { ...f, category: "", q: "" })).toEqual({ since: "24h", sort: "updatedAt", order: "desc" });
  });

  it("make a bulk retry from the filters a bulk retry takes", () => {
    expect(bulkRetryOf(scope, f, true)).toEqual({ failed: true, dryRun: true, integration: "emr", category: "timeout", since: "24h" });
  });
});

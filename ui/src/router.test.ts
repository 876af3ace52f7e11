import { describe, expect, it } from "vitest";
import { parseRoute, routePath, type Route } from "./router";

describe("routes", () => {
  it("read the seed's toolId and sessionId filters from the path", () => {
    expect(parseRoute("/stats/integrations/abc")).toEqual({ screen: "stats", integration: "abc" });
    expect(parseRoute("/stats/sessions/s%2F1")).toEqual({ screen: "stats", session: "s/1" });
    expect(parseRoute("/nowhere")).toEqual({ screen: "integrations" });
    expect(parseRoute("/stats/sessions/%E0%A4")).toEqual({ screen: "stats", session: "%E0%A4" });
  });

  it("round-trip through their paths", () => {
    const routes: Route[] = [
      { screen: "integrations" },
      { screen: "integrations", id: "x y" },
      { screen: "tests", integration: "i" },
      { screen: "stats", session: "a/b" },
      { screen: "health" },
      { screen: "history-file" },
    ];
    for (const r of routes) expect(parseRoute(routePath(r))).toEqual(r);
  });
});

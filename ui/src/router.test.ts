import { describe, expect, it } from "vitest";
import { parseRoute, routePath, type Route } from "./router";

describe("routes", () => {
  it("read the seed's toolId and sessionId filters from the path", () => {
    expect(parseRoute("/stats/integrations/abc")).toEqual({ screen: "stats", integration: "abc" });
    expect(parseRoute("/stats/sessions/s%2F1")).toEqual({ screen: "stats", session: "s/1" });
    expect(parseRoute("/nowhere")).toEqual({ screen: "integrations" });
    expect(parseRoute("/stats/sessions/%E0%A4")).toEqual({ screen: "stats", session: "%E0%A4" });
  });

  it("read the intake screens and their source from the path", () => {
    expect(parseRoute("/sources")).toEqual({ screen: "sources" });
    expect(parseRoute("/mappings/opendental")).toEqual({ screen: "mappings", source: "opendental" });
    expect(parseRoute("/inbox")).toEqual({ screen: "inbox", source: undefined });
    expect(parseRoute("/inbox/dentrix")).toEqual({ screen: "inbox", source: "dentrix" });
    expect(routePath({ screen: "inbox", source: "a b" })).toBe("/inbox/a%20b");
  });

  it("round-trip through their paths", () => {
    const routes: Route[] = [
      { screen: "integrations" },
      { screen: "integrations", id: "x y" },
      { screen: "tests", integration: "i" },
      { screen: "stats", session: "a/b" },
      { screen: "health" },
      { screen: "history-file" },
      { screen: "sources" },
      { screen: "mappings" },
      { screen: "mappings", source: "open dental" },
      { screen: "inbox" },
      { screen: "inbox", source: "vapi/1" },
    ];
    for (const r of routes) expect(parseRoute(routePath(r))).toEqual(r);
  });
});

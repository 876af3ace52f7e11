import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { HealthReport } from "../../api/types/HealthReport";
import type { JobStatus } from "../../api/types/JobStatus";
import type { LastHealth } from "../../api/types/LastHealth";
import { HealthDashboard } from "./HealthDashboard";

const report: HealthReport = {
  status: "error",
  checkedAt: "2026-11-24T14:00:00.000Z",
  integrations: [
    {
      id: "db-1",
      name: "Clinic DB",
      kind: "database",
      status: "healthy",
      latencyMs: 3,
      checks: [{ name: "connect", status: "healthy", latencyMs: 3, reason: "SQLite file" }],
    },
    {
      id: "api-1",
      name: "EMR",
      kind: "api",
      status: "error",
      latencyMs: 1,
      checks: [{ name: "connect", status: "error", latencyMs: 1, reason: "connection refused" }],
    },
  ],
  local: [{ name: "store", status: "healthy", reason: null }],
};

/** The console's API as the screen sees it over HTTP: answers by method and path. */
function serve(routes: Record<string, (body: unknown) => unknown>) {
  const calls: string[] = [];
  vi.stubGlobal("fetch", async (input: string, init?: RequestInit) => {
    const url = new URL(input, "http://console.test");
    const key = `${init?.method ?? "GET"} ${url.pathname.replace("/api/v1", "")}`;
    calls.push(`${key}${url.search}`);
    const route = routes[key];
    if (!route) return new Response(JSON.stringify({ error: { kind: "notFound", message: key } }), { status: 404 });
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    return new Response(JSON.stringify(route(body)), { status: 200 });
  });
  return calls;
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("HealthDashboard", () => {
  it("says nothing was checked yet, then shows a run's live progress and its cards", async () => {
    const empty: LastHealth = { status: null, integrations: [], local: null };
    const polls: JobStatus[] = [
      { id: 7, kind: "health", done: 1, total: 2, finished: false, result: null, error: null },
      { id: 7, kind: "health", done: 2, total: 2, finished: true, result: report, error: null },
    ];
    const calls = serve({
      "GET /health": () => empty,
      "POST /health": () => ({ jobId: 7 }),
      "GET /jobs/7": () => polls.shift() ?? polls[polls.length - 1],
      "GET /health/history": () => [],
    });
    render(<HealthDashboard />);
    expect(await screen.findByText("Nothing checked yet")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Run checks" }));
    expect(await screen.findByText("Checked 1 of 2 integrations")).toBeTruthy();
    expect(screen.getByRole("progressbar").getAttribute("aria-valuenow")).toBe("1");
    expect(await screen.findByText("Clinic DB", {}, { timeout: 2000 })).toBeTruthy();
    for (const title of ["Databases", "APIs", "Local components", "End-to-end"]) {
      expect(screen.getByRole("heading", { name: title })).toBeTruthy();
    }
    expect(screen.getByText("connection refused")).toBeTruthy();
    expect(calls).toContain("POST /health");
    // Each integration's trend is asked for.
    expect(calls.some((c) => c.startsWith("GET /health/history?integration=api-1"))).toBe(true);
  });

  it("shows the last-known results at once, without running anything", async () => {
    const last: LastHealth = {
      status: "error",
      integrations: report.integrations.map((i) => ({ ...i, checkedAt: report.checkedAt })),
      local: { checkedAt: report.checkedAt, checks: report.local },
    };
    const calls = serve({ "GET /health": () => last, "GET /health/history": () => [] });
    render(<HealthDashboard />);
    expect(await screen.findByText("EMR")).toBeTruthy();
    expect(screen.getByText(/Last known results/)).toBeTruthy();
    expect(calls.filter((c) => c.startsWith("POST"))).toEqual([]);
  });

  it("says an integration never probed is not checked, overall too, instead of healthy", async () => {
    const last: LastHealth = {
      status: "healthy",
      integrations: [
        {
          id: "api-2",
          name: "Offline EMR",
          kind: "api",
          status: "healthy",
          latencyMs: 0,
          checkedAt: report.checkedAt,
          checks: [{ name: "deliveries", status: "healthy", latencyMs: 0, reason: "no deliveries yet" }],
        },
      ],
      local: null,
    };
    serve({ "GET /health": () => last, "GET /health/history": () => [] });
    render(<HealthDashboard />);
    expect(await screen.findByText("Offline EMR")).toBeTruthy();
    expect(screen.getByLabelText("Overall: not checked")).toBeTruthy();
    // Its line and its card say so; only its deliveries check, inside, is healthy (there are none).
    expect(screen.queryAllByText("healthy", { selector: "summary .badge, .health-card-head .badge" })).toEqual([]);
    expect(screen.getAllByText("not checked", { selector: "summary .badge" })).toHaveLength(1);
    expect(screen.getByText("1 not checked")).toBeTruthy();
  });
});

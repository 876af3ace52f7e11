import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Integration } from "../../api/types/Integration";
import type { TestReport } from "../../api/types/TestReport";
import { TestPanel } from "./TestPanel";

const integration = {
  id: "i-1",
  name: "Clinic DB",
  kind: "database",
  createdAt: "2026-11-24T14:00:00.000Z",
  updatedAt: "2026-11-24T14:00:00.000Z",
  config: {
    name: "Clinic DB",
    kind: "database",
    fields: [
      { name: "fullName", type: "name", required: true },
      { name: "email", type: "email", required: false },
    ],
    database: { type: "sqlite", database: "/tmp/x.db", table: "patients", fieldMapping: {} },
    retry: {},
  },
} as unknown as Integration;

const preview: TestReport = {
  integrationId: "i-1",
  integrationName: "Clinic DB",
  kind: "database",
  mode: "preview",
  seed: null,
  data: { fullName: "Ann Lee", email: "ann@example.org" },
  request: { sql: "INSERT INTO patients (name) VALUES (?)", params: [{ field: "fullName", column: "name", type: "TEXT", value: "Ann Lee" }] },
  outcome: {
    success: true, category: null, message: "the insert can be built", totalMs: null, connectMs: null,
    firstByteMs: null, timingNote: null, statusCode: null, headers: null, body: null, expectations: [],
    row: null, rowNote: null, committed: null, attemptId: null, handoffId: null,
  },
};

type Handler = (body: Record<string, unknown>) => { status?: number; json: unknown };

function serve(routes: Record<string, Handler>) {
  const calls: { key: string; body: Record<string, unknown> }[] = [];
  vi.stubGlobal("fetch", async (input: string, init?: RequestInit) => {
    const url = new URL(input, "http://console.test");
    const key = `${init?.method ?? "GET"} ${url.pathname.replace("/api/v1", "")}`;
    const body = init?.body ? JSON.parse(String(init.body)) : {};
    calls.push({ key, body });
    const route = routes[key];
    const r = route ? route(body) : { status: 404, json: { error: { kind: "notFound", message: key } } };
    return new Response(JSON.stringify(r.json), { status: r.status ?? 200 });
  });
  return calls;
}

beforeEach(() => history.replaceState(null, "", "/tests/i-1"));
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("TestPanel", () => {
  it("generates data into the form, shows the schema's problems at their fields and previews edited data as custom", async () => {
    const calls = serve({
      "GET /integrations": () => ({ json: [integration] }),
      "GET /attempts": () => ({ json: [] }),
      "POST /tests/data": () => ({ json: { seed: 42, data: { fullName: "Ann Lee", email: "ann@example.org" } } }),
      "POST /tests/check": () => ({
        status: 422,
        json: { error: { kind: "invalid", field: "email", message: "email: not an email", details: [{ field: "email", reason: "not an email" }] } },
      }),
      "POST /tests": () => ({ json: preview }),
    });
    render(<TestPanel />);
    const email = (await screen.findByLabelText(/^email/)) as HTMLInputElement;
    await waitFor(() => expect(email.value).toBe("ann@example.org"));
    expect(screen.getByText(/Generated, seed 42/)).toBeTruthy();
    // The first data is every field; the recent tests are this integration's.
    expect(calls.find((c) => c.key === "POST /tests/data")?.body).toEqual({ integration: "i-1", allFields: true });

    fireEvent.change(email, { target: { value: "nope" } });
    expect(screen.getByText("Custom data")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Validate" }));
    expect(await screen.findByText("not an email")).toBeTruthy();
    expect(email.getAttribute("aria-invalid")).toBe("true");
    expect(calls.find((c) => c.key === "POST /tests/check")?.body).toEqual({
      integration: "i-1",
      data: { fullName: "Ann Lee", email: "nope" },
    });

    fireEvent.click(screen.getByRole("button", { name: "Preview" }));
    expect(await screen.findByText("Preview built")).toBeTruthy();
    expect(screen.getByText("INSERT INTO patients (name) VALUES (?)")).toBeTruthy();
    // Edited data goes as custom data, not as the seed.
    expect(calls.find((c) => c.key === "POST /tests")?.body).toEqual({
      integration: "i-1",
      data: { fullName: "Ann Lee", email: "nope" },
      preview: true,
    });
  });

  it("sends generated data as its seed and commits only when asked", async () => {
    const calls = serve({
      "GET /integrations": () => ({ json: [integration] }),
      "GET /attempts": () => ({ json: [] }),
      "POST /tests/data": () => ({ json: { seed: 42, data: { fullName: "Ann Lee" } } }),
      "POST /tests": () => ({ json: { ...preview, mode: "run", outcome: { ...preview.outcome, committed: true, row: [] } } }),
    });
    render(<TestPanel />);
    await screen.findByText(/Generated, seed 42/);
    fireEvent.click(screen.getByLabelText("Commit the row"));
    expect(screen.getByText(/Warning: the test row will be kept/)).toBeTruthy();
    const isOpen = (text: RegExp | string) => screen.getByText(text).closest("dialog")?.hasAttribute("open");
    expect(isOpen(/Keep a test row/)).toBe(false);
    fireEvent.click(screen.getByRole("button", { name: "Run and commit" }));
    // A row that is kept is asked for first, naming the table; nothing was sent yet.
    await waitFor(() => expect(isOpen(/Keep a test row/)).toBe(true));
    expect(screen.getByText("patients").closest("dialog")?.hasAttribute("open")).toBe(true);
    expect(calls.some((c) => c.key === "POST /tests")).toBe(false);
    fireEvent.click(screen.getByRole("button", { name: "Insert and keep the row" }));
    expect(await screen.findByText("committed: the row was kept")).toBeTruthy();
    expect(calls.find((c) => c.key === "POST /tests")?.body).toEqual({
      integration: "i-1",
      seed: 42,
      allFields: true,
      preview: false,
      commit: true,
    });
  });

  it("asks before an API test reaches the real endpoint, naming it, and sends nothing when cancelled", async () => {
    const apiIntegration = {
      ...integration,
      kind: "api",
      config: {
        ...integration.config,
        kind: "api",
        database: undefined,
        api: { endpoint: "https://emr.example.org/api/patients", method: "POST", headers: {} },
      },
    } as unknown as Integration;
    const calls = serve({
      "GET /integrations": () => ({ json: [apiIntegration] }),
      "GET /attempts": () => ({ json: [] }),
      "POST /tests/data": () => ({ json: { seed: 42, data: { fullName: "Ann Lee" } } }),
      "POST /tests": () => ({ json: { ...preview, kind: "api", mode: "run" } }),
    });
    render(<TestPanel />);
    await screen.findByText(/Generated, seed 42/);
    const endpoint = () => screen.getByText("POST https://emr.example.org/api/patients").closest("dialog");
    expect(endpoint()?.hasAttribute("open")).toBe(false);
    fireEvent.click(screen.getByRole("button", { name: "Run test" }));
    await waitFor(() => expect(endpoint()?.hasAttribute("open")).toBe(true));
    fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(endpoint()?.hasAttribute("open")).toBe(false);
    expect(calls.some((c) => c.key === "POST /tests")).toBe(false);
    // A preview goes straight through: nothing leaves.
    fireEvent.click(screen.getByRole("button", { name: "Preview" }));
    await waitFor(() => expect(calls.filter((c) => c.key === "POST /tests").length).toBe(1));
    // Run is disabled until the preview's answer is in: clicking it earlier would do nothing.
    const run = screen.getByRole("button", { name: "Run test" }) as HTMLButtonElement;
    await waitFor(() => expect(run.disabled).toBe(false));
    fireEvent.click(run);
    fireEvent.click(await screen.findByRole("button", { name: "Send the test" }));
    await waitFor(() => expect(calls.filter((c) => c.key === "POST /tests").length).toBe(2));
    expect(calls.filter((c) => c.key === "POST /tests")[1]?.body).toMatchObject({ preview: false });
  });
});

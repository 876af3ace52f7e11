import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DetailDrawer } from "./DetailDrawer";

const summary = {
  attemptId: "a-1",
  handoffId: "h-1",
  integrationId: "i-1",
  integrationName: "emr",
  sessionId: "s-1",
  trigger: "live",
  automatic: false,
  attemptNumber: 1,
  status: "failed",
  category: "server",
  retryable: true,
  statusCode: 503,
  startedAt: "2026-11-24T10:00:00Z",
  finishedAt: "2026-11-24T10:00:01Z",
  durationMs: 1000,
  message: "503 Service Unavailable",
  nextRetryAt: null,
};

/** The console's API: the attempt (masked data) and the audited reveal (raw data). */
function fakeApi() {
  const calls: string[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init?: RequestInit) => {
      calls.push(`${init?.method ?? "GET"} ${url}`);
      if (url.includes("/reveal")) {
        return new Response(JSON.stringify({ handoffId: "h-1", data: { fullName: "Zelda Quux" } }));
      }
      return new Response(
        JSON.stringify({
          attempt: {
            ...summary,
            previousAttemptId: null,
            submissionId: null,
            request: { body: { name: "Z. Q." } },
            responseExcerpt: "upstream down",
            handoff: { handoffId: "h-1", integrationId: "i-1", sessionId: "s-1", status: "failed", state: "undelivered", attempts: 1, nextRetryAt: null, lastAttemptId: "a-1", submissionId: null, createdAt: summary.startedAt },
          },
          retryChain: [summary],
          maskedData: { fullName: "Z. Q." },
        }),
      );
    }),
  );
  return calls;
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("DetailDrawer", () => {
  it("shows the masked data, reveals the raw data only after a confirmation, and closes on Escape", async () => {
    const calls = fakeApi();
    const onClose = vi.fn();
    render(<DetailDrawer attemptId="a-1" onClose={onClose} onOpen={() => {}} onRetried={() => {}} />);
    expect(await screen.findByText("Z. Q.")).toBeTruthy();
    expect(screen.getByText("503 Service Unavailable")).toBeTruthy();
    expect(screen.getByText("upstream down")).toBeTruthy();
    expect(document.activeElement?.getAttribute("role")).toBe("dialog");

    fireEvent.click(screen.getByText("Reveal…"));
    expect(calls.some((c) => c.includes("/reveal"))).toBe(false);
    fireEvent.click(screen.getByRole("button", { name: "Reveal" }));
    expect(await screen.findByText("Zelda Quux")).toBeTruthy();
    expect(calls).toContain("POST /api/v1/handoffs/h-1/reveal");

    fireEvent.keyDown(window, { key: "Escape" });
    expect(onClose).toHaveBeenCalled();
  });
});

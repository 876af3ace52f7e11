import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AttemptSummary } from "../../api/types/AttemptSummary";
import { HistoryTable, PAGE, ROW } from "./HistoryTable";

const TOTAL = 100_000;

function row(i: number): AttemptSummary {
  return {
    attemptId: `a-${i}`,
    handoffId: `h-${i}`,
    integrationId: "i-1",
    integrationName: "emr",
    sessionId: `s-${i}`,
    trigger: "live",
    automatic: false,
    attemptNumber: 1,
    status: i % 2 ? "failed" : "succeeded",
    category: i % 2 ? "server" : null,
    retryable: i % 2 === 1,
    statusCode: i % 2 ? 503 : 201,
    startedAt: new Date(Date.UTC(2026, 10, 24) - i * 1000).toISOString(),
    finishedAt: null,
    durationMs: 10,
    message: "",
    nextRetryAt: null,
    handoffState: i % 2 ? "undelivered" : "delivered",
  };
}

/** The console's API as the table sees it: pages of a 100,000-attempt history. */
function fakeApi() {
  const asked: URLSearchParams[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string) => {
      const q = new URL(url, "http://x").searchParams;
      asked.push(q);
      const offset = Number(q.get("offset") ?? 0);
      const limit = Number(q.get("limit") ?? 100);
      const rows = Array.from({ length: Math.max(0, Math.min(limit, TOTAL - offset)) }, (_, k) => row(offset + k));
      return new Response(JSON.stringify({ rows, total: TOTAL, offset }), { status: 200 });
    }),
  );
  return asked;
}

function table(onOpen = vi.fn()) {
  return render(
    <HistoryTable
      query={{}}
      queryKey="k"
      sort={{ key: "startedAt", order: "desc" }}
      onSort={() => {}}
      selected={new Map()}
      onToggle={() => {}}
      onOpen={onOpen}
      onRetry={() => {}}
      onTotal={() => {}}
      onReload={() => {}}
    />,
  );
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("HistoryTable", () => {
  it("renders only the rows on screen of 100,000 and fetches the page it scrolls to", async () => {
    const asked = fakeApi();
    const { container } = table();
    await screen.findByText("s-0");
    const grid = screen.getByRole("grid");
    expect(grid.getAttribute("aria-rowcount")).toBe(String(TOTAL + 1));
    expect(container.querySelectorAll(".vt-body [role=row]").length).toBeLessThanOrEqual(40);
    expect(asked.map((q) => q.get("offset"))).toEqual(["0"]);

    // Scroll to row 50,000: its page is fetched and its rows rendered in place.
    act(() => {
      grid.scrollTop = 50_000 * ROW;
      fireEvent.scroll(grid);
    });
    await screen.findByText("s-50000", {}, { timeout: 2000 });
    expect(asked.some((q) => q.get("offset") === String(50_000 - (50_000 % PAGE)))).toBe(true);
    expect(container.querySelectorAll(".vt-body [role=row]").length).toBeLessThanOrEqual(40);
    const r = container.querySelector("#vt-row-50000") as HTMLElement;
    expect(r.style.top).toBe(`${50_000 * ROW}px`);
  });

  it("moves the selection with the arrow keys and opens it with Enter", async () => {
    fakeApi();
    const onOpen = vi.fn();
    table(onOpen);
    await screen.findByText("s-0");
    const grid = screen.getByRole("grid");
    fireEvent.keyDown(grid, { key: "ArrowDown" });
    fireEvent.keyDown(grid, { key: "ArrowDown" });
    fireEvent.keyDown(grid, { key: "ArrowUp" });
    fireEvent.keyDown(grid, { key: "ArrowDown" });
    expect(grid.getAttribute("aria-activedescendant")).toBe("vt-row-1");
    fireEvent.keyDown(grid, { key: "Enter" });
    expect(onOpen).toHaveBeenCalledWith(expect.objectContaining({ sessionId: "s-1" }));
  });

  it("marks the first rendered page for the benchmark", async () => {
    fakeApi();
    performance.clearMarks("history-first-rows");
    table();
    await waitFor(() => expect(performance.getEntriesByName("history-first-rows").length).toBe(1));
  });
});

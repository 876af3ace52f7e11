import { describe, expect, it } from "vitest";
import { auditSummary, detailsLine, formatBytes, formatMs, formatRate } from "./format";

describe("history file formatting", () => {
  it("formats sizes in binary units", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(2048)).toBe("2.0 KiB");
    expect(formatBytes(512 * 1024 * 1024)).toBe("512.0 MiB");
  });
  it("formats durations and rates, with a dash when unknown", () => {
    expect(formatMs(null)).toBe("—");
    expect(formatMs(42.4)).toBe("42 ms");
    expect(formatMs(1500)).toBe("1.50 s");
    expect(formatRate(null)).toBe("—");
    expect(formatRate(0.9876)).toBe("98.8%");
  });
  it("cuts long audit details", () => {
    expect(detailsLine({ a: 1 })).toBe('{"a":1}');
    const long = detailsLine({ text: "x".repeat(500) }, 20);
    expect(long).toHaveLength(20);
    expect(long.endsWith("…")).toBe(true);
  });
  it("says what an audit entry did in words, not JSON", () => {
    expect(
      auditSummary("integration.updated", {
        changes: [
          { path: "api.endpoint", change: "changed", before: "https://a/p", after: "https://b/p" },
          { path: "api.authentication.credentials.token", change: "changed", redacted: true },
          { path: "retry.maxAttempts", change: "added", after: 5 },
        ],
        omitted: 2,
      }),
    ).toBe(
      "Changed api.endpoint: https://a/p → https://b/p; api.authentication.credentials.token (secret changed); retry.maxAttempts added (5); and 2 more",
    );
    expect(auditSummary("integration.created", { target: { kind: "database", type: "sqlite", hostname: null, database: "/x.db", table: "patients" } })).toBe(
      "Created: sqlite · /x.db · patients",
    );
    expect(auditSummary("retry.single", { attemptNumber: 3, success: false, category: "server" })).toBe(
      "Retried a handoff: attempt #3 failed (server)",
    );
    expect(auditSummary("retry.bulk", { matched: 4, retried: 4, succeeded: 4, skipped: 0 })).toBe(
      "Retried 4 of 4 failed handoffs: 4 delivered",
    );
    expect(auditSummary("data.revealed", { fields: ["fullName", "email"] })).toBe("Revealed the collected data (fields: fullName, email)");
    const any = auditSummary("some.future", { a: 1, b: { c: "d" } });
    expect(any).toBe("a 1, b c d");
    expect(any).not.toContain("{");
  });
});

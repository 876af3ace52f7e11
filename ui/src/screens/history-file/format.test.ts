import { describe, expect, it } from "vitest";
import { detailsLine, formatBytes, formatMs, formatRate } from "./format";

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
});

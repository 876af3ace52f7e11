import { describe, expect, it } from "vitest";
import { niceMax, scale, ticks, labelEvery } from "./chart";
import { csvFileName, formatRate, localInputToIso } from "./format";

describe("chart scaling", () => {
  it("rounds the axis up to 1, 2 or 5 times a power of ten", () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(1)).toBe(1);
    expect(niceMax(7)).toBe(10);
    expect(niceMax(12)).toBe(20);
    expect(niceMax(430)).toBe(500);
    expect(niceMax(100_000)).toBe(100_000);
    expect(niceMax(100_001)).toBe(200_000);
  });

  it("places ticks evenly and scales values into the plot", () => {
    expect(ticks(500)).toEqual([0, 100, 200, 300, 400, 500]);
    expect(ticks(10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(ticks(2)).toEqual([0, 1, 2]);
    expect(ticks(1)).toEqual([0, 1]);
    for (const max of [1, 2, 5, 10, 20, 50, 100, 1000]) expect(ticks(max).every(Number.isInteger)).toBe(true);
    expect(scale(250, 500, 160)).toBe(80);
    expect(scale(900, 500, 160)).toBe(160);
    expect(scale(-1, 500, 160)).toBe(0);
    expect(scale(1, 0, 160)).toBe(0);
  });

  it("labels at most the room's worth of bars", () => {
    expect(labelEvery(5, 8)).toBe(1);
    expect(labelEvery(24, 8)).toBe(3);
    expect(labelEvery(60, 8)).toBe(8);
  });
});

describe("formatting", () => {
  it("shows rates readably", () => {
    expect(formatRate(null)).toBe("—");
    expect(formatRate(1)).toBe("100%");
    expect(formatRate(0.9876)).toBe("98.8%");
    expect(formatRate(0)).toBe("0%");
  });

  it("names the CSV after the local time", () => {
    expect(csvFileName(new Date(2026, 10, 24, 9, 5))).toBe("attempts-2026-11-24-0905.csv");
  });

  it("turns a local datetime input into UTC", () => {
    const iso = localInputToIso("2026-11-24T10:30");
    expect(iso).toBe(new Date(2026, 10, 24, 10, 30).toISOString());
    expect(localInputToIso("")).toBeUndefined();
    expect(localInputToIso("nonsense")).toBeUndefined();
  });
});

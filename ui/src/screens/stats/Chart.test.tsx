import { cleanup, render } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { SeriesPoint } from "../../api/types/SeriesPoint";
import { SeriesChart } from "./Chart";

const HOUR = 3_600_000;
const points = (n: number, width: number, from = Date.parse("2026-12-01T00:00:00Z")): SeriesPoint[] =>
  Array.from({ length: n }, (_, i) => ({
    start: new Date(from + i * width).toISOString(),
    total: 3,
    succeeded: 2,
    failed: 1,
    pending: 0,
    avgMs: 120,
  }));
const labels = (c: HTMLElement) => [...c.querySelectorAll("text.axis-label")].map((t) => t.textContent ?? "");

describe("the Stats chart's x axis", () => {
  afterEach(cleanup);

  it("dates the labels of an hourly series that spans days, so a week's hours do not read as one day", () => {
    const { container } = render(<SeriesChart series={points(7 * 24, HOUR)} bucket="hour" />);
    const shown = labels(container);
    expect(shown.length).toBeGreaterThan(1);
    expect(shown.length).toBeLessThanOrEqual(6);
    // Each label names its day: no two are the same text.
    expect(new Set(shown).size).toBe(shown.length);
    expect(shown[0]).toMatch(/Dec/);
  });

  it("gives the time alone when the series stays within one day", () => {
    const { container } = render(<SeriesChart series={points(6, HOUR, Date.parse("2026-12-01T08:00:00"))} bucket="hour" />);
    for (const label of labels(container)) expect(label).not.toMatch(/Dec/);
  });
});

import { describe, expect, it } from "vitest";
import { pointsAttr, sparkPoints } from "./sparkline";

describe("sparkPoints", () => {
  it("draws oldest to newest, left to right, the largest latency at the top", () => {
    // Newest first, as the history comes.
    const pts = sparkPoints([30, 10, 20], 100, 24, 2);
    expect(pts.map((p) => p.x)).toEqual([0, 50, 100]);
    // Oldest (20) in the middle, then 10 at the bottom, newest (30) at the top.
    expect(pts.map((p) => p.y)).toEqual([12, 22, 2]);
  });

  it("handles one value, equal values and none", () => {
    expect(sparkPoints([], 100, 20)).toEqual([]);
    expect(sparkPoints([7], 100, 20)).toEqual([{ x: 50, y: 10 }]);
    expect(sparkPoints([5, 5, 5], 100, 20).map((p) => p.y)).toEqual([10, 10, 10]);
  });

  it("treats missing or negative latencies as zero instead of breaking the line", () => {
    const pts = sparkPoints([Number.NaN, 10, -3], 20, 12, 1);
    expect(pts.every((p) => Number.isFinite(p.y))).toBe(true);
    expect(pts[1]?.y).toBe(1);
    expect(pointsAttr(pts)).toBe("0,11 10,1 20,11");
  });
});

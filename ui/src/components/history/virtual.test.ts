import { describe, expect, it } from "vitest";
import { PageCache, pagesFor, scrollToShow, visibleRange } from "./virtual";

describe("visibleRange", () => {
  it("renders the rows in the viewport plus the overscan, clamped to the list", () => {
    // 34 px rows, a 476 px viewport: 14 rows show, 15 when scrolled between rows.
    expect(visibleRange(0, 476, 34, 100_000, 10)).toEqual({ start: 0, end: 25 });
    expect(visibleRange(34 * 1000, 476, 34, 100_000, 10)).toEqual({ start: 990, end: 1025 });
    expect(visibleRange(34 * 1000 + 17, 476, 34, 100_000, 10)).toEqual({ start: 990, end: 1025 });
  });

  it("stays inside the list at its end and for short or empty lists", () => {
    expect(visibleRange(34 * 99_990, 476, 34, 100_000, 10)).toEqual({ start: 99_980, end: 100_000 });
    // Scrolled past the end (the list shrank): still the last rows.
    expect(visibleRange(34 * 200_000, 476, 34, 100_000, 10)).toEqual({ start: 99_989, end: 100_000 });
    expect(visibleRange(0, 476, 34, 3, 10)).toEqual({ start: 0, end: 3 });
    expect(visibleRange(0, 476, 34, 0, 10)).toEqual({ start: 0, end: 0 });
    expect(visibleRange(-50, 476, 34, 10, 0)).toEqual({ start: 0, end: 10 });
  });

  it("keeps the DOM small however long the list is", () => {
    const r = visibleRange(34 * 54_321, 476, 34, 1_000_000, 10);
    expect(r.end - r.start).toBeLessThanOrEqual(15 + 20);
  });
});

describe("pagesFor", () => {
  it("names the pages holding a range", () => {
    expect(pagesFor({ start: 0, end: 25 }, 100)).toEqual([0]);
    expect(pagesFor({ start: 90, end: 125 }, 100)).toEqual([0, 1]);
    expect(pagesFor({ start: 100, end: 200 }, 100)).toEqual([1]);
    expect(pagesFor({ start: 5, end: 5 }, 100)).toEqual([]);
  });
});

describe("scrollToShow", () => {
  it("scrolls only as far as needed to show a row", () => {
    expect(scrollToShow(5, 0, 476, 34)).toBe(0);
    expect(scrollToShow(14, 0, 476, 34)).toBe(34);
    expect(scrollToShow(2, 340, 476, 34)).toBe(68);
    expect(scrollToShow(12, 340, 476, 34)).toBe(340);
  });
});

describe("PageCache", () => {
  it("finds rows by index across pages and reports the missing pages", () => {
    const c = PageCache.empty<number>("q", 10)
      .with(0, [...Array(10).keys()])
      .with(2, [20, 21, 22]);
    expect(c.row(3)).toBe(3);
    expect(c.row(21)).toBe(21);
    expect(c.row(15)).toBeUndefined();
    expect(c.missing([0, 1, 2, 3])).toEqual([1, 3]);
  });

  it("is immutable", () => {
    const a = PageCache.empty<number>("q", 10);
    const b = a.with(0, [1]);
    expect(a.has(0)).toBe(false);
    expect(b.has(0)).toBe(true);
  });

  it("drops the oldest pages past its bound but keeps the pages on screen", () => {
    let c = PageCache.empty<number>("q", 10, 3);
    for (const p of [0, 1, 2]) c = c.with(p, [p]);
    c = c.with(3, [3], [0, 3]);
    expect(c.size).toBe(3);
    expect(c.has(0)).toBe(true);
    expect(c.has(1)).toBe(false);
    expect(c.has(3)).toBe(true);
  });
});

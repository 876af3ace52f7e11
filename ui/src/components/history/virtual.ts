/** The history table's windowing math and page cache: pure functions, so the table stays a
 * thin view and these are tested on their own (virtual.test.ts). */

export interface Range {
  /** First row to render. */
  start: number;
  /** One past the last row to render. */
  end: number;
}

/** The rows to render for a scroll offset: those in the viewport plus `overscan` on each side,
 * clamped to `[0, count)`. Fixed row height, so this is arithmetic, not measurement. */
export function visibleRange(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  count: number,
  overscan = 8,
): Range {
  if (count <= 0 || rowHeight <= 0) return { start: 0, end: 0 };
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const shown = Math.ceil(Math.max(0, viewportHeight) / rowHeight) + 1;
  const start = Math.max(0, Math.min(count - 1, first) - overscan);
  const end = Math.min(count, first + shown + overscan);
  return { start, end: Math.max(start, end) };
}

/** The page indexes that hold rows `[start, end)`. */
export function pagesFor(range: Range, pageSize: number): number[] {
  if (range.end <= range.start) return [];
  const first = Math.floor(range.start / pageSize);
  const last = Math.floor((range.end - 1) / pageSize);
  const pages: number[] = [];
  for (let p = first; p <= last; p++) pages.push(p);
  return pages;
}

/** The scroll offset that brings row `index` into view (unchanged when it already is). */
export function scrollToShow(index: number, scrollTop: number, viewportHeight: number, rowHeight: number): number {
  const top = index * rowHeight;
  const bottom = top + rowHeight;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + viewportHeight) return Math.max(0, bottom - viewportHeight);
  return scrollTop;
}

/** Loaded pages of one query (`key`): a bounded cache, so scrolling through 100,000 rows keeps
 * only the last `maxPages` pages in memory. Immutable: every change returns a new cache. */
export class PageCache<T> {
  private constructor(
    readonly key: string,
    readonly pageSize: number,
    readonly maxPages: number,
    private readonly pages: ReadonlyMap<number, readonly T[]>,
  ) {}

  static empty<T>(key: string, pageSize: number, maxPages = 40): PageCache<T> {
    return new PageCache<T>(key, pageSize, maxPages, new Map());
  }

  has(page: number): boolean {
    return this.pages.has(page);
  }

  get size(): number {
    return this.pages.size;
  }

  row(index: number): T | undefined {
    const page = this.pages.get(Math.floor(index / this.pageSize));
    return page?.[index % this.pageSize];
  }

  /** The cache with `page` added (the most recently added pages are kept first; the oldest are
   * dropped past `maxPages`, except those in `keep`, the pages on screen). */
  with(page: number, rows: readonly T[], keep: readonly number[] = []): PageCache<T> {
    const next = new Map(this.pages);
    next.delete(page);
    next.set(page, rows);
    for (const old of next.keys()) {
      if (next.size <= this.maxPages) break;
      if (old !== page && !keep.includes(old)) next.delete(old);
    }
    return new PageCache(this.key, this.pageSize, this.maxPages, next);
  }

  /** The index of the first loaded row `matches` accepts, or -1. */
  indexOf(matches: (row: T) => boolean): number {
    for (const [page, rows] of this.pages) {
      const at = rows.findIndex(matches);
      if (at >= 0) return page * this.pageSize + at;
    }
    return -1;
  }

  /** Of `wanted`, the pages not loaded yet. */
  missing(wanted: readonly number[]): number[] {
    return wanted.filter((p) => !this.pages.has(p));
  }
}

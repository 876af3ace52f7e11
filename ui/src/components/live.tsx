/** Live views: a screen refreshes when the store changes, whoever changed it (this console,
 * another console or `serve` on the same store, the CLI). The console answers `changes` once
 * its change number moves (a long wait), so a change made elsewhere shows within about a
 * second and nothing is queried while nothing changes. While changes cannot be followed the
 * screen refreshes on a timer instead, and says so. */
import { useEffect, useRef, useState } from "react";
import { client } from "../api/client";

/** How long one `changes` call waits on the console (its maximum). */
const WAIT_MS = 25_000;
/** The refresh interval while changes are not followed. */
export const FALLBACK_REFRESH_MS = 10_000;
/** The least time between two refreshes (a burst of changes is one refresh, or two). */
const MIN_GAP_MS = 500;

export type StoreChanges = {
  /** The change number last answered (null before the first answer). */
  version: number | null;
  /** Whether changes are followed now. */
  live: boolean;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The store's change number, followed for as long as the component is mounted. */
export function useStoreChanges(): StoreChanges {
  const [state, setState] = useState<StoreChanges>({ version: null, live: false });
  useEffect(() => {
    let stopped = false;
    (async () => {
      let after: number | undefined;
      let failures = 0;
      while (!stopped) {
        const asked = Date.now();
        try {
          const c = await client.changes({ after, waitMs: WAIT_MS });
          failures = 0;
          if (stopped) return;
          setState({ version: c.version, live: c.live });
          // An answer without a change well before the wait ran out (the console stopping)
          // is not asked again at once.
          if (c.version === after && Date.now() - asked < 1_000) await sleep(1_000);
          after = c.version;
        } catch {
          if (stopped) return;
          failures += 1;
          setState((s) => ({ ...s, live: false }));
          await sleep(Math.min(30_000, 1_000 * 2 ** Math.min(failures, 5)));
        }
      }
    })();
    return () => {
      stopped = true;
    };
  }, []);
  return state;
}

/** Calls `refresh` when the store changes (at most every half second), never while the screen
 * is hidden, `enabled` is off or `paused()` says so (it catches up after); every 10 s instead
 * while changes are not followed. The first change number seen is the screen's own load. */
export function useLiveRefresh(enabled: boolean, paused: () => boolean, refresh: () => void): StoreChanges {
  const changes = useStoreChanges();
  const shown = useRef<number | null>(null);
  const lastAt = useRef(0);
  const latest = useRef({ changes, enabled, paused, refresh });
  useEffect(() => {
    latest.current = { changes, enabled, paused, refresh };
    // The first number answered is the screen's own load.
    if (shown.current === null && changes.live && changes.version !== null) shown.current = changes.version;
  });
  useEffect(() => {
    lastAt.current = Date.now();
    const tick = () => {
      const { changes: c, enabled: on, paused: isPaused, refresh: run } = latest.current;
      if (!on || document.visibilityState !== "visible" || isPaused()) return;
      const now = Date.now();
      if (c.live && c.version !== null) {
        if (c.version === shown.current || now - lastAt.current < MIN_GAP_MS) return;
        shown.current = c.version;
      } else if (now - lastAt.current < FALLBACK_REFRESH_MS) {
        return;
      }
      lastAt.current = now;
      run();
    };
    const timer = setInterval(tick, 100);
    return () => clearInterval(timer);
  }, []);
  return changes;
}

/** Says whether the screen follows changes as they happen or refreshes on a timer. */
export function LiveBadge({ changes, enabled }: { changes: StoreChanges; enabled: boolean }) {
  if (!enabled) return null;
  if (changes.live) {
    return (
      <span className="live-badge live-on" title="Changes made by any console or server on this store show as they happen">
        ● Live
      </span>
    );
  }
  return (
    <span
      className="live-badge live-off"
      title="The console is not following the store's changes right now: this screen refreshes every 10 seconds"
    >
      {changes.version === null ? "Connecting…" : "Not live: refreshing every 10 s"}
    </span>
  );
}

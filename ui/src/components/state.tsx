import { useCallback, useEffect, useState, type ReactNode } from "react";
import { ConsoleError } from "../api/errors";

export type Loadable<T> =
  | { state: "loading"; data?: T }
  | { state: "ready"; data: T }
  | { state: "error"; error: ConsoleError; data?: T };

type Settled<T> = { key: string } & ({ state: "ready"; data: T } | { state: "error"; error: ConsoleError; data?: T });

/** Loads `load()` now and whenever `deps` change; `reload` runs it again. The last data stays
 * shown while the next load runs, so nothing jumps. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): [Loadable<T>, () => void] {
  const [round, setRound] = useState(0);
  const [settled, setSettled] = useState<Settled<T> | null>(null);
  const key = `${JSON.stringify(deps)}#${round}`;
  useEffect(() => {
    let current = true;
    load().then(
      (data) => current && setSettled({ key, state: "ready", data }),
      (e) =>
        current &&
        setSettled((prev) => ({ key, state: "error", error: ConsoleError.from(e), data: prev?.data })),
    );
    return () => {
      current = false;
    };
    // `load` is a new closure every render; `key` says when to run it.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  if (settled && settled.key === key) {
    return [settled.state === "ready" ? { state: "ready", data: settled.data } : settled, reload];
  }
  // Only a reload of the same thing keeps showing the last data; other deps start empty (no
  // rows of one file under another file's header).
  const depsOf = (k: string) => k.slice(0, k.lastIndexOf("#"));
  const sameDeps = settled !== null && depsOf(settled.key) === depsOf(key);
  return [{ state: "loading", data: sameDeps ? settled.data : undefined }, reload];
}

export function Spinner({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function ErrorState({ error, onRetry }: { error: ConsoleError; onRetry?: () => void }) {
  return (
    <div className="state state-error" role="alert">
      <strong>{error.kind === "unavailable" ? "Not available" : "Something went wrong"}</strong>
      <p>{error.message}</p>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <strong>{title}</strong>
      {children && <div>{children}</div>}
    </div>
  );
}

/** A date-time in the user's own zone. */
export function LocalTime({ value }: { value: string | null | undefined }) {
  if (!value) return <span className="muted">—</span>;
  const d = new Date(value);
  return <time dateTime={value} title={d.toISOString()}>{formatLocal(d)}</time>;
}

/** A time in a table cell, as short as it can be and still tell rows apart: the time alone
 * today, the day and the minute this year, the date before (the cell's tooltip has it all). */
export function formatShort(d: Date, now: Date = new Date()): string {
  const sameDay = d.toDateString() === now.toDateString();
  if (sameDay) return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  if (d.getFullYear() === now.getFullYear()) {
    return d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }
  return d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

export function formatLocal(d: Date): string {
  return d.toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

/** A history file another screen just wrote (Stats' "Export history file"), handed to the
 * History file screen to open at once: the downloaded copy in a browser, the path in the
 * window. Taken once. */
export type PendingHistoryFile = { file: File } | { path: string };

let pending: PendingHistoryFile | null = null;

export function offerHistoryFile(f: PendingHistoryFile): void {
  pending = f;
}

export function takePendingHistoryFile(): PendingHistoryFile | null {
  const f = pending;
  pending = null;
  return f;
}

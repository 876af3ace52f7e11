/** The history-file viewer: opens an exported history (Stats' "Export history file", or the
 * CLI's `export`) read-only and browses its handoffs and attempts (the Stats panel's tables and
 * detail drawer), statistics and audit trail. In a browser the file is uploaded; in the desktop
 * window it is opened by its path. Nothing in it can be sent, changed or revealed. */
import { useEffect, useState, type FormEvent } from "react";
import { client } from "../../api/client";
import { ConsoleError } from "../../api/errors";
import type { HistoryFileInfo } from "../../api/types/HistoryFileInfo";
import { Empty, LocalTime, Spinner } from "../../components/state";
import { formatBytes } from "./format";
import { Browse } from "./Browse";
import { takePendingHistoryFile, type PendingHistoryFile } from "./pending";
import { AuditView, StatsView } from "./views";
import "./history-file.css";

type Tab = "handoffs" | "attempts" | "stats" | "audit";

const TAB_LABEL: Record<Tab, string> = { handoffs: "Handoffs", attempts: "Every attempt", stats: "Statistics", audit: "Audit trail" };

/** The file open in this tab, kept while the user visits other screens. */
let current: HistoryFileInfo | null = null;

/** The largest upload the console accepts (service::history_files::MAX_UPLOAD_BYTES). */
const MAX_UPLOAD = 512 * 1024 * 1024;

export function HistoryFile() {
  const [file, setFile] = useState<HistoryFileInfo | null>(current);
  const [tab, setTab] = useState<Tab>("handoffs");
  const [picked, setPicked] = useState<File | null>(null);
  const [path, setPath] = useState("");
  const [opening, setOpening] = useState(false);
  const [error, setError] = useState<ConsoleError | null>(null);
  const desktop = client.transport.kind === "tauri";

  const show = (f: HistoryFileInfo | null) => {
    current = f;
    setFile(f);
  };

  const openFile = async (source: PendingHistoryFile) => {
    setOpening(true);
    setError(null);
    try {
      const previous = current;
      const opened = "path" in source ? await client.openHistoryPath({ path: source.path }) : await client.openHistoryUpload(source.file);
      show(opened);
      setTab("handoffs");
      // One file at a time in this tab: the one replaced is closed (its copy deleted).
      if (previous) client.closeHistoryFile(previous.id).catch(() => undefined);
    } catch (err) {
      setError(ConsoleError.from(err));
    } finally {
      setOpening(false);
    }
  };

  // A file exported a moment ago from the Stats panel opens at once.
  const [pending] = useState(takePendingHistoryFile);
  useEffect(() => {
    if (!pending) return;
    const timer = setTimeout(() => void openFile(pending), 0);
    return () => clearTimeout(timer);
    // Once, on arrival.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [pending]);

  const open = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (!desktop && !picked) {
      setError(new ConsoleError({ kind: "invalid", field: "file", message: "Choose a history file first." }));
      return;
    }
    if (!desktop && picked && picked.size > MAX_UPLOAD) {
      setError(
        new ConsoleError({
          kind: "invalid",
          field: "file",
          message: `The file is ${formatBytes(picked.size)}; at most ${formatBytes(MAX_UPLOAD)} can be uploaded here. Open it in the desktop console instead (it reads the file in place), or export a narrower time window.`,
        }),
      );
      return;
    }
    await openFile(desktop ? { path: path.trim() } : { file: picked as File });
  };

  const close = async () => {
    if (!file) return;
    await client.closeHistoryFile(file.id).catch(() => undefined);
    show(null);
  };

  return (
    <section className="screen history-file-screen" aria-labelledby="history-file-title">
      <div className="screen-head">
        <h1 id="history-file-title">History file</h1>
        {file && (
          <button type="button" onClick={close}>
            Close file
          </button>
        )}
      </div>

      <form className="open-form card" onSubmit={open}>
        {desktop ? (
          <div className="field">
            <label htmlFor="history-path">Path of an exported history file</label>
            <input
              id="history-path"
              value={path}
              placeholder="/home/me/clinic-history.db"
              onChange={(e) => setPath(e.target.value)}
              aria-invalid={error?.forField("path") || error?.forField("historyFile") ? true : undefined}
            />
          </div>
        ) : (
          <div className="field">
            <label htmlFor="history-upload">Exported history file</label>
            <input
              id="history-upload"
              type="file"
              onChange={(e) => setPicked(e.target.files?.[0] ?? null)}
              aria-invalid={error?.forField("file") || error?.forField("historyFile") ? true : undefined}
              aria-describedby="history-upload-hint"
            />
            <p className="field-hint" id="history-upload-hint">
              Made by “Export history file” on the Stats screen (or the command line's export); at most 512 MiB. It is opened
              read-only: nothing can be sent, changed or revealed.
            </p>
          </div>
        )}
        <div className="row">
          <button type="submit" className="primary" disabled={opening}>
            {opening ? "Opening…" : file ? "Open instead" : "Open"}
          </button>
          {opening && <Spinner label={desktop ? "Opening the file…" : "Uploading and opening the file…"} />}
        </div>
        {error && (
          <p className="field-error" role="alert">
            {error.forField("historyFile") ?? error.forField("file") ?? error.message}
          </p>
        )}
      </form>

      {!file ? (
        <Empty title="No history file open">
          Open an export to browse its attempts, statistics and audit trail offline, without touching this console's own
          history.
        </Empty>
      ) : (
        <>
          <div className="file-head">
            <span className="badge demo">Read-only</span>
            <strong>{file.name}</strong>
            <span className="muted">{formatBytes(file.sizeBytes)}</span>
            <span className="muted">
              opened <LocalTime value={file.openedAt} />
            </span>
          </div>
          <div role="tablist" aria-label="History file views" className="tabs view-tabs">
            {(["handoffs", "attempts", "stats", "audit"] as const).map((t) => (
              <button
                key={t}
                type="button"
                role="tab"
                id={`hf-tab-${t}`}
                aria-selected={tab === t}
                aria-controls="hf-panel"
                className={tab === t ? "tab active" : "tab"}
                onClick={() => setTab(t)}
              >
                {TAB_LABEL[t]}
              </button>
            ))}
          </div>
          <div id="hf-panel" role="tabpanel" aria-labelledby={`hf-tab-${tab}`} className="hf-panel">
            {(tab === "handoffs" || tab === "attempts") && <Browse key={`${file.id}-${tab}`} id={file.id} view={tab} />}
            {tab === "stats" && <StatsView id={file.id} onGone={() => show(null)} />}
            {tab === "audit" && <AuditView id={file.id} onGone={() => show(null)} />}
          </div>
        </>
      )}
    </section>
  );
}

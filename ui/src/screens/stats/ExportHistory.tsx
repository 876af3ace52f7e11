/** "Export history file": the same as the CLI's `export` (masked data, redacted configs, no
 * secrets), for the scope on screen, as a job with progress. In a browser the file is then
 * downloaded; in the window it is written to the Downloads folder. Either way it can be opened
 * at once in the History file screen. */
import { useState } from "react";
import { client } from "../../api/client";
import { ConsoleError } from "../../api/errors";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import type { ExportResult } from "../../api/types/ExportResult";
import { navigate } from "../../router";
import { formatCount } from "../../components/format";
import { offerHistoryFile } from "../history-file/pending";

export function ExportHistoryButton({
  integration,
  window,
  onNotice,
}: {
  integration?: string;
  window: { since?: string; until?: string };
  onNotice: (n: { kind: "ok" | "error"; text: string } | null) => void;
}) {
  const [asking, setAsking] = useState(false);
  const [progress, setProgress] = useState<string | null>(null);
  const [done, setDone] = useState<{ result: ExportResult; blob: Blob | null } | null>(null);

  const run = async () => {
    setDone(null);
    setProgress("Starting the export…");
    try {
      const { jobId } = await client.exportHistory({ integration, since: window.since, until: window.until });
      const result = await client.waitForJob<ExportResult>(jobId, (s) =>
        setProgress(s.total ? `Exporting: ${formatCount(s.done)} of ${formatCount(s.total)} handoffs` : "Exporting…"),
      );
      let blob: Blob | null = null;
      if (client.transport.kind !== "tauri") {
        blob = await client.downloadExport(result.fileName);
        const url = URL.createObjectURL(blob);
        const a = document.createElement("a");
        a.href = url;
        a.download = result.fileName;
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
      }
      setDone({ result, blob });
      onNotice(null);
    } catch (e) {
      onNotice({ kind: "error", text: `The history file was not written: ${ConsoleError.from(e).message}` });
    }
    setProgress(null);
  };

  const open = () => {
    if (!done) return;
    offerHistoryFile(done.blob ? { file: new File([done.blob], done.result.fileName) } : { path: done.result.path });
    navigate({ screen: "history-file" });
  };

  return (
    <>
      <button type="button" onClick={() => setAsking(true)} disabled={progress !== null}>
        {progress ? "Exporting…" : "Export history file"}
      </button>
      {(progress || done) && (
        <p className="export-status" role="status">
          {progress ??
            (done &&
              `History file written: ${done.result.fileName} (${formatCount(done.result.handoffs)} handoffs${
                client.transport.kind === "tauri" ? `, in ${done.result.path}` : ", downloaded"
              }).`)}{" "}
          {done && (
            <>
              <button type="button" className="linkish" onClick={open}>
                Open it in the History file screen
              </button>{" "}
              <button type="button" className="linkish" onClick={() => setDone(null)}>
                Dismiss
              </button>
            </>
          )}
        </p>
      )}
      <ConfirmDialog
        open={asking}
        title="Export a history file?"
        confirmLabel="Export"
        onConfirm={() => void run()}
        onClose={() => setAsking(false)}
      >
        <p>
          Writes the handoffs and attempts in this scope ({integration ? "this integration" : "every integration"},{" "}
          {window.since ? `from ${window.since}` : "from the start"}
          {window.until ? ` until ${window.until}` : " until now"}) with their audit trail to one file that any console
          opens read-only. Collected data is masked and no secret is written. The session and the table's filters do not
          narrow an export.
        </p>
      </ConfirmDialog>
    </>
  );
}

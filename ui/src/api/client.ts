/** The one client of the console, over either transport (see transport.ts). Its calls are
 * generated from the Rust operation list (./operations.ts, by `cargo test`): this file only
 * says how a call travels, and adds what is not an operation (polling a job, the HTTP-only file
 * transfers). */
import type { HistoryFileInfo } from "./types/HistoryFileInfo";
import type { HistoryQuery } from "./types/HistoryQuery";
import type { JobStatus } from "./types/JobStatus";
import { ConsoleError } from "./errors";
import { type Operation, Operations } from "./operations";
import { type Call, type Transport, detectTransport, queryString, tokenStore } from "./transport";

/** The HTTP and Tauri shape of one operation's call. */
export function callOf(op: Operation, params: Record<string, unknown>, request: unknown): Call {
  const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(params[name] ?? "")));
  const call: Call = { method: op.method, path, command: op.name, args: { ...params } };
  if (request !== undefined) call.args = { ...call.args, request };
  switch (op.input) {
    case "none":
      break;
    case "query":
      call.query = (request ?? {}) as object;
      break;
    case "json":
      call.body = request ?? {};
      break;
    case "text": {
      const field = op.textField ?? "";
      const { [field]: text, ...rest } = (request ?? {}) as Record<string, unknown>;
      call.rawBody = String(text ?? "");
      call.query = rest;
      break;
    }
  }
  return call;
}

export class ConsoleClient extends Operations {
  constructor(readonly transport: Transport) {
    super();
  }

  protected run<T>(op: Operation, params: Record<string, unknown>, request: unknown): Promise<T> {
    if (op.desktopOnly && this.transport.kind !== "tauri") {
      return Promise.reject(new ConsoleError({ kind: "invalid", message: `only the desktop window can do this (${op.name})` }));
    }
    return this.transport.call<T>(callOf(op, params, request));
  }

  /** Polls a job until it finishes, reporting progress; resolves with its result. */
  async waitForJob<T>(id: number, onProgress?: (s: JobStatus) => void, intervalMs = 250): Promise<T> {
    for (;;) {
      const status = await this.job(id);
      onProgress?.(status);
      if (status.finished) {
        if (status.error) throw ConsoleError.from(status.error);
        return status.result as T;
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  /** Uploads an exported history file (browser) and opens it read-only. The window opens a
   * file where it is instead (`openHistoryPath`). */
  openHistoryUpload(file: File): Promise<HistoryFileInfo> {
    if (this.transport.kind === "tauri") {
      return Promise.reject(new ConsoleError({ kind: "invalid", field: "file", message: "the desktop window opens a history file by its path, not by upload" }));
    }
    return this.transport.call({
      method: "POST",
      path: "/history-files",
      query: { name: file.name },
      blob: file,
      command: "",
    });
  }

  /** The history as CSV (masked data only), with how many rows it holds when the export was
   * cut at its limit (`limitedTo`: 1,000,000 over HTTP, where the server streams it; 100,000
   * in the window, whose command returns the text). */
  async historyCsv(query: HistoryQuery = {}): Promise<{ blob: Blob; limitedTo: number | null }> {
    if (this.transport.kind === "tauri") {
      const text = await this.historyCsvText(query);
      return { blob: new Blob([text], { type: "text/csv" }), limitedTo: null };
    }
    const response = await this.download(`/attempts.csv${queryString(query)}`);
    const total = Number(response.headers.get("x-total-count"));
    const written = Number(response.headers.get("x-exported-rows"));
    const blob = await response.blob();
    return { blob, limitedTo: written < total ? written : null };
  }

  /** An export's file, by the `fileName` its job reported. HTTP only: in the window the file
   * is already in the Downloads folder (its `path`). */
  async downloadExport(fileName: string): Promise<Blob> {
    if (this.transport.kind === "tauri") {
      throw new ConsoleError({ kind: "invalid", field: "fileName", message: "the window writes exports into the Downloads folder; there is nothing to download" });
    }
    return (await this.download(`/exports/${encodeURIComponent(fileName)}`)).blob();
  }

  /** A GET whose answer is a file, not JSON (its errors are still the console's JSON). */
  private async download(path: string): Promise<Response> {
    const token = tokenStore.get();
    let response: Response;
    try {
      response = await fetch(`/api/v1${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    } catch (e) {
      throw new ConsoleError({ kind: "network", message: `the console did not answer (${String(e)})` });
    }
    if (!response.ok) {
      const body = (await response.json().catch(() => undefined)) as { error?: unknown } | undefined;
      throw ConsoleError.from(body?.error ?? `HTTP ${response.status}`);
    }
    return response;
  }
}

export const client = new ConsoleClient(detectTransport());

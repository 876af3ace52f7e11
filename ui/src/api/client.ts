/** The one typed client of the console, over either transport (see transport.ts). Request and
 * response types are generated from the Rust types (./types, by `cargo test`). */
import type { AttemptDetail } from "./types/AttemptDetail";
import type { AttemptPage } from "./types/AttemptPage";
import type { AttemptSummary } from "./types/AttemptSummary";
import type { AttemptView } from "./types/AttemptView";
import type { AuditEvent } from "./types/AuditEvent";
import type { CheckedData } from "./types/CheckedData";
import type { ColumnsRequest } from "./types/ColumnsRequest";
import type { ConfigChecked } from "./types/ConfigChecked";
import type { DeliveriesQuery } from "./types/DeliveriesQuery";
import type { DeliverySummary } from "./types/DeliverySummary";
import type { DemoRemoved } from "./types/DemoRemoved";
import type { DemoSamples } from "./types/DemoSamples";
import type { ExportRequest } from "./types/ExportRequest";
import type { GeneratedData } from "./types/GeneratedData";
import type { HandoffPage } from "./types/HandoffPage";
import type { HandoffResult } from "./types/HandoffResult";
import type { HandoffRow } from "./types/HandoffRow";
import type { HandoffsQuery } from "./types/HandoffsQuery";
import type { HealthHistoryQuery } from "./types/HealthHistoryQuery";
import type { HealthRunRequest } from "./types/HealthRunRequest";
import type { HealthSnapshot } from "./types/HealthSnapshot";
import type { HistoryFileInfo } from "./types/HistoryFileInfo";
import type { HistoryQuery } from "./types/HistoryQuery";
import type { Integration } from "./types/Integration";
import type { IntegrationsQuery } from "./types/IntegrationsQuery";
import type { JobStarted } from "./types/JobStarted";
import type { JobStatus } from "./types/JobStatus";
import type { LastHealth } from "./types/LastHealth";
import type { RetryRequest } from "./types/RetryRequest";
import type { RetryResponse } from "./types/RetryResponse";
import type { SendRequest } from "./types/SendRequest";
import type { Stats } from "./types/Stats";
import type { StatsQuery } from "./types/StatsQuery";
import type { TargetColumns } from "./types/TargetColumns";
import type { TestCheckRequest } from "./types/TestCheckRequest";
import type { TestDataRequest } from "./types/TestDataRequest";
import type { TestReport } from "./types/TestReport";
import type { TestRunRequest } from "./types/TestRunRequest";
import { ConsoleError } from "./errors";
import { type Transport, detectTransport, queryString, tokenStore } from "./transport";

export interface ConsoleInfo {
  version: string;
  dataDir: string;
  readOnly: boolean;
}

export interface AttemptWithChain {
  attempt: AttemptDetail;
  retryChain: AttemptSummary[];
}

const enc = encodeURIComponent;

export class ConsoleClient {
  constructor(readonly transport: Transport) {}

  info(): Promise<ConsoleInfo> {
    return this.transport.call({ method: "GET", path: "/info", command: "info" });
  }

  integrations(query: IntegrationsQuery = {}): Promise<Integration[]> {
    return this.transport.call({
      method: "GET",
      path: "/integrations",
      query,
      command: "list_integrations",
      args: { query },
    });
  }

  integration(id: string): Promise<Integration> {
    return this.transport.call({ method: "GET", path: `/integrations/${enc(id)}`, command: "show_integration", args: { id } });
  }

  /** `config`: an envelope (or a bare seed config) as JSON text or an object. */
  addIntegration(config: unknown, name?: string): Promise<Integration> {
    const text = typeof config === "string" ? config : JSON.stringify(config);
    return this.transport.call({
      method: "POST",
      path: "/integrations",
      query: { name },
      rawBody: text,
      command: "add_integration",
      args: { config: text, name: name ?? null },
    });
  }

  updateIntegration(id: string, config: unknown): Promise<Integration> {
    const text = typeof config === "string" ? config : JSON.stringify(config);
    return this.transport.call({
      method: "PUT",
      path: `/integrations/${enc(id)}`,
      rawBody: text,
      command: "update_integration",
      args: { id, config: text },
    });
  }

  /** Checks a config as a save would and saves nothing: `{ ok: true }`, or an `invalid` error
   * with every problem. `id`: the integration being edited. */
  validateIntegration(config: unknown, id?: string): Promise<ConfigChecked> {
    const text = typeof config === "string" ? config : JSON.stringify(config);
    return this.transport.call({
      method: "POST",
      path: "/integrations/check",
      query: { id },
      rawBody: text,
      command: "check_integration",
      args: { config: text, id: id ?? null },
    });
  }

  removeIntegration(id: string): Promise<Integration> {
    return this.transport.call({ method: "DELETE", path: `/integrations/${enc(id)}`, command: "remove_integration", args: { id } });
  }

  setSecret(id: string, name: string, value: string): Promise<{ ok: boolean }> {
    return this.transport.call({
      method: "PUT",
      path: `/integrations/${enc(id)}/secrets/${enc(name)}`,
      body: { value },
      command: "set_secret",
      args: { id, name, value },
    });
  }

  history(query: HistoryQuery = {}): Promise<AttemptSummary[]> {
    return this.transport.call({ method: "GET", path: "/attempts", query, command: "history", args: { query } });
  }

  attempt(id: string): Promise<AttemptWithChain> {
    return this.transport.call({ method: "GET", path: `/attempts/${enc(id)}`, command: "show_attempt", args: { id } });
  }

  send(request: SendRequest): Promise<HandoffResult> {
    return this.transport.call({ method: "POST", path: "/handoffs", body: request, command: "send", args: { request } });
  }

  reveal(handoffId: string): Promise<{ handoffId: string; data: Record<string, unknown> }> {
    return this.transport.call({
      method: "POST",
      path: `/handoffs/${enc(handoffId)}/reveal`,
      command: "reveal",
      args: { id: handoffId },
    });
  }

  stats(query: StatsQuery = {}): Promise<Stats> {
    return this.transport.call({ method: "GET", path: "/stats", query, command: "stats", args: { query } });
  }

  lastHealth(): Promise<LastHealth> {
    return this.transport.call({ method: "GET", path: "/health", command: "last_health" });
  }

  runHealth(request: HealthRunRequest = {}): Promise<JobStarted> {
    return this.transport.call({ method: "POST", path: "/health", body: request, command: "run_health", args: { request } });
  }

  runTest(request: TestRunRequest): Promise<TestReport> {
    return this.transport.call({ method: "POST", path: "/tests", body: request, command: "run_test", args: { request } });
  }

  retry(request: RetryRequest): Promise<RetryResponse> {
    return this.transport.call({ method: "POST", path: "/retries", body: request, command: "retry", args: { request } });
  }

  job(id: number): Promise<JobStatus> {
    return this.transport.call({ method: "GET", path: `/jobs/${id}`, command: "job", args: { id } });
  }

  createDemo(): Promise<Integration[]> {
    return this.transport.call({ method: "POST", path: "/demo", command: "create_demo" });
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

  // --- tests & health ---

  /** Test data generated from the field schema (nothing runs); the seed reproduces it. */
  generateTestData(request: TestDataRequest): Promise<GeneratedData> {
    return this.transport.call({
      method: "POST",
      path: "/tests/data",
      body: request,
      command: "generate_test_data",
      args: { request },
    });
  }

  /** Checks custom test data against the schema: the data normalised, or an `invalid` error
   * with one detail per field. */
  checkTestData(request: TestCheckRequest): Promise<CheckedData> {
    return this.transport.call({
      method: "POST",
      path: "/tests/check",
      body: request,
      command: "check_test_data",
      args: { request },
    });
  }

  /** An integration's kept health results, newest first. */
  healthHistory(query: HealthHistoryQuery): Promise<HealthSnapshot[]> {
    return this.transport.call({
      method: "GET",
      path: "/health/history",
      query,
      command: "health_history",
      args: { query },
    });
  }

  /** Every integration's last delivery and its deliveries over a window (default 24h). */
  deliveries(query: DeliveriesQuery = {}): Promise<DeliverySummary[]> {
    return this.transport.call({
      method: "GET",
      path: "/deliveries",
      query,
      command: "delivery_summaries",
      args: { query },
    });
  }

  // --- integrations ---

  /** The live columns of a (possibly unsaved) database config's table; `integration` is the
   * one being edited, whose stored password is used where the config shows the mask. */
  targetColumns(request: ColumnsRequest): Promise<TargetColumns> {
    return this.transport.call({
      method: "POST",
      path: "/integrations/columns",
      body: request,
      command: "target_columns",
      args: { request },
    });
  }

  /** The ids of the demo workspace's integrations. */
  demoIntegrations(): Promise<{ integrations: string[] }> {
    return this.transport.call({ method: "GET", path: "/demo", command: "demo_integrations" });
  }

  removeDemo(): Promise<DemoRemoved> {
    return this.transport.call({ method: "DELETE", path: "/demo", command: "remove_demo" });
  }

  /** One sample handoff (generated data) to each demo integration, live: the database delivers,
   * the offline API fails and gets a retry. A `notFound` error when there is no demo. */
  sendDemoSamples(): Promise<DemoSamples> {
    return this.transport.call({ method: "POST", path: "/demo/samples", command: "send_demo_samples" });
  }

  // --- history file ---

  /** Uploads an exported history file (browser) and opens it read-only. */
  openHistoryUpload(file: File): Promise<HistoryFileInfo> {
    return this.transport.call({
      method: "POST",
      path: "/history-files",
      query: { name: file.name },
      blob: file,
      command: "open_history_upload",
    });
  }

  /** Opens a local history file in place. Desktop only: the HTTP API has no such route (a
   * browser uploads the file instead). */
  openHistoryPath(path: string): Promise<HistoryFileInfo> {
    return this.transport.call({
      method: "POST",
      path: "/history-files/path",
      body: { path },
      command: "open_history_path",
      args: { path },
    });
  }

  historyFileAttempts(id: string, query: HistoryQuery = {}): Promise<AttemptSummary[]> {
    return this.transport.call({
      method: "GET",
      path: `/history-files/${enc(id)}/attempts`,
      query,
      command: "history_file_attempts",
      args: { id, query },
    });
  }

  historyFileStats(id: string, query: StatsQuery = {}): Promise<Stats> {
    return this.transport.call({
      method: "GET",
      path: `/history-files/${enc(id)}/stats`,
      query,
      command: "history_file_stats",
      args: { id, query },
    });
  }

  historyFileAudit(id: string, limit?: number): Promise<AuditEvent[]> {
    return this.transport.call({
      method: "GET",
      path: `/history-files/${enc(id)}/audit`,
      query: { limit },
      command: "history_file_audit",
      args: { id, limit: limit ?? null },
    });
  }

  /** One page of a history file's attempts and the total matching (`limit` 1 to 1000). */
  historyFileAttemptsPage(id: string, query: HistoryQuery = {}): Promise<AttemptPage> {
    return this.transport.call({
      method: "GET",
      path: `/history-files/${enc(id)}/attempts/page`,
      query,
      command: "history_file_attempts_page",
      args: { id, query },
    });
  }

  /** One attempt of a history file, its retry chain and its handoff's masked data. */
  historyFileAttemptView(id: string, attemptId: string): Promise<AttemptView> {
    return this.transport.call({
      method: "GET",
      path: `/history-files/${enc(id)}/attempts/${enc(attemptId)}`,
      command: "history_file_attempt_view",
      args: { id, attemptId },
    });
  }

  /** One page of a history file's handoffs and the total matching (`limit` 1 to 1000). */
  historyFileHandoffsPage(id: string, query: HandoffsQuery = {}): Promise<HandoffPage> {
    return this.transport.call({
      method: "GET",
      path: `/history-files/${enc(id)}/handoffs/page`,
      query,
      command: "history_file_handoffs_page",
      args: { id, query },
    });
  }

  closeHistoryFile(id: string): Promise<HistoryFileInfo> {
    return this.transport.call({
      method: "DELETE",
      path: `/history-files/${enc(id)}`,
      command: "close_history_file",
      args: { id },
    });
  }

  // --- stats ---

  /** One page of the history and the total matching (`limit` 1 to 1000). */
  historyPage(query: HistoryQuery = {}): Promise<AttemptPage> {
    return this.transport.call({ method: "GET", path: "/attempts/page", query, command: "history_page", args: { query } });
  }

  /** Handoffs (configuration tests left out), newest activity first unless `sort` says
   * otherwise (`limit` 1 to 10000, default 50). */
  handoffs(query: HandoffsQuery = {}): Promise<HandoffRow[]> {
    return this.transport.call({ method: "GET", path: "/handoffs", query, command: "list_handoffs", args: { query } });
  }

  /** One page of the handoff list and the total matching (`limit` 1 to 1000). */
  handoffsPage(query: HandoffsQuery = {}): Promise<HandoffPage> {
    return this.transport.call({ method: "GET", path: "/handoffs/page", query, command: "handoffs_page", args: { query } });
  }

  /** One attempt, its retry chain and its handoff's masked data. */
  attemptView(id: string): Promise<AttemptView> {
    return this.transport.call({ method: "GET", path: `/attempts/${enc(id)}`, command: "attempt_view", args: { id } });
  }

  /** The history matching `query` as CSV (masked data only). Over HTTP the server streams it
   * (at most 1,000,000 rows); the desktop command returns it as text (at most 100,000 rows). */
  /** The history as CSV, with how many rows it holds when the export was cut at its limit
   * (`limitedTo`: 1,000,000 over HTTP, 100,000 in the window). */
  async historyCsv(query: HistoryQuery = {}): Promise<{ blob: Blob; limitedTo: number | null }> {
    if (this.transport.kind === "tauri") {
      const text = await this.transport.call<string>({
        method: "GET",
        path: "/attempts.csv",
        command: "history_csv",
        args: { query },
      });
      return { blob: new Blob([text], { type: "text/csv" }), limitedTo: null };
    }
    const token = tokenStore.get();
    let response: Response;
    try {
      response = await fetch(`/api/v1/attempts.csv${queryString(query)}`, {
        headers: token ? { Authorization: `Bearer ${token}` } : {},
      });
    } catch (e) {
      throw new ConsoleError({ kind: "network", message: `the console did not answer (${String(e)})` });
    }
    if (!response.ok) {
      const body = (await response.json().catch(() => undefined)) as { error?: unknown } | undefined;
      throw ConsoleError.from(body?.error ?? `HTTP ${response.status}`);
    }
    const total = Number(response.headers.get("x-total-count"));
    const written = Number(response.headers.get("x-exported-rows"));
    const blob = await response.blob();
    return { blob, limitedTo: written < total ? written : null };
  }

  /** Writes a history file (as `handoff-console export`) as a job; its result is an
   * `ExportResult` (`fileName`, `path`, `rows`, `bytes`…). Over HTTP the file is kept on the
   * console's machine for `downloadExport`; the window writes it into the Downloads folder. */
  exportHistory(request: ExportRequest = {}): Promise<JobStarted> {
    return this.transport.call({ method: "POST", path: "/exports", body: request, command: "export_history", args: { request } });
  }

  /** An export's file, by the `fileName` its job reported. HTTP only: in the window the file
   * is already in the Downloads folder (its `path`). */
  async downloadExport(fileName: string): Promise<Blob> {
    if (this.transport.kind === "tauri") {
      throw new ConsoleError({ kind: "invalid", field: "fileName", message: "the window writes exports into the Downloads folder; there is nothing to download" });
    }
    const token = tokenStore.get();
    let response: Response;
    try {
      response = await fetch(`/api/v1/exports/${enc(fileName)}`, {
        headers: token ? { Authorization: `Bearer ${token}` } : {},
      });
    } catch (e) {
      throw new ConsoleError({ kind: "network", message: `the console did not answer (${String(e)})` });
    }
    if (!response.ok) {
      const body = (await response.json().catch(() => undefined)) as { error?: unknown } | undefined;
      throw ConsoleError.from(body?.error ?? `HTTP ${response.status}`);
    }
    return response.blob();
  }
}

export const client = new ConsoleClient(detectTransport());

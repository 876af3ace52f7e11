/** The integration editor's model: a config (the generated Rust types) <-> the form's state
 * (strings as the inputs hold them), the field-schema and mapping edits, and where each of the
 * backend's field errors shows. No React here, so it is tested on its own. */
import type { ConsoleError } from "../../api/errors";
import type { AuthKind } from "../../api/types/AuthKind";
import type { DbType } from "../../api/types/DbType";
import type { FieldSpec } from "../../api/types/FieldSpec";
import type { FieldType } from "../../api/types/FieldType";
import type { HttpMethod } from "../../api/types/HttpMethod";
import type { HealthMethod } from "../../api/types/HealthMethod";
import type { IntegrationConfig } from "../../api/types/IntegrationConfig";
import type { SslMode } from "../../api/types/SslMode";
import type { LastHealth } from "../../api/types/LastHealth";
import { type ShownStatus, shownStatus } from "../health/model";
import type { TargetColumn } from "../../api/types/TargetColumn";
import type { TargetKind } from "../../api/types/TargetKind";

/** What the stored config shows in place of a secret; sent back, it keeps the stored value. */
export const SECRET_MASK = "••••••••";

export const FIELD_TYPES: FieldType[] = [
  "text", "name", "first_name", "last_name", "email", "phone", "date", "datetime", "time",
  "integer", "number", "boolean", "enum", "address", "postal_code", "uuid",
];

/** Values the console fills in itself; they can be mapped like collected fields. */
export const BUILT_INS = ["timestamp", "sessionId", "handoffId"];

let nextKey = 0;
/** A stable React key for a row that has no id of its own. */
export function rowKey(): string {
  nextKey += 1;
  return `r${nextKey}`;
}

export interface FieldRow {
  key: string;
  name: string;
  type: FieldType;
  required: boolean;
  /** Enum values, comma-separated. */
  values: string;
  description: string;
}

export interface HeaderRow {
  key: string;
  name: string;
  value: string;
  /** The stored value is a secret shown as the mask: left empty, the stored one is kept. */
  stored: boolean;
}

export interface MappingRow {
  key: string;
  field: string;
  column: string;
}

/** The JSON type a fixed column value is sent as (from the column's type, or as stored). */
export type FixedKind = "text" | "number" | "boolean";

/** A column filled with the same value on every insert (a clinic code). */
export interface FixedRow {
  key: string;
  column: string;
  value: string;
  kind: FixedKind;
}

/** A secret input: what was typed (empty = unchanged), and whether a value is stored. */
export interface SecretInput {
  value: string;
  stored: boolean;
}

/** "" = the default: verified TLS to another machine (or with a CA file), prefer on this one. */
export type SslChoice = "" | SslMode;

/** Each database's TLS modes by its own names, weakest first (PostgreSQL's, MySQL's). */
export const SSL_MODES: Record<"postgresql" | "mysql", SslMode[]> = {
  postgresql: ["disable", "prefer", "require", "verify-ca", "verify-full"],
  mysql: ["disabled", "preferred", "required", "verify_ca", "verify_identity"],
};

/** The same protection by `type`'s names (a MySQL target also takes PostgreSQL's). */
export function sslFor(type: DbType, ssl: SslChoice): SslChoice {
  if (!ssl || type === "sqlite") return ssl;
  const level = Math.max(SSL_MODES.postgresql.indexOf(ssl), SSL_MODES.mysql.indexOf(ssl));
  return SSL_MODES[type][level] ?? ssl;
}

export interface FormState {
  name: string;
  kind: TargetKind;
  description: string;
  fields: FieldRow[];
  api: {
    endpoint: string;
    method: HttpMethod;
    auth: "" | AuthKind;
    token: SecretInput;
    username: string;
    password: SecretInput;
    key: SecretInput;
    keyIn: "header" | "query";
    keyName: string;
    headers: HeaderRow[];
    /** JSON text with placeholders; empty = send the collected fields as they are. */
    payload: string;
    timeoutMs: string;
    connectTimeoutMs: string;
    /** Comma-separated status codes; empty = any 2xx. */
    expectStatus: string;
    requirePointer: string;
    submissionIdPointer: string;
    healthMethod: HealthMethod;
    healthPath: string;
  };
  database: {
    type: DbType;
    hostname: string;
    port: string;
    database: string;
    username: string;
    password: SecretInput;
    table: string;
    ssl: SslChoice;
    /** The CA file's path (PEM) for a private CA; empty = the public CAs only. */
    sslRootCert: string;
    poolSize: string;
    connectTimeoutMs: string;
    statementTimeoutMs: string;
    mapping: MappingRow[];
    fixed: FixedRow[];
  };
  retry: { maxAttempts: string; baseDelayMs: string; maxDelayMs: string };
  /** When recent deliveries make the integration unhealthy; empty = the defaults. */
  health: { failuresForError: string; recentDeliveries: string; windowHours: string };
}

const noSecret = (): SecretInput => ({ value: "", stored: false });

export function emptyForm(kind: TargetKind = "api"): FormState {
  return {
    name: "",
    kind,
    description: "",
    fields: [],
    api: {
      endpoint: "",
      method: "POST",
      auth: "",
      token: noSecret(),
      username: "",
      password: noSecret(),
      key: noSecret(),
      keyIn: "header",
      keyName: "",
      headers: [],
      payload: "",
      timeoutMs: "",
      connectTimeoutMs: "",
      expectStatus: "",
      requirePointer: "",
      submissionIdPointer: "",
      healthMethod: "GET",
      healthPath: "",
    },
    database: {
      type: "postgresql",
      hostname: "",
      port: "",
      database: "",
      username: "",
      password: noSecret(),
      table: "",
      ssl: "",
      sslRootCert: "",
      poolSize: "",
      connectTimeoutMs: "",
      statementTimeoutMs: "",
      mapping: [],
      fixed: [],
    },
    retry: { maxAttempts: "5", baseDelayMs: "2000", maxDelayMs: "3600000" },
    health: { failuresForError: "", recentDeliveries: "", windowHours: "" },
  };
}

const str = (v: number | string | null | undefined): string => (v === null || v === undefined ? "" : String(v));

/** A stored secret: shown empty (never the mask) and marked as stored. */
function secretFrom(v: string | undefined): SecretInput {
  if (v === undefined) return noSecret();
  return v === SECRET_MASK ? { value: "", stored: true } : { value: v, stored: false };
}

export function configToForm(c: IntegrationConfig): FormState {
  const f = emptyForm(c.kind);
  f.name = c.name;
  f.description = c.description ?? "";
  f.fields = c.fields.map((s) => ({
    key: rowKey(),
    name: s.name,
    type: s.type,
    required: s.required,
    values: (s.values ?? []).join(", "),
    description: s.description ?? "",
  }));
  f.retry = {
    maxAttempts: str(c.retry.maxAttempts),
    baseDelayMs: str(c.retry.baseDelayMs),
    maxDelayMs: str(c.retry.maxDelayMs),
  };
  if (c.api) {
    const a = c.api;
    const creds = a.authentication?.credentials ?? {};
    f.api = {
      ...f.api,
      endpoint: a.endpoint,
      method: a.method,
      auth: a.authentication?.type ?? "",
      token: secretFrom(creds.token),
      username: creds.username ?? "",
      password: secretFrom(creds.password),
      key: secretFrom(creds.key),
      keyIn: creds.query !== undefined ? "query" : "header",
      keyName: creds.query ?? creds.header ?? "",
      headers: Object.entries(a.headers).map(([name, value]) => ({
        key: rowKey(),
        name,
        value: value === SECRET_MASK ? "" : value,
        stored: value === SECRET_MASK,
      })),
      payload:
        a.payloadStructure === undefined || a.payloadStructure === null
          ? ""
          : JSON.stringify(a.payloadStructure, null, 2),
      timeoutMs: str(a.timeoutMs),
      connectTimeoutMs: str(a.connectTimeoutMs),
      expectStatus: (a.expect?.status ?? []).join(", "),
      requirePointer: a.expect?.requirePointer ?? "",
      submissionIdPointer: a.expect?.submissionIdPointer ?? "",
      healthMethod: a.healthCheck?.method ?? "GET",
      healthPath: a.healthCheck?.path ?? "",
    };
  }
  if (c.database) {
    const d = c.database;
    f.database = {
      type: d.type,
      hostname: d.hostname ?? "",
      port: str(d.port),
      database: d.database,
      username: d.username ?? "",
      password: secretFrom(d.password ?? undefined),
      table: d.table,
      // The seed's boolean: true is verified TLS, false none.
      ssl: d.ssl === true ? sslFor(d.type, "verify-full") : d.ssl === false ? sslFor(d.type, "disable") : (d.ssl ?? ""),
      sslRootCert: d.sslRootCert ?? "",
      poolSize: str(d.poolSize),
      connectTimeoutMs: str(d.connectTimeoutMs),
      statementTimeoutMs: str(d.statementTimeoutMs),
      mapping: Object.entries(d.fieldMapping).map(([field, column]) => ({ key: rowKey(), field, column })),
      fixed: Object.entries(d.fixedValues ?? {}).map(([column, v]) => ({
        key: rowKey(),
        column,
        value: String(v),
        kind: typeof v === "number" ? "number" : typeof v === "boolean" ? "boolean" : "text",
      })),
    };
  }
  f.health = {
    failuresForError: str(c.health?.failuresForError),
    recentDeliveries: str(c.health?.recentDeliveries),
    windowHours: str(c.health?.windowHours),
  };
  return f;
}

/** Problems found before sending (a number that is not one, JSON that does not parse): every
 * one of them, so that a save reports them all at once. `field` and `message` are the first's. */
export class FormProblem extends Error {
  readonly problems: { field: string; message: string }[];
  constructor(
    readonly field: string,
    message: string,
    more: { field: string; message: string }[] = [],
  ) {
    super(more.length ? `${message} (and ${more.length} more)` : message);
    this.problems = [{ field, message }, ...more];
  }
}

/** Collects the form's own problems while a config is built from it. */
class Problems {
  readonly list: { field: string; message: string }[] = [];
  add(field: string, message: string): undefined {
    this.list.push({ field, message });
    return undefined;
  }
  /** A whole number from an input; empty = not set. The backend checks the ranges. */
  num(v: string, field: string): number | undefined {
    const t = v.trim();
    if (t === "") return undefined;
    if (!/^\d+$/.test(t)) return this.add(field, `must be a whole number (got "${t.slice(0, 40)}")`);
    return Number(t);
  }
}

/** The secret to send: what was typed, else the mask when a value is stored (keeps it). */
function secretOut(s: SecretInput): string | undefined {
  if (s.value !== "") return s.value;
  return s.stored ? SECRET_MASK : undefined;
}

const opt = (v: string): string | undefined => (v.trim() === "" ? undefined : v.trim());

/** The config the form describes. Throws [`FormProblem`] (with every problem) for input that
 * cannot be sent at all; everything else is the backend's to validate (its errors name the same
 * paths). */
export function formToConfig(f: FormState): IntegrationConfig {
  const { config, problems } = formToConfigChecked(f);
  const [first, ...rest] = problems;
  if (first) throw new FormProblem(first.field, first.message, rest);
  return config;
}

/** The config the form describes, leaving out what cannot be sent, and the form's own problems
 * (so the backend can still check the rest and every problem is shown at once). */
export function formToConfigChecked(f: FormState): { config: IntegrationConfig; problems: { field: string; message: string }[] } {
  const p = new Problems();
  const num = (v: string, field: string) => p.num(v, field);
  const fields: FieldSpec[] = f.fields.map((r) => {
    const spec: FieldSpec = { name: r.name.trim(), type: r.type, required: r.required };
    if (r.type === "enum") {
      spec.values = r.values.split(",").map((v) => v.trim()).filter(Boolean);
    }
    if (r.description.trim()) spec.description = r.description.trim();
    return spec;
  });
  const retry = {
    maxAttempts: num(f.retry.maxAttempts, "retry.maxAttempts") ?? 5,
    baseDelayMs: num(f.retry.baseDelayMs, "retry.baseDelayMs") ?? 2000,
    maxDelayMs: num(f.retry.maxDelayMs, "retry.maxDelayMs") ?? 3600000,
  };
  const config: IntegrationConfig = { name: f.name.trim(), kind: f.kind, fields, retry };
  if (f.description.trim()) config.description = f.description.trim();
  const health = {
    failuresForError: num(f.health.failuresForError, "health.failuresForError"),
    recentDeliveries: num(f.health.recentDeliveries, "health.recentDeliveries"),
    windowHours: num(f.health.windowHours, "health.windowHours"),
  };
  if (Object.values(health).some((v) => v !== undefined)) {
    config.health = Object.fromEntries(Object.entries(health).filter(([, v]) => v !== undefined)) as IntegrationConfig["health"];
  }
  if (f.kind === "api") {
    const a = f.api;
    const headers: Record<string, string> = {};
    a.headers.forEach((h, i) => {
      const name = h.name.trim();
      if (!name) return;
      if (name in headers) return p.add(`api.headers.${name}`, `'${name}' is given twice (row ${i + 1})`);
      headers[name] = h.value === "" && h.stored ? SECRET_MASK : h.value;
    });
    const api: NonNullable<IntegrationConfig["api"]> = { endpoint: a.endpoint.trim(), method: a.method, headers };
    if (a.auth) {
      const credentials: Record<string, string> = {};
      const put = (k: string, v: string | undefined) => {
        if (v !== undefined) credentials[k] = v;
      };
      if (a.auth === "bearer") put("token", secretOut(a.token));
      if (a.auth === "basic") {
        put("username", a.username);
        put("password", secretOut(a.password));
      }
      if (a.auth === "api-key") {
        put("key", secretOut(a.key));
        if (a.keyName.trim()) put(a.keyIn, a.keyName.trim());
      }
      api.authentication = { type: a.auth, credentials };
    }
    if (a.payload.trim()) {
      try {
        api.payloadStructure = JSON.parse(a.payload);
      } catch (e) {
        p.add("api.payloadStructure", `is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    const timeoutMs = num(a.timeoutMs, "api.timeoutMs");
    if (timeoutMs !== undefined) api.timeoutMs = timeoutMs;
    const connectTimeoutMs = num(a.connectTimeoutMs, "api.connectTimeoutMs");
    if (connectTimeoutMs !== undefined) api.connectTimeoutMs = connectTimeoutMs;
    const status = a.expectStatus
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)
      .flatMap((s) => {
        if (!/^\d{3}$/.test(s)) {
          p.add("api.expect.status", `'${s}' is not an HTTP status code (three digits, e.g. 201)`);
          return [];
        }
        return [Number(s)];
      });
    if (status.length || opt(a.requirePointer) || opt(a.submissionIdPointer)) {
      api.expect = {};
      if (status.length) api.expect.status = status;
      if (opt(a.requirePointer)) api.expect.requirePointer = opt(a.requirePointer);
      if (opt(a.submissionIdPointer)) api.expect.submissionIdPointer = opt(a.submissionIdPointer);
    }
    if (opt(a.healthPath)) api.healthCheck = { method: a.healthMethod, path: a.healthPath.trim() };
    config.api = api;
  } else {
    const d = f.database;
    const fieldMapping: Record<string, string> = {};
    d.mapping.forEach((m) => {
      const field = m.field.trim();
      if (!field && !m.column.trim()) return;
      if (!field) return p.add("database.fieldMapping", `column '${m.column.trim()}' has no field to fill it`);
      if (field in fieldMapping) return p.add(`database.fieldMapping.${field}`, `'${field}' is mapped twice`);
      fieldMapping[field] = m.column.trim();
    });
    const db: NonNullable<IntegrationConfig["database"]> = {
      type: d.type,
      database: d.database.trim(),
      table: d.table.trim(),
      fieldMapping,
    };
    const fixedValues: Record<string, string | number | boolean> = {};
    d.fixed.forEach((r) => {
      const column = r.column.trim();
      if (!column) return;
      const at = `database.fixedValues.${column}`;
      if (column in fixedValues) return p.add(at, `column '${column}' is given a fixed value twice`);
      if (r.kind === "number") {
        const n = Number(r.value.trim());
        if (r.value.trim() === "" || !Number.isFinite(n)) return p.add(at, `must be a number for column '${column}' (got "${r.value}")`);
        fixedValues[column] = n;
      } else if (r.kind === "boolean") {
        if (!["true", "false"].includes(r.value.trim())) return p.add(at, `must be true or false for column '${column}'`);
        fixedValues[column] = r.value.trim() === "true";
      } else {
        fixedValues[column] = r.value;
      }
    });
    if (Object.keys(fixedValues).length) db.fixedValues = fixedValues;
    if (d.type !== "sqlite") {
      if (opt(d.hostname)) db.hostname = d.hostname.trim();
      const port = num(d.port, "database.port");
      if (port !== undefined) db.port = port;
      if (opt(d.username)) db.username = d.username.trim();
      const password = secretOut(d.password);
      if (password !== undefined) db.password = password;
      if (d.ssl) db.ssl = d.ssl;
      if (opt(d.sslRootCert)) db.sslRootCert = d.sslRootCert.trim();
    }
    const poolSize = num(d.poolSize, "database.poolSize");
    if (poolSize !== undefined) db.poolSize = poolSize;
    const cto = num(d.connectTimeoutMs, "database.connectTimeoutMs");
    if (cto !== undefined) db.connectTimeoutMs = cto;
    const sto = num(d.statementTimeoutMs, "database.statementTimeoutMs");
    if (sto !== undefined) db.statementTimeoutMs = sto;
    config.database = db;
  }
  return { config, problems: p.list };
}

// --- field schema edits (pure: each returns a new list) ---

export function addField(rows: FieldRow[]): FieldRow[] {
  return [...rows, { key: rowKey(), name: "", type: "text", required: false, values: "", description: "" }];
}

export function removeAt<T>(rows: T[], index: number): T[] {
  return rows.filter((_, i) => i !== index);
}

/** Moves row `from` by `by` places (clamped to the list). */
export function move<T>(rows: T[], from: number, by: number): T[] {
  const to = Math.max(0, Math.min(rows.length - 1, from + by));
  if (from < 0 || from >= rows.length || to === from) return rows;
  const out = [...rows];
  const [row] = out.splice(from, 1);
  out.splice(to, 0, row as T);
  return out;
}

export function updateAt<T>(rows: T[], index: number, patch: Partial<T>): T[] {
  return rows.map((r, i) => (i === index ? { ...r, ...patch } : r));
}

/** Sets which field fills `column` ("" = none): edits its mapping row, adds or removes one. */
export function mapColumn(rows: MappingRow[], column: string, field: string): MappingRow[] {
  const at = rows.findIndex((r) => r.column === column);
  if (!field) return at < 0 ? rows : removeAt(rows, at);
  // A field fills one column: taking it here frees it elsewhere.
  const others = rows.filter((r, i) => i === at || r.field !== field);
  const i = others.findIndex((r) => r.column === column);
  if (i < 0) return [...others, { key: rowKey(), field, column }];
  return updateAt(others, i, { field });
}

// --- columns of the live table ---

/** A column name as a field name: `patient_name` → `patientName`, `Email` → `email`. */
export function fieldNameFor(column: string): string {
  const parts = column.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const name = parts.map((p, i) => (i === 0 ? p.charAt(0).toLowerCase() + p.slice(1) : p.charAt(0).toUpperCase() + p.slice(1))).join("");
  return /^[A-Za-z_]/.test(name) ? name : `f_${name}`;
}

/** The field type a column suggests, from its type and then its name. */
export function fieldTypeFor(column: { name: string; typeName: string }): FieldType {
  const t = column.typeName.toLowerCase();
  const n = column.name.toLowerCase();
  if (t.includes("bool")) return "boolean";
  if (t.includes("uuid")) return "uuid";
  if (t.includes("timestamp") || t.includes("datetime")) return "datetime";
  if (t === "date") return "date";
  if (t.startsWith("time")) return "time";
  if (t.includes("int") || t.includes("serial")) return "integer";
  if (/numeric|decimal|real|double|float|money/.test(t)) return "number";
  if (n.includes("email")) return "email";
  if (n.includes("phone") || n.includes("mobile") || /(^|_)tel/.test(n)) return "phone";
  if (/first_?name/.test(n)) return "first_name";
  if (/last_?name|surname/.test(n)) return "last_name";
  if (/zip|postal/.test(n)) return "postal_code";
  if (n.includes("address")) return "address";
  if (n.includes("date")) return "date";
  if (n.endsWith("name")) return "name";
  return "text";
}

/** A column that an insert must fill: NOT NULL, no default, not filled by the database. */
export function isRequiredColumn(c: TargetColumn): boolean {
  return !c.nullable && !c.hasDefault && !c.generated;
}

/** The JSON type a fixed value for this column is sent as. */
export function fixedKindFor(c: TargetColumn | undefined): FixedKind {
  const type = c ? fieldTypeFor(c) : "text";
  return type === "integer" || type === "number" ? "number" : type === "boolean" ? "boolean" : "text";
}

/** "Add fields from columns": a field for every column nothing fills yet (not mapped, no fixed
 * value, not filled by the database, no default of its own), typed from the column, required
 * when the column is NOT NULL, and mapped onto it. */
export function fieldsFromColumns(
  columns: TargetColumn[],
  fields: FieldRow[],
  mapping: MappingRow[],
  fixed: FixedRow[],
): { fields: FieldRow[]; mapping: MappingRow[]; added: number } {
  const taken = new Set(fields.map((f) => f.name.trim()));
  const filled = new Set([...mapping.map((m) => m.column.trim()), ...fixed.map((r) => r.column.trim())]);
  const newFields: FieldRow[] = [];
  const newMapping: MappingRow[] = [];
  for (const c of columns) {
    if (c.generated || c.hasDefault || filled.has(c.name)) continue;
    let name = fieldNameFor(c.name);
    for (let n = 2; taken.has(name) || BUILT_INS.includes(name); n++) name = `${fieldNameFor(c.name)}${n}`;
    taken.add(name);
    newFields.push({ key: rowKey(), name, type: fieldTypeFor(c), required: isRequiredColumn(c), values: "", description: "" });
    newMapping.push({ key: rowKey(), field: name, column: c.name });
  }
  return { fields: [...fields, ...newFields], mapping: [...mapping, ...newMapping], added: newFields.length };
}

/** A field renamed in the schema keeps its columns: the mapping follows the new name (rows are
 * matched by their key, so a reorder is not a rename). */
export function followRenames(before: FieldRow[], after: FieldRow[], mapping: MappingRow[]): MappingRow[] {
  const renamed = new Map<string, string>();
  for (const a of after) {
    const b = before.find((r) => r.key === a.key);
    if (b && b.name.trim() && b.name.trim() !== a.name.trim()) renamed.set(b.name.trim(), a.name.trim());
  }
  if (!renamed.size) return mapping;
  return mapping.map((m) => (renamed.has(m.field.trim()) ? { ...m, field: renamed.get(m.field.trim())! } : m));
}

/** The path a column's problem is shown at (its input in the mapping editor). */
export function columnPath(column: string): string {
  return `database.columns.${column}`;
}

/** Required columns that nothing fills: every insert would fail, so the form does not save. */
export function unfilledRequiredColumns(columns: TargetColumn[], mapping: MappingRow[], fixed: FixedRow[]): { field: string; message: string }[] {
  const filled = new Set([...mapping.filter((m) => m.field.trim()).map((m) => m.column.trim()), ...fixed.map((r) => r.column.trim())]);
  return columns
    .filter((c) => isRequiredColumn(c) && !filled.has(c.name))
    .map((c) => ({
      field: columnPath(c.name),
      message: `column '${c.name}' is NOT NULL without a default: map a field to it or give it a fixed value, or every insert fails`,
    }));
}

// --- errors ---

/** The form's paths of an error's fields: the columns request nests the config under
 * `config.`, and a request body's own problems are under `body`. */
function formPath(field: string): string {
  return field.replace(/^config\./, "");
}

/** Each field's problem (the first for a field), by the path the form's inputs use. */
export function errorsByField(e: ConsoleError | FormProblem | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!e) return out;
  if (e instanceof FormProblem) {
    for (const p of e.problems) out[p.field] ??= p.message;
    return out;
  }
  for (const d of e.details) {
    const p = formPath(d.field);
    out[p] ??= d.reason;
  }
  if (e.field) out[formPath(e.field)] ??= e.message;
  // A taken name is a conflict, not a field error, but it belongs at the name.
  if (e.kind === "conflict" && e.message.startsWith("name: ")) out.name ??= e.message.slice(6);
  return out;
}

// --- list helpers ---

export type Dot = ShownStatus;

/** An integration's status dot from the last health check: unknown when its target was never
 * checked, unless its recent deliveries alone already show a problem (an integration never
 * probed and never used is not known to be healthy: the demo's offline API is one). */
export function healthDot(last: LastHealth | undefined, id: string): Dot {
  const snap = last?.integrations.find((s) => s.id === id);
  return snap ? shownStatus(snap) : "unknown";
}

/** One line saying where an integration delivers. */
export function targetSummary(c: IntegrationConfig): string {
  if (c.api) {
    let where = c.api.endpoint;
    try {
      const u = new URL(c.api.endpoint.replace(/\{\{[^}]*\}\}/g, "x"));
      where = `${u.host}${u.pathname}`;
    } catch {
      // Not a URL yet (the backend says why on save): shown as written.
    }
    return `${c.api.method} ${where}`;
  }
  if (c.database) {
    const d = c.database;
    if (d.type === "sqlite") return `sqlite ${d.database} · ${d.table}`;
    const host = d.hostname ?? "localhost";
    return `${d.type} ${host}${d.port ? `:${d.port}` : ""}/${d.database} · ${d.table}`;
  }
  return "";
}

/** What the JSON tab shows in place of a secret typed in the form and not yet saved: the text
 * stays out of view (and out of a screenshot), and comes back when the JSON is used. */
export const TYPED_SECRET = "•••••••• (typed, not saved yet)";

type Typed = Record<string, string>;
const CREDENTIALS = ["token", "password", "key"] as const;

/** The config for the JSON tab, with typed secrets replaced by [`TYPED_SECRET`]; `typed` keeps
 * them by path. */
export function hideTypedSecrets(config: IntegrationConfig): { config: IntegrationConfig; typed: Typed } {
  const copy = structuredClone(config);
  const typed: Typed = {};
  const creds = copy.api?.authentication?.credentials as Record<string, string> | undefined;
  for (const k of CREDENTIALS) {
    const v = creds?.[k];
    if (creds && v !== undefined && v !== SECRET_MASK && v !== "") {
      typed[`api.authentication.credentials.${k}`] = v;
      creds[k] = TYPED_SECRET;
    }
  }
  const db = copy.database;
  if (db?.password !== undefined && db.password !== null && db.password !== SECRET_MASK && db.password !== "") {
    typed["database.password"] = db.password;
    db.password = TYPED_SECRET;
  }
  return { config: copy, typed };
}

/** The JSON tab's config with each [`TYPED_SECRET`] put back to what was typed. */
export function restoreTypedSecrets(config: IntegrationConfig, typed: Typed): IntegrationConfig {
  const copy = structuredClone(config);
  const creds = copy.api?.authentication?.credentials as Record<string, string> | undefined;
  for (const k of CREDENTIALS) {
    const path = `api.authentication.credentials.${k}`;
    if (creds?.[k] === TYPED_SECRET && typed[path] !== undefined) creds[k] = typed[path];
  }
  if (copy.database?.password === TYPED_SECRET && typed["database.password"] !== undefined) {
    copy.database.password = typed["database.password"];
  }
  return copy;
}

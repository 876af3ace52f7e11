/** The mapping editor's state and what it sends: one row per field mapping (where its value
 * comes from, its transforms), the event, the session, and a preset or a saved mapping read
 * into it. No React here (tested on its own). */
import { ConsoleError } from "../../api/errors";
import type { EventMatch } from "../../api/types/EventMatch";
import type { FieldMapping } from "../../api/types/FieldMapping";
import type { FieldSpec } from "../../api/types/FieldSpec";
import type { Mapping } from "../../api/types/Mapping";
import type { MappingRequest } from "../../api/types/MappingRequest";
import type { NamePart } from "../../api/types/NamePart";
import type { PresetMapping } from "../../api/types/PresetMapping";
import type { SyncFrequency } from "../../api/types/SyncFrequency";
import type { Transform } from "../../api/types/Transform";
import type { ValueSource } from "../../api/types/ValueSource";

let nextKey = 0;
/** A row's React key (rows are added, removed and reordered). */
export function rowKey(): string {
  nextKey += 1;
  return `r${nextKey}`;
}

export type TransformType = Transform["type"];

export const TRANSFORMS: { type: TransformType; label: string }[] = [
  { type: "trim", label: "Trim spaces" },
  { type: "lowercase", label: "Lowercase" },
  { type: "uppercase", label: "Uppercase" },
  { type: "splitName", label: "Part of a full name" },
  { type: "date", label: "Date format" },
  { type: "phone", label: "Phone number" },
];

export interface TransformRow {
  key: string;
  type: TransformType;
  part: NamePart;
  from: string;
  to: string;
  country: string;
}

export type ValueKind = "pointer" | "constant" | "join";

export interface ValueState {
  kind: ValueKind;
  pointer: string;
  constant: string;
  joinPointers: string[];
  separator: string;
}

export interface FieldRow extends ValueState {
  key: string;
  /** The integration's field. */
  field: string;
  transforms: TransformRow[];
}

export type EventKind = "any" | "pointer" | "header";
export type SessionKind = "message" | ValueKind;

export interface MappingForm {
  name: string;
  /** The integration's id. */
  integration: string;
  eventKind: EventKind;
  eventPointer: string;
  eventHeader: string;
  equals: string;
  fields: FieldRow[];
  sessionKind: SessionKind;
  session: ValueState;
  sync: SyncFrequency;
  enabled: boolean;
}

export function emptyValue(): ValueState {
  return { kind: "pointer", pointer: "", constant: "", joinPointers: ["", ""], separator: " " };
}

export function newTransform(type: TransformType): TransformRow {
  return { key: rowKey(), type, part: "first", from: type === "date" ? "%m/%d/%Y" : "", to: "", country: "" };
}

export function newFieldRow(field = ""): FieldRow {
  return { key: rowKey(), field, ...emptyValue(), transforms: [] };
}

export function emptyMappingForm(integration = ""): MappingForm {
  return {
    name: "",
    integration,
    eventKind: "any",
    eventPointer: "",
    eventHeader: "",
    equals: "",
    fields: [newFieldRow()],
    sessionKind: "message",
    session: emptyValue(),
    sync: "realtime",
    enabled: true,
  };
}

function constantText(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

function valueToState(v: ValueSource): ValueState {
  const base = emptyValue();
  if ("pointer" in v) return { ...base, kind: "pointer", pointer: v.pointer };
  if ("constant" in v) return { ...base, kind: "constant", constant: constantText(v.constant) };
  // A preset leaves the separator out (the console's default is one space).
  return { ...base, kind: "join", joinPointers: [...v.join.pointers], separator: v.join.separator ?? " " };
}

function transformToRow(t: Transform): TransformRow {
  const row = newTransform(t.type);
  switch (t.type) {
    case "splitName":
      return { ...row, part: t.part };
    case "date":
      return { ...row, from: t.from, to: t.to ?? "" };
    case "phone":
      return { ...row, country: t.defaultCountryCode ?? "" };
    default:
      return row;
  }
}

/** The settings a preset or a saved mapping has, as the editor's rows. */
function settingsToForm(
  m: Pick<PresetMapping, "name" | "event" | "fields" | "session"> & { sync: SyncFrequency | null; enabled?: boolean },
  integration: string,
): MappingForm {
  const e: EventMatch | null = m.event;
  const session = m.session;
  return {
    name: m.name,
    integration,
    eventKind: !e ? "any" : e.header !== undefined ? "header" : "pointer",
    eventPointer: e?.pointer ?? "",
    eventHeader: e?.header ?? "",
    equals: e?.equals ?? "",
    fields: m.fields.map((f) => ({ key: rowKey(), field: f.field, ...valueToState(f.value), transforms: (f.transforms ?? []).map(transformToRow) })),
    sessionKind: session ? valueToState(session).kind : "message",
    session: session ? valueToState(session) : emptyValue(),
    sync: m.sync ?? "realtime",
    enabled: m.enabled ?? true,
  };
}

export function mappingToForm(m: Mapping): MappingForm {
  return settingsToForm(m, m.integrationId);
}

export function presetToForm(p: PresetMapping, integration: string): MappingForm {
  return settingsToForm({ ...p, enabled: true }, integration);
}

/** A constant as typed, as the value its field takes: a number for a number field, true or
 * false for a boolean one, text otherwise (the console checks it against the field). */
export function constantValue(text: string, spec: FieldSpec | undefined): unknown {
  const t = text.trim();
  if (spec && (spec.type === "integer" || spec.type === "number") && t !== "" && Number.isFinite(Number(t))) return Number(t);
  if (spec?.type === "boolean" && (t === "true" || t === "false")) return t === "true";
  return text;
}

function valueOf(v: ValueState, spec?: FieldSpec): ValueSource {
  switch (v.kind) {
    case "pointer":
      return { pointer: v.pointer.trim() };
    case "constant":
      return { constant: constantValue(v.constant, spec) };
    case "join":
      return { join: { pointers: v.joinPointers.map((p) => p.trim()).filter((p) => p !== ""), separator: v.separator } };
  }
}

function transformOf(t: TransformRow): Transform {
  switch (t.type) {
    case "splitName":
      return { type: "splitName", part: t.part };
    case "date":
      return { type: "date", from: t.from, ...(t.to.trim() ? { to: t.to } : {}) };
    case "phone":
      return { type: "phone", ...(t.country.trim() ? { defaultCountryCode: t.country.trim() } : {}) };
    default:
      return { type: t.type };
  }
}

export function formToRequest(f: MappingForm, source: string, specs: FieldSpec[]): MappingRequest {
  const fields: FieldMapping[] = f.fields.map((r) => {
    const m: FieldMapping = { field: r.field, value: valueOf(r, specs.find((s) => s.name === r.field)) };
    if (r.transforms.length) m.transforms = r.transforms.map(transformOf);
    return m;
  });
  const req: MappingRequest = { source, name: f.name, integration: f.integration, fields, sync: f.sync, enabled: f.enabled };
  if (f.eventKind === "pointer") req.event = { pointer: f.eventPointer.trim(), equals: f.equals };
  if (f.eventKind === "header") req.event = { header: f.eventHeader.trim(), equals: f.equals };
  if (f.sessionKind !== "message") req.session = valueOf({ ...f.session, kind: f.sessionKind });
  return req;
}

/** Each place's problem (the first for a place) from a refused save or try, by the console's
 * path (`fields[2].value.pointer`). */
export function errorsByPath(e: ConsoleError | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!e) return out;
  for (const d of e.details) out[d.field] ??= d.reason;
  if (e.field) out[e.field] ??= e.message;
  return out;
}

/** The console's paths that field row `i`'s inputs show a problem for. */
export function rowPaths(row: FieldRow, i: number): Set<string> {
  const at = `fields[${i}]`;
  const paths = [`${at}.field`, `${at}.value`];
  if (row.kind === "pointer") paths.push(`${at}.value.pointer`);
  if (row.kind === "constant") paths.push(`${at}.value.constant`);
  if (row.kind === "join") {
    paths.push(`${at}.value.join.pointers`, `${at}.value.join.separator`);
    row.joinPointers.forEach((_, j) => paths.push(`${at}.value.join.pointers[${j}]`));
  }
  row.transforms.forEach((_, j) => {
    const t = `${at}.transforms[${j}]`;
    paths.push(t, `${t}.from`, `${t}.to`, `${t}.defaultCountryCode`);
  });
  return new Set(paths);
}

/** The problems of field row `i` that none of its inputs shows (`fields[2]`, its
 * `transforms` as a whole...). */
export function rowLeftovers(errors: Record<string, string>, row: FieldRow, i: number): [string, string][] {
  const prefix = `fields[${i}]`;
  const shown = rowPaths(row, i);
  return Object.entries(errors).filter(([path]) => (path === prefix || path.startsWith(`${prefix}.`)) && !shown.has(path));
}

/** A JSON sample typed in the editor (body, or headers as an object of text values). */
export function parseSample(body: string, headers: string): { body: unknown; headers: Record<string, string> } | { problem: string } {
  let parsedBody: unknown;
  try {
    parsedBody = JSON.parse(body);
  } catch (e) {
    return { problem: `The sample body is not JSON (${e instanceof Error ? e.message : String(e)}).` };
  }
  const out: Record<string, string> = {};
  if (headers.trim()) {
    let h: unknown;
    try {
      h = JSON.parse(headers);
    } catch {
      return { problem: 'The sample headers are not JSON: write them as {"X-Event": "booked"}.' };
    }
    if (!h || typeof h !== "object" || Array.isArray(h)) return { problem: 'The sample headers must be a JSON object: {"X-Event": "booked"}.' };
    for (const [k, v] of Object.entries(h)) {
      if (typeof v !== "string") return { problem: `The sample header ${k} must be text.` };
      out[k] = v;
    }
  }
  return { body: parsedBody, headers: out };
}

/** A mapping's event in one line. */
export function eventSummary(e: EventMatch | null): string {
  if (!e) return "any message no other mapping takes";
  const where = e.header !== undefined ? `header ${e.header}` : `${e.pointer}`;
  return `${where} = ${e.equals}`;
}

/** A preset's description without its pointers to the command line (the editor's preview is
 * where a real event is tried here). */
export function presetDescription(text: string): string {
  return text.replace(/with `mapping try`/g, "in the sample preview");
}

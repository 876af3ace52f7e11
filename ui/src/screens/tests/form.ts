/** Custom test data as a per-field form and as JSON: the form holds each field's text (what an
 * input shows), the JSON the values a test sends. Converting keeps what the form cannot show
 * (keys that are not fields) so that switching between the two loses nothing; values that do
 * not parse stay text, so the schema check can say what is wrong with them. */
import type { FieldSpec } from "../../api/types/FieldSpec";
import type { FieldType } from "../../api/types/FieldType";

export type TestData = Record<string, unknown>;
/** Field name -> the text in its input ("" = left out). */
export type FormValues = Record<string, string>;

/** The input each field type gets. */
export function inputKind(type: FieldType): "text" | "email" | "tel" | "date" | "time" | "number" | "boolean" | "enum" | "textarea" {
  switch (type) {
    case "email":
      return "email";
    case "phone":
      return "tel";
    case "date":
      return "date";
    case "time":
      return "time";
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "enum":
      return "enum";
    case "address":
    case "text":
      return "textarea";
    default:
      return "text";
  }
}

function toText(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/** The form's texts for `data`. */
export function dataToForm(fields: readonly FieldSpec[], data: TestData): FormValues {
  const form: FormValues = {};
  for (const f of fields) form[f.name] = toText(data[f.name]);
  return form;
}

function fromText(type: FieldType, text: string): unknown {
  switch (type) {
    case "integer":
      return /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : text;
    case "number": {
      const n = Number(text.trim());
      return text.trim() !== "" && Number.isFinite(n) ? n : text;
    }
    case "boolean":
      if (text === "true") return true;
      if (text === "false") return false;
      return text;
    default:
      return text;
  }
}

/** The data the form says: empty inputs left out, numbers and booleans typed. Keys of `base`
 * that are not fields are kept (the JSON editor may have added them). */
export function formToData(fields: readonly FieldSpec[], form: FormValues, base: TestData = {}): TestData {
  const names = new Set(fields.map((f) => f.name));
  const data: TestData = {};
  for (const [k, v] of Object.entries(base)) if (!names.has(k)) data[k] = v;
  for (const f of fields) {
    const text = form[f.name] ?? "";
    if (text === "") continue;
    data[f.name] = fromText(f.type, text);
  }
  return data;
}

export type Parsed = { ok: true; data: TestData } | { ok: false; error: string };

/** The JSON editor's text as test data: an object, or why not. */
export function parseJsonData(text: string): Parsed {
  if (!text.trim()) return { ok: true, data: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `not JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { ok: false, error: "must be a JSON object of field values, like {\"fullName\": \"Ann Lee\"}" };
  }
  return { ok: true, data: value as TestData };
}

export function dataToJson(data: TestData): string {
  return JSON.stringify(data, null, 2);
}

/** Problems by field from an error's details (`data.email` and `email` both name `email`). */
export function problemsByField(details: readonly { field: string; reason: string }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of details) {
    const field = d.field.startsWith("data.") ? d.field.slice(5) : d.field;
    out[field] = out[field] ? `${out[field]}; ${d.reason}` : d.reason;
  }
  return out;
}

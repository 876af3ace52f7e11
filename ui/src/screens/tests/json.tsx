import type { JsonValue } from "../../api/types/serde_json/JsonValue";

/** JSON shown as text, pretty-printed. */
export function Json({ value, label }: { value: unknown; label?: string }) {
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return (
    <pre className="tp-json" aria-label={label} tabIndex={0}>
      {text}
    </pre>
  );
}

export function asObject(v: JsonValue | null | undefined): Record<string, JsonValue> | null {
  return v !== null && v !== undefined && typeof v === "object" && !Array.isArray(v)
    ? (v as Record<string, JsonValue>)
    : null;
}

export function text(v: JsonValue | undefined): string {
  if (v === undefined || v === null) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** A name -> value table (headers). */
export function KeyValues({ entries, caption }: { entries: Record<string, JsonValue>; caption: string }) {
  const rows = Object.entries(entries);
  if (rows.length === 0) return <p className="muted">No {caption.toLowerCase()}.</p>;
  return (
    <table className="tp-table">
      <caption className="visually-hidden">{caption}</caption>
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td className="mono tp-wrap">{text(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

import type { FieldSpec } from "../../api/types/FieldSpec";
import { type FormValues, inputKind } from "./form";

/** The per-field form of custom test data: one input per field of the schema, each with its
 * type, whether it is required, its description and the problem the check found in it. */
export function FieldForm({
  fields,
  values,
  problems,
  onChange,
  disabled,
}: {
  fields: readonly FieldSpec[];
  values: FormValues;
  problems: Record<string, string>;
  onChange: (name: string, text: string) => void;
  disabled: boolean;
}) {
  if (fields.length === 0) {
    return <p className="muted">This integration declares no fields: use the JSON editor.</p>;
  }
  return (
    <div className="tp-form">
      {fields.map((f) => {
        const id = `tp-field-${f.name}`;
        const problem = problems[f.name];
        const hint = f.description ?? null;
        const describedBy = [problem ? `${id}-err` : null, hint ? `${id}-hint` : null].filter(Boolean).join(" ");
        const value = values[f.name] ?? "";
        const common = {
          id,
          disabled,
          "aria-invalid": problem ? true : undefined,
          "aria-describedby": describedBy || undefined,
          "aria-required": f.required || undefined,
        };
        const kind = inputKind(f.type);
        let input;
        if (kind === "enum" || kind === "boolean") {
          const options = kind === "enum" ? (f.values ?? []) : ["true", "false"];
          // A value typed in the JSON editor that is not an option stays visible (and is reported).
          const all = value && !options.includes(value) ? [...options, value] : options;
          input = (
            <select {...common} value={value} onChange={(e) => onChange(f.name, e.target.value)}>
              <option value="">{f.required ? "— choose —" : "— leave out —"}</option>
              {all.map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>
          );
        } else if (kind === "textarea") {
          input = <textarea {...common} rows={2} value={value} onChange={(e) => onChange(f.name, e.target.value)} />;
        } else {
          const type = kind === "number" ? "text" : kind;
          input = (
            <input
              {...common}
              type={type}
              step={kind === "time" ? 1 : undefined}
              inputMode={kind === "number" ? (f.type === "integer" ? "numeric" : "decimal") : undefined}
              value={value}
              onChange={(e) => onChange(f.name, e.target.value)}
            />
          );
        }
        return (
          <div className="field" key={f.name}>
            <label htmlFor={id}>
              {f.name} <span className="muted tp-type">{f.type}</span>
              {f.required && (
                <span className="tp-required" aria-hidden="true">
                  {" "}
                  *
                </span>
              )}
            </label>
            {input}
            {hint && (
              <p className="field-hint" id={`${id}-hint`}>
                {hint}
              </p>
            )}
            {problem && (
              <p className="field-error" id={`${id}-err`}>
                {problem}
              </p>
            )}
          </div>
        );
      })}
    </div>
  );
}

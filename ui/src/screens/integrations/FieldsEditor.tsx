/** The field schema: what a voice session collects (name, type, required, enum values), in
 * order. Rows move with buttons (keyboard usable), not by dragging. */
import { FIELD_TYPES, addField, move, removeAt, updateAt, type FieldRow } from "./form";
import { inputId } from "./Inputs";

export function FieldsEditor({
  rows,
  onChange,
  errors,
}: {
  rows: FieldRow[];
  onChange: (rows: FieldRow[]) => void;
  errors: Record<string, string>;
}) {
  const focusLater = (id: string) => requestAnimationFrame(() => document.getElementById(id)?.focus());
  return (
    <fieldset className="editor-section">
      <legend>Fields collected</legend>
      {errors.fields && <p className="field-error">{errors.fields}</p>}
      {rows.length === 0 ? (
        <p className="muted">
          No fields declared: they are inferred as optional text from the placeholders or the mapping.
        </p>
      ) : (
        <table className="fields-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Required</th>
              <th scope="col">Enum values</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => {
              const at = `fields[${i}]`;
              const problems = [errors[`${at}.name`], errors[`${at}.values`], errors[at]].filter(Boolean);
              return (
                <tr key={r.key}>
                  <td>
                    <input
                      id={inputId(`${at}.name`)}
                      aria-label={`Field ${i + 1} name`}
                      aria-invalid={errors[`${at}.name`] ? true : undefined}
                      value={r.name}
                      maxLength={64}
                      onChange={(e) => onChange(updateAt(rows, i, { name: e.target.value }))}
                    />
                    {problems.map((p) => (
                      <p key={p} className="field-error">
                        {p}
                      </p>
                    ))}
                  </td>
                  <td>
                    <select
                      id={inputId(`${at}.type`)}
                      aria-label={`Field ${i + 1} type`}
                      value={r.type}
                      onChange={(e) => onChange(updateAt(rows, i, { type: e.target.value as FieldRow["type"] }))}
                    >
                      {FIELD_TYPES.map((t) => (
                        <option key={t} value={t}>
                          {t}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Field ${i + 1} required`}
                      checked={r.required}
                      onChange={(e) => onChange(updateAt(rows, i, { required: e.target.checked }))}
                    />
                  </td>
                  <td>
                    {r.type === "enum" ? (
                      <input
                        id={inputId(`${at}.values`)}
                        aria-label={`Field ${i + 1} values, comma-separated`}
                        aria-invalid={errors[`${at}.values`] ? true : undefined}
                        placeholder="new, returning"
                        value={r.values}
                        onChange={(e) => onChange(updateAt(rows, i, { values: e.target.value }))}
                      />
                    ) : (
                      <span className="muted">—</span>
                    )}
                  </td>
                  <td>
                    <div className="row-actions">
                      <button
                        type="button"
                        className="icon"
                        aria-label={`Move field ${i + 1} up`}
                        disabled={i === 0}
                        onClick={() => {
                          onChange(move(rows, i, -1));
                          focusLater(inputId(`fields[${i - 1}].name`));
                        }}
                      >
                        ↑
                      </button>
                      <button
                        type="button"
                        className="icon"
                        aria-label={`Move field ${i + 1} down`}
                        disabled={i === rows.length - 1}
                        onClick={() => {
                          onChange(move(rows, i, 1));
                          focusLater(inputId(`fields[${i + 1}].name`));
                        }}
                      >
                        ↓
                      </button>
                      <button
                        type="button"
                        className="icon danger"
                        aria-label={`Remove field ${i + 1}${r.name ? ` (${r.name})` : ""}`}
                        onClick={() => onChange(removeAt(rows, i))}
                      >
                        ✕
                      </button>
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <button
        type="button"
        onClick={() => {
          onChange(addField(rows));
          focusLater(inputId(`fields[${rows.length}].name`));
        }}
      >
        Add field
      </button>
    </fieldset>
  );
}

/** The database mapping: which collected field (or built-in) fills each column. "Load columns"
 * reads the target table's real columns (type, nullability, default) with the config as it is
 * in the form, so each column can be picked from the table instead of typed. */
import { useState } from "react";
import { ConsoleError } from "../../api/errors";
import type { TargetColumns } from "../../api/types/TargetColumns";
import { BUILT_INS, mapColumn, removeAt, rowKey, updateAt, type MappingRow } from "./form";
import { inputId } from "./Inputs";

type Load = { state: "idle" } | { state: "loading" } | { state: "ready"; data: TargetColumns } | { state: "error"; error: ConsoleError };

export function MappingEditor({
  rows,
  onChange,
  fieldNames,
  errors,
  loadColumns,
}: {
  rows: MappingRow[];
  onChange: (rows: MappingRow[]) => void;
  fieldNames: string[];
  errors: Record<string, string>;
  loadColumns: () => Promise<TargetColumns>;
}) {
  const [load, setLoad] = useState<Load>({ state: "idle" });
  const sources = [...fieldNames.filter(Boolean), ...BUILT_INS];
  const columns = load.state === "ready" ? load.data.columns : [];
  const known = new Set(columns.map((c) => c.name));
  // Mapped columns the table does not have (only known once loaded) stay editable as text.
  const others = rows.map((r, i) => ({ r, i })).filter(({ r }) => load.state !== "ready" || !known.has(r.column));

  const fetchColumns = () => {
    setLoad({ state: "loading" });
    loadColumns().then(
      (data) => setLoad({ state: "ready", data }),
      (e) => setLoad({ state: "error", error: ConsoleError.from(e) }),
    );
  };

  const sourceSelect = (value: string, label: string, id: string | undefined, set: (v: string) => void) => (
    <select id={id} aria-label={label} value={value} onChange={(e) => set(e.target.value)}>
      <option value="">— not filled —</option>
      {value && !sources.includes(value) && <option value={value}>{value} (not declared)</option>}
      <optgroup label="Collected fields">
        {fieldNames.filter(Boolean).map((f) => (
          <option key={f} value={f}>
            {f}
          </option>
        ))}
      </optgroup>
      <optgroup label="Built-ins">
        {BUILT_INS.map((b) => (
          <option key={b} value={b}>
            {b}
          </option>
        ))}
      </optgroup>
    </select>
  );

  return (
    <fieldset className="editor-section">
      <legend>Field mapping</legend>
      {errors["database.fieldMapping"] && <p className="field-error">{errors["database.fieldMapping"]}</p>}
      <div className="row">
        <button type="button" onClick={fetchColumns} disabled={load.state === "loading"}>
          {load.state === "ready" ? "Reload columns" : "Load columns from the table"}
        </button>
        <span className="muted" aria-live="polite">
          {load.state === "loading" && "Connecting…"}
          {load.state === "ready" && `${load.data.table}: ${load.data.columns.length} columns`}
        </span>
      </div>
      {load.state === "error" && (
        <p className="field-error" role="alert">
          {load.error.field && <code>{load.error.field.replace(/^config\./, "")}</code>} {load.error.message}
        </p>
      )}
      {load.state === "ready" && (
        <table className="mapping-table">
          <thead>
            <tr>
              <th scope="col">Column</th>
              <th scope="col">Type</th>
              <th scope="col">Filled from</th>
            </tr>
          </thead>
          <tbody>
            {columns.map((c) => {
              const row = rows.find((r) => r.column === c.name);
              const needed = !c.nullable && !c.hasDefault && !c.generated;
              const label = `Field filling column ${c.name}`;
              return (
                <tr key={c.name}>
                  <th scope="row">
                    {c.name}{" "}
                    {needed && (
                      <span className={`badge ${row ? "ok" : "warning"}`} title="NOT NULL without a default">
                        required
                      </span>
                    )}
                    {c.generated && <span className="badge demo">auto</span>}
                  </th>
                  <td className="mono">
                    {c.typeName}
                    {c.nullable ? "" : " not null"}
                  </td>
                  <td>
                    {sourceSelect(row?.field ?? "", label, row ? inputId(`database.fieldMapping.${row.field}`) : undefined, (v) =>
                      onChange(mapColumn(rows, c.name, v)),
                    )}
                    {row && errors[`database.fieldMapping.${row.field}`] && (
                      <p className="field-error">{errors[`database.fieldMapping.${row.field}`]}</p>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {(load.state !== "ready" || others.length > 0) && (
        <div className="mapping-rows">
          {load.state === "ready" && <h3>Mapped columns not in the table</h3>}
          {others.length === 0 && <p className="muted">Nothing mapped yet.</p>}
          {others.map(({ r, i }) => {
            const path = `database.fieldMapping.${r.field}`;
            return (
              <div className="row mapping-row" key={r.key}>
                <input
                  aria-label={`Column ${i + 1}`}
                  aria-invalid={errors[path] ? true : undefined}
                  placeholder="column"
                  value={r.column}
                  maxLength={64}
                  onChange={(e) => onChange(updateAt(rows, i, { column: e.target.value }))}
                />
                <span aria-hidden="true">←</span>
                {sourceSelect(r.field, `Field filling column ${i + 1}`, inputId(path), (v) => onChange(updateAt(rows, i, { field: v })))}
                <button type="button" className="icon danger" aria-label={`Remove mapping ${i + 1}`} onClick={() => onChange(removeAt(rows, i))}>
                  ✕
                </button>
                {errors[path] && <p className="field-error">{errors[path]}</p>}
              </div>
            );
          })}
          <button type="button" onClick={() => onChange([...rows, { key: rowKey(), field: "", column: "" }])}>
            Add mapping
          </button>
        </div>
      )}
    </fieldset>
  );
}

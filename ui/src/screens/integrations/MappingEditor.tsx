/** The database mapping: which collected field (or built-in) fills each column, or a fixed
 * value every insert writes (a clinic code). "Load columns" reads the target table's real
 * columns (type, nullability, default) with the config as it is in the form, so each column is
 * picked from the table instead of typed, "Add fields from columns" starts the field schema from
 * them, and a NOT NULL column that nothing fills is shown (saving is refused until it is). */
import { useState } from "react";
import { ConsoleError } from "../../api/errors";
import type { TargetColumn } from "../../api/types/TargetColumn";
import type { TargetColumns } from "../../api/types/TargetColumns";
import {
  BUILT_INS,
  columnPath,
  fixedKindFor,
  isRequiredColumn,
  mapColumn,
  removeAt,
  rowKey,
  updateAt,
  type FixedRow,
  type MappingRow,
} from "./form";
import { inputId } from "./Inputs";

type Load = { state: "idle" } | { state: "loading" } | { state: "ready"; data: TargetColumns } | { state: "error"; error: ConsoleError };

/** The select's value for "a fixed value" (not a field name: those are identifiers). */
const FIXED = "=fixed";

export function MappingEditor({
  rows,
  onChange,
  fixed,
  onFixed,
  fieldNames,
  errors,
  loadColumns,
  onColumns,
  onAddFields,
}: {
  rows: MappingRow[];
  onChange: (rows: MappingRow[]) => void;
  fixed: FixedRow[];
  onFixed: (rows: FixedRow[]) => void;
  fieldNames: string[];
  errors: Record<string, string>;
  loadColumns: () => Promise<TargetColumns>;
  /** The live columns once loaded (the editor checks required columns on save). */
  onColumns: (columns: TargetColumn[] | null) => void;
  /** Adds a field for every column nothing fills yet, mapped onto it. */
  onAddFields: (columns: TargetColumn[]) => number;
}) {
  const [load, setLoad] = useState<Load>({ state: "idle" });
  const [added, setAdded] = useState<number | null>(null);
  const sources = [...fieldNames.filter(Boolean), ...BUILT_INS];
  const columns = load.state === "ready" ? load.data.columns : [];
  const known = new Set(columns.map((c) => c.name));
  // Mapped columns the table does not have (only known once loaded) stay editable as text.
  const others = rows.map((r, i) => ({ r, i })).filter(({ r }) => load.state !== "ready" || !known.has(r.column));
  const otherFixed = fixed.map((r, i) => ({ r, i })).filter(({ r }) => load.state !== "ready" || !known.has(r.column));

  const fetchColumns = () => {
    setLoad({ state: "loading" });
    setAdded(null);
    loadColumns().then(
      (data) => {
        setLoad({ state: "ready", data });
        onColumns(data.columns);
      },
      (e) => {
        setLoad({ state: "error", error: ConsoleError.from(e) });
        onColumns(null);
      },
    );
  };

  /** A column is filled from a field, a built-in or a fixed value (one of them). */
  const fillColumn = (c: TargetColumn, source: string) => {
    const withoutFixed = fixed.filter((r) => r.column !== c.name);
    if (source === FIXED) {
      onChange(mapColumn(rows, c.name, ""));
      onFixed([...withoutFixed, { key: rowKey(), column: c.name, value: "", kind: fixedKindFor(c) }]);
      return;
    }
    if (withoutFixed.length !== fixed.length) onFixed(withoutFixed);
    onChange(mapColumn(rows, c.name, source));
  };

  const sourceSelect = (value: string, label: string, id: string | undefined, set: (v: string) => void, invalid?: boolean, withFixed = false) => (
    <select id={id} aria-label={label} aria-invalid={invalid ? true : undefined} value={value} onChange={(e) => set(e.target.value)}>
      <option value="">— not filled —</option>
      {value && value !== FIXED && !sources.includes(value) && <option value={value}>{value} (not declared)</option>}
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
      {withFixed && <option value={FIXED}>A fixed value…</option>}
    </select>
  );

  return (
    <fieldset className="editor-section">
      <legend>Field mapping</legend>
      {errors["database.fieldMapping"] && <p className="field-error">{errors["database.fieldMapping"]}</p>}
      {errors["database.fixedValues"] && <p className="field-error">{errors["database.fixedValues"]}</p>}
      <div className="row">
        <button type="button" onClick={fetchColumns} disabled={load.state === "loading"}>
          {load.state === "ready" ? "Reload columns" : "Load columns from the table"}
        </button>
        {load.state === "ready" && (
          <button type="button" onClick={() => setAdded(onAddFields(columns))}>
            Add fields from columns
          </button>
        )}
        <span className="muted" aria-live="polite">
          {load.state === "loading" && "Connecting…"}
          {load.state === "ready" && `${load.data.table}: ${load.data.columns.length} columns`}
          {added !== null && ` · ${added ? `${added} field${added === 1 ? "" : "s"} added and mapped (review their types above)` : "every column is filled already"}`}
        </span>
      </div>
      {load.state === "idle" && (
        <p className="field-hint">Load the columns to map them from the table itself, start the fields from them, and see which columns an insert must fill.</p>
      )}
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
              const fix = fixed.find((r) => r.column === c.name);
              const needed = isRequiredColumn(c);
              const label = `Field filling column ${c.name}`;
              const mappedPath = row ? `database.fieldMapping.${row.field}` : null;
              const fixedPath = `database.fixedValues.${c.name}`;
              const colProblem = errors[columnPath(c.name)];
              const selectId = row ? inputId(mappedPath!) : fix ? undefined : inputId(columnPath(c.name));
              return (
                <tr key={c.name}>
                  <th scope="row">
                    {c.name}{" "}
                    {needed && (
                      <span className={`badge ${row || fix ? "ok" : "warning"}`} title="NOT NULL without a default: every insert must fill it">
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
                    {sourceSelect(fix ? FIXED : (row?.field ?? ""), label, selectId, (v) => fillColumn(c, v), !!colProblem, true)}
                    {fix && (
                      <input
                        id={inputId(fixedPath)}
                        className="fixed-value"
                        aria-label={`Fixed value for column ${c.name}`}
                        aria-invalid={errors[fixedPath] ? true : undefined}
                        placeholder={fix.kind === "number" ? "a number" : fix.kind === "boolean" ? "true or false" : "the value, e.g. a clinic code"}
                        value={fix.value}
                        maxLength={1000}
                        onChange={(e) => onFixed(fixed.map((r) => (r.key === fix.key ? { ...r, value: e.target.value } : r)))}
                      />
                    )}
                    {mappedPath && errors[mappedPath] && <p className="field-error">{errors[mappedPath]}</p>}
                    {errors[fixedPath] && <p className="field-error">{errors[fixedPath]}</p>}
                    {colProblem && <p className="field-error">{colProblem}</p>}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {(load.state !== "ready" || others.length > 0 || otherFixed.length > 0) && (
        <div className="mapping-rows">
          {load.state === "ready" && <h3>Mapped columns not in the table</h3>}
          {others.length === 0 && otherFixed.length === 0 && <p className="muted">Nothing mapped yet.</p>}
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
          {otherFixed.map(({ r, i }) => {
            const path = `database.fixedValues.${r.column.trim()}`;
            return (
              <div className="row mapping-row" key={r.key}>
                <input
                  aria-label={`Fixed column ${i + 1}`}
                  placeholder="column"
                  value={r.column}
                  maxLength={64}
                  onChange={(e) => onFixed(updateAt(fixed, i, { column: e.target.value }))}
                />
                <span aria-hidden="true">←</span>
                <span className="row">
                  <select
                    aria-label={`Type of fixed value ${i + 1}`}
                    value={r.kind}
                    onChange={(e) => onFixed(updateAt(fixed, i, { kind: e.target.value as FixedRow["kind"] }))}
                  >
                    <option value="text">text</option>
                    <option value="number">number</option>
                    <option value="boolean">true/false</option>
                  </select>
                  <input
                    id={inputId(path)}
                    aria-label={`Fixed value ${i + 1}`}
                    aria-invalid={errors[path] ? true : undefined}
                    placeholder="fixed value"
                    value={r.value}
                    maxLength={1000}
                    onChange={(e) => onFixed(updateAt(fixed, i, { value: e.target.value }))}
                  />
                </span>
                <button type="button" className="icon danger" aria-label={`Remove fixed value ${i + 1}`} onClick={() => onFixed(removeAt(fixed, i))}>
                  ✕
                </button>
                {errors[path] && <p className="field-error">{errors[path]}</p>}
              </div>
            );
          })}
          <div className="row">
            <button type="button" onClick={() => onChange([...rows, { key: rowKey(), field: "", column: "" }])}>
              Add mapping
            </button>
            <button type="button" onClick={() => onFixed([...fixed, { key: rowKey(), column: "", value: "", kind: "text" }])}>
              Add fixed value
            </button>
          </div>
        </div>
      )}
    </fieldset>
  );
}

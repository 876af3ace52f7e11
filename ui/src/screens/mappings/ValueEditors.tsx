/** The pieces of a field mapping: where a value comes from (a JSON pointer, a constant, or
 * several pointers joined) and the chain of transforms applied to it. Each input shows the
 * console's problem for its own path (`fields[2].value.pointer`). */
import type { NamePart } from "../../api/types/NamePart";
import { Labeled } from "../../components/Inputs";
import { TRANSFORMS, newTransform, type TransformRow, type TransformType, type ValueKind, type ValueState } from "./form";

const KIND_LABEL: Record<ValueKind, string> = { pointer: "JSON pointer", constant: "Constant", join: "Pointers joined" };

/** The inputs of a value (`path`: `fields[2].value` or `session`); `label`: "Field 3". */
export function ValueInputs({
  value,
  onChange,
  path,
  label,
  errors,
  kinds = ["pointer", "constant", "join"],
}: {
  value: ValueState;
  onChange: (v: ValueState) => void;
  path: string;
  label: string;
  errors: Record<string, string>;
  kinds?: ValueKind[];
}) {
  const set = (patch: Partial<ValueState>) => onChange({ ...value, ...patch });
  const kindPath = path;
  return (
    <div className="value-inputs">
      {kinds.length > 1 && (
        <Labeled label="Value from" path={kindPath} errors={errors} className="value-kind">
          {(p) => (
            <select {...p} aria-label={`${label}: value from`} value={value.kind} onChange={(e) => set({ kind: e.target.value as ValueKind })}>
              {kinds.map((k) => (
                <option key={k} value={k}>
                  {KIND_LABEL[k]}
                </option>
              ))}
            </select>
          )}
        </Labeled>
      )}
      {value.kind === "pointer" && (
        <PointerInput path={`${path}.pointer`} label={`${label}: JSON pointer`} visible="Pointer" value={value.pointer} onChange={(pointer) => set({ pointer })} errors={errors} />
      )}
      {value.kind === "constant" && (
        <Labeled label="Constant" path={`${path}.constant`} errors={errors} className="grow">
          {(p) => <input {...p} aria-label={`${label}: constant`} value={value.constant} maxLength={4096} onChange={(e) => set({ constant: e.target.value })} />}
        </Labeled>
      )}
      {value.kind === "join" && (
        <div className="join-inputs grow">
          {value.joinPointers.map((ptr, j) => (
            <div className="row join-row" key={j}>
              <PointerInput
                path={`${path}.join.pointers[${j}]`}
                label={`${label}: joined pointer ${j + 1}`}
                visible={`Pointer ${j + 1}`}
                value={ptr}
                onChange={(v) => set({ joinPointers: value.joinPointers.map((x, k) => (k === j ? v : x)) })}
                errors={errors}
              />
              {value.joinPointers.length > 1 && (
                <button
                  type="button"
                  className="icon"
                  aria-label={`${label}: remove joined pointer ${j + 1}`}
                  onClick={() => set({ joinPointers: value.joinPointers.filter((_, k) => k !== j) })}
                >
                  ✕
                </button>
              )}
            </div>
          ))}
          <div className="row">
            <button type="button" className="small" onClick={() => set({ joinPointers: [...value.joinPointers, ""] })}>
              Add a pointer
            </button>
            <Labeled
              label="Separator"
              path={`${path}.join.separator`}
              errors={errors}
              className="separator"
              hint={value.separator === " " ? "one space" : value.separator === "" ? "none" : undefined}
            >
              {(p) => (
                <input {...p} aria-label={`${label}: separator`} value={value.separator} maxLength={16} onChange={(e) => set({ separator: e.target.value })} />
              )}
            </Labeled>
          </div>
          {errors[`${path}.join.pointers`] && <p className="field-error">{errors[`${path}.join.pointers`]}</p>}
        </div>
      )}
    </div>
  );
}

function PointerInput({
  path,
  label,
  visible,
  value,
  onChange,
  errors,
}: {
  path: string;
  label: string;
  visible: string;
  value: string;
  onChange: (v: string) => void;
  errors: Record<string, string>;
}) {
  return (
    <Labeled label={visible} path={path} errors={errors} className="grow">
      {(p) => (
        <input {...p} aria-label={label} className="mono" value={value} spellCheck={false} maxLength={512} placeholder="/patient/firstName" onChange={(e) => onChange(e.target.value)} />
      )}
    </Labeled>
  );
}

/** The transforms of field row `i`, in order, each with its own settings. */
export function TransformChain({
  rows,
  onChange,
  path,
  label,
  errors,
}: {
  rows: TransformRow[];
  onChange: (rows: TransformRow[]) => void;
  path: string;
  label: string;
  errors: Record<string, string>;
}) {
  const update = (j: number, patch: Partial<TransformRow>) => onChange(rows.map((r, k) => (k === j ? { ...r, ...patch } : r)));
  return (
    <div className="transform-chain">
      <span className="label-like">Then</span>
      {rows.length === 0 && <span className="muted small">used as it is</span>}
      <ol className="transforms">
        {rows.map((t, j) => {
          const at = `${path}[${j}]`;
          const name = `${label}: transform ${j + 1}`;
          return (
            <li key={t.key} className="transform">
              <select aria-label={name} value={t.type} onChange={(e) => update(j, { ...newTransform(e.target.value as TransformType), key: t.key })}>
                {TRANSFORMS.map((x) => (
                  <option key={x.type} value={x.type}>
                    {x.label}
                  </option>
                ))}
              </select>
              {t.type === "splitName" && (
                <select aria-label={`${name}: part`} value={t.part} onChange={(e) => update(j, { part: e.target.value as NamePart })}>
                  <option value="first">first name</option>
                  <option value="last">last name</option>
                </select>
              )}
              {t.type === "date" && (
                <>
                  <span className="muted small" aria-hidden="true">
                    read as
                  </span>
                  <TransformInput path={`${at}.from`} label={`${name}: read as`} placeholder="%m/%d/%Y" value={t.from} onChange={(from) => update(j, { from })} errors={errors} />
                  <span className="muted small" aria-hidden="true">
                    write as
                  </span>
                  <TransformInput path={`${at}.to`} label={`${name}: write as`} placeholder="%Y-%m-%d" value={t.to} onChange={(to) => update(j, { to })} errors={errors} />
                </>
              )}
              {t.type === "phone" && (
                <>
                  <span className="muted small" aria-hidden="true">
                    default country +
                  </span>
                  <TransformInput
                    path={`${at}.defaultCountryCode`}
                    label={`${name}: default country code`}
                    placeholder="1"
                    value={t.country}
                    onChange={(country) => update(j, { country })}
                    errors={errors}
                    narrow
                  />
                </>
              )}
              <button type="button" className="icon" aria-label={`${name}: remove`} onClick={() => onChange(rows.filter((_, k) => k !== j))}>
                ✕
              </button>
              {errors[at] && <p className="field-error">{errors[at]}</p>}
            </li>
          );
        })}
      </ol>
      <select
        aria-label={`${label}: add a transform`}
        className="add-transform"
        value=""
        onChange={(e) => {
          if (e.target.value) onChange([...rows, newTransform(e.target.value as TransformType)]);
        }}
      >
        <option value="">+ transform…</option>
        {TRANSFORMS.map((x) => (
          <option key={x.type} value={x.type}>
            {x.label}
          </option>
        ))}
      </select>
    </div>
  );
}

function TransformInput({
  path,
  label,
  placeholder,
  value,
  onChange,
  errors,
  narrow = false,
}: {
  path: string;
  label: string;
  placeholder: string;
  value: string;
  onChange: (v: string) => void;
  errors: Record<string, string>;
  narrow?: boolean;
}) {
  const problem = errors[path];
  return (
    <span className="transform-input">
      <input
        aria-label={label}
        title={label}
        className={narrow ? "mono narrow" : "mono"}
        aria-invalid={problem ? true : undefined}
        placeholder={placeholder}
        value={value}
        spellCheck={false}
        maxLength={64}
        onChange={(e) => onChange(e.target.value)}
      />
      {problem && <span className="field-error">{problem}</span>}
    </span>
  );
}

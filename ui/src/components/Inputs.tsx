/** Labelled inputs that show the backend's problem for their path (a config's, a source's or a
 * mapping's), and the summary of every problem (each a link to its input). */
import type { ReactNode } from "react";

/** The DOM id of the input for a config path (`fields[2].name` -> `in-fields-2-name`). */
export function inputId(path: string): string {
  return `in-${path.replace(/[^A-Za-z0-9_-]+/g, "-")}`;
}

export interface InputProps {
  id: string;
  "aria-invalid": boolean | undefined;
  "aria-describedby": string | undefined;
}

/** A label, the input (rendered with the props that tie it to its label and problem), a hint
 * and the problem for `path`. */
export function Labeled({
  label,
  path,
  errors,
  hint,
  children,
  className,
}: {
  label: ReactNode;
  path: string;
  errors: Record<string, string>;
  hint?: ReactNode;
  children: (p: InputProps) => ReactNode;
  className?: string;
}) {
  const id = inputId(path);
  const problem = errors[path];
  const described = [hint ? `${id}-hint` : "", problem ? `${id}-err` : ""].filter(Boolean).join(" ");
  return (
    <div className={`field ${className ?? ""}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": problem ? true : undefined, "aria-describedby": described || undefined })}
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
}

/** Every problem, each naming its field and linking to its input when the form has one. */
export function ProblemSummary({ errors, message }: { errors: Record<string, string>; message?: string }) {
  // In the form's order, top to bottom (the inputs are on the page when problems come back);
  // problems without an input keep their order, last.
  const order = new Map<string, number>();
  if (typeof document !== "undefined") {
    document.querySelectorAll<HTMLElement>('[id^="in-"]').forEach((el, n) => order.set(el.id, n));
  }
  const at = (path: string) => order.get(inputId(path)) ?? Number.MAX_SAFE_INTEGER;
  const entries = Object.entries(errors).sort(([a], [b]) => at(a) - at(b));
  if (!entries.length && !message) return null;
  return (
    <div className="state state-error problem-summary" role="alert">
      <strong>{entries.length ? `Fix ${entries.length === 1 ? "this problem" : `these ${entries.length} problems`}` : "Not saved"}</strong>
      {message && !entries.length && <p>{message}</p>}
      {entries.length > 0 && (
        <ul>
          {entries.map(([path, reason]) => (
            <li key={path}>
              <a
                href={`#${inputId(path)}`}
                onClick={(e) => {
                  const el = document.getElementById(inputId(path));
                  if (el) {
                    e.preventDefault();
                    el.focus();
                  }
                }}
              >
                <code>{path}</code>
              </a>{" "}
              {reason}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

import type { AppError } from "./types/AppError";

/** An error from the console (any transport): its kind, the field it concerns, a message. */
export class ConsoleError extends Error {
  readonly kind: AppError["kind"] | "unauthorized" | "network";
  readonly field: string | null;
  readonly details: { field: string; reason: string }[];

  constructor(e: {
    kind: ConsoleError["kind"];
    message: string;
    field?: string | null;
    details?: { field: string; reason: string }[];
  }) {
    super(e.message);
    this.name = "ConsoleError";
    this.kind = e.kind;
    this.field = e.field ?? null;
    this.details = e.details ?? [];
  }

  /** The problem reported for one field (`api.endpoint`), if any. */
  forField(field: string): string | undefined {
    const d = this.details.find((p) => p.field === field || p.field.endsWith(`.${field}`));
    if (d) return d.reason;
    return this.field === field ? this.message : undefined;
  }

  static from(value: unknown): ConsoleError {
    if (value instanceof ConsoleError) return value;
    if (value && typeof value === "object" && "kind" in value && "message" in value) {
      const v = value as { kind: ConsoleError["kind"]; message: string; field?: string; details?: [] };
      return new ConsoleError(v);
    }
    const message = value instanceof Error ? value.message : String(value);
    return new ConsoleError({ kind: "internal", message });
  }
}

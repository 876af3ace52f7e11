import { describe, expect, it } from "vitest";
import { ConsoleError } from "../../api/errors";
import type { IntegrationConfig } from "../../api/types/IntegrationConfig";
import {
  SECRET_MASK,
  FormProblem,
  formToConfigChecked,
  fieldsFromColumns,
  followRenames,
  unfilledRequiredColumns,
  fieldTypeFor,
  addField,
  configToForm,
  emptyForm,
  errorsByField,
  formToConfig,
  healthDot,
  mapColumn,
  move,
  sslFor,
  targetSummary,
} from "./form";

const api: IntegrationConfig = {
  name: "EMR",
  kind: "api",
  description: "the clinic's EMR",
  fields: [
    { name: "fullName", type: "name", required: true },
    { name: "visit", type: "enum", required: false, values: ["new", "returning"] },
  ],
  api: {
    endpoint: "https://emr.example/patients",
    method: "PUT",
    headers: { "X-Version": "1", "X-Client-Secret": SECRET_MASK },
    authentication: { type: "basic", credentials: { username: "svc", password: SECRET_MASK } },
    payloadStructure: { name: "{{fullName}}" },
    timeoutMs: 3000,
    expect: { status: [200, 201], submissionIdPointer: "/data/id" },
    healthCheck: { method: "HEAD", path: "/health" },
  },
  retry: { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60000 },
};

const db: IntegrationConfig = {
  name: "Clinic DB",
  kind: "database",
  fields: [{ name: "fullName", type: "name", required: true }],
  database: {
    type: "postgresql",
    hostname: "db.local",
    port: 5433,
    database: "clinic",
    username: "writer",
    password: SECRET_MASK,
    table: "patients",
    fieldMapping: { fullName: "patient_name", timestamp: "created_at" },
    ssl: true,
  },
  retry: { maxAttempts: 5, baseDelayMs: 2000, maxDelayMs: 3600000 },
};

describe("config <-> form", () => {
  it("round-trips an API config, secrets staying masked", () => {
    const form = configToForm(api);
    // A stored secret is never shown: the input is empty and marked stored.
    expect(form.api.password).toEqual({ value: "", stored: true });
    expect(form.api.headers.find((h) => h.name === "X-Client-Secret")).toMatchObject({ value: "", stored: true });
    expect(formToConfig(form)).toEqual(api);
  });

  it("round-trips a database config (ssl true reads as verified TLS, by each database's names)", () => {
    const back = formToConfig(configToForm(db));
    expect(back.database).toEqual({ ...db.database, ssl: "verify-full" });
    expect(back.fields).toEqual(db.fields);
    const mysql = configToForm({ ...db, database: { ...db.database!, type: "mysql", ssl: false, sslRootCert: "/etc/ca.pem" } });
    expect(mysql.database.ssl).toBe("disabled");
    expect(formToConfig(mysql).database).toMatchObject({ ssl: "disabled", sslRootCert: "/etc/ca.pem" });
  });

  it("keeps a TLS mode's protection when the database type changes", () => {
    expect(sslFor("mysql", "verify-full")).toBe("verify_identity");
    expect(sslFor("postgresql", "required")).toBe("require");
    expect(sslFor("mysql", "")).toBe("");
  });

  it("sends a typed secret instead of the mask, and nothing when none is stored", () => {
    const form = configToForm(api);
    form.api.password = { value: "new-pass", stored: true };
    expect(formToConfig(form).api?.authentication?.credentials.password).toBe("new-pass");
    const fresh = emptyForm("api");
    fresh.api.endpoint = "https://x.example";
    fresh.api.auth = "bearer";
    expect(formToConfig(fresh).api?.authentication).toEqual({ type: "bearer", credentials: {} });
  });

  it("omits the server settings of a SQLite target", () => {
    const form = emptyForm("database");
    form.database = { ...form.database, type: "sqlite", hostname: "ignored", database: "/tmp/a.db", table: "t" };
    expect(formToConfig(form).database).toEqual({ type: "sqlite", database: "/tmp/a.db", table: "t", fieldMapping: {} });
  });

  it("reports input that cannot be sent by its path", () => {
    const form = configToForm(api);
    form.api.timeoutMs = "3s";
    expect(() => formToConfig(form)).toThrow(FormProblem);
    try {
      formToConfig(form);
    } catch (e) {
      expect((e as FormProblem).field).toBe("api.timeoutMs");
    }
    const bad = configToForm(api);
    bad.api.payload = "{not json";
    expect(() => formToConfig(bad)).toThrow(/not valid JSON/);
  });

  it("reports every problem of the form at once, in the form's order", () => {
    const form = configToForm(api);
    form.api.timeoutMs = "3s";
    form.api.payload = "{not json";
    form.api.expectStatus = "200, 2xx";
    form.retry.maxAttempts = "five";
    const { config, problems } = formToConfigChecked(form);
    expect(problems.map((p) => p.field)).toEqual(["retry.maxAttempts", "api.payloadStructure", "api.timeoutMs", "api.expect.status"]);
    // What could not be read is left out, so the console can still check everything else.
    expect(config.api?.timeoutMs).toBeUndefined();
    expect(config.api?.expect?.status).toEqual([200]);
    try {
      formToConfig(form);
      throw new Error("no problem reported");
    } catch (e) {
      expect((e as FormProblem).problems).toHaveLength(4);
      expect(errorsByField(e as FormProblem)).toMatchObject({ "api.timeoutMs": 'must be a whole number (got "3s")' });
    }
  });
});

describe("field schema editor", () => {
  it("moves a field up and down, clamped at the ends", () => {
    const rows = configToForm(api).fields;
    const names = (r: typeof rows) => r.map((f) => f.name);
    expect(names(move(rows, 1, -1))).toEqual(["visit", "fullName"]);
    expect(names(move(rows, 0, -1))).toEqual(["fullName", "visit"]);
    expect(move(rows, 1, 1)).toBe(rows);
    const three = addField(rows);
    three[2]!.name = "email";
    expect(names(move(three, 0, 2))).toEqual(["visit", "email", "fullName"]);
  });

  it("keeps each row's key when reordering (inputs keep focus and state)", () => {
    const rows = configToForm(api).fields;
    const moved = move(rows, 0, 1);
    expect(moved.map((r) => r.key)).toEqual([rows[1]!.key, rows[0]!.key]);
  });
});

describe("mapping editor", () => {
  it("sets, moves and clears which field fills a column", () => {
    let rows = configToForm(db).database.mapping;
    rows = mapColumn(rows, "email", "fullName");
    // fullName now fills email only.
    expect(rows.map((r) => [r.field, r.column])).toEqual([
      ["timestamp", "created_at"],
      ["fullName", "email"],
    ]);
    rows = mapColumn(rows, "created_at", "");
    expect(rows.map((r) => r.column)).toEqual(["email"]);
  });
});

describe("errors by field", () => {
  it("maps each detail to its input's path (the columns request's config. prefix dropped)", () => {
    const e = new ConsoleError({
      kind: "invalid",
      message: "api.endpoint: bad; fields[1].name: bad name",
      field: "api.endpoint",
      details: [
        { field: "api.endpoint", reason: "is not a URL" },
        { field: "fields[1].name", reason: "bad name" },
      ],
    });
    expect(errorsByField(e)).toEqual({ "api.endpoint": "is not a URL", "fields[1].name": "bad name" });
    const nested = new ConsoleError({ kind: "invalid", message: "x", field: "config.database.port", details: [] });
    expect(errorsByField(nested)).toEqual({ "database.port": "x" });
  });

  it("puts a taken name at the name input", () => {
    const e = new ConsoleError({ kind: "conflict", message: "name: an integration named 'EMR' exists already" });
    expect(errorsByField(e)).toEqual({ name: "an integration named 'EMR' exists already" });
  });
});

describe("list helpers", () => {
  it("maps the last health check to a dot, unknown when never checked", () => {
    const last = {
      status: "warning" as const,
      local: null,
      integrations: [
        { checkedAt: "", id: "a", name: "A", kind: "api" as const, status: "warning" as const, latencyMs: 1, checks: [] },
      ],
    };
    expect(healthDot(last, "a")).toBe("warning");
    expect(healthDot(last, "b")).toBe("unknown");
    expect(healthDot(undefined, "a")).toBe("unknown");
  });

  it("shows an integration never probed as unknown unless its deliveries show a problem", () => {
    const check = (name: string, status: "healthy" | "warning" | "error") => ({ name, status, latencyMs: 0, reason: null });
    const snapshot = (id: string, status: "healthy" | "warning" | "error", checks: ReturnType<typeof check>[]) => ({
      checkedAt: "",
      id,
      name: id,
      kind: "api" as const,
      status,
      latencyMs: 0,
      checks,
    });
    const last = {
      status: "error" as const,
      local: null,
      integrations: [
        // Never probed, no deliveries yet: listed with its deliveries check alone, healthy.
        snapshot("new", "healthy", [check("deliveries", "healthy")]),
        // Never probed, but its recent deliveries fail.
        snapshot("failing", "error", [check("deliveries", "error")]),
        // Probed and healthy.
        snapshot("checked", "healthy", [check("connect", "healthy"), check("deliveries", "healthy")]),
      ],
    };
    expect(healthDot(last, "new")).toBe("unknown");
    expect(healthDot(last, "failing")).toBe("error");
    expect(healthDot(last, "checked")).toBe("healthy");
  });

  it("summarises a target", () => {
    expect(targetSummary(api)).toBe("PUT emr.example/patients");
    expect(targetSummary(db)).toBe("postgresql db.local:5433/clinic · patients");
  });
});

describe("typed secrets in the JSON tab", () => {
  it("are hidden from its text and come back when it is used", async () => {
    const { hideTypedSecrets, restoreTypedSecrets, TYPED_SECRET } = await import("./form");
    const config = {
      name: "x",
      kind: "api",
      fields: [],
      api: { endpoint: "https://e.example", authentication: { type: "bearer", credentials: { token: "tok-typed-1" } } },
      database: { type: "postgresql", database: "d", table: "t", fieldMapping: {}, password: "pw-typed-2" },
    } as unknown as Parameters<typeof hideTypedSecrets>[0];
    const hidden = hideTypedSecrets(config);
    const text = JSON.stringify(hidden.config);
    expect(text).not.toContain("tok-typed-1");
    expect(text).not.toContain("pw-typed-2");
    expect(text).toContain(TYPED_SECRET);
    const back = restoreTypedSecrets(JSON.parse(text), hidden.typed);
    expect(back.api?.authentication?.credentials).toEqual({ token: "tok-typed-1" });
    expect(back.database?.password).toBe("pw-typed-2");
  });

  it("leave the stored mask alone", async () => {
    const { hideTypedSecrets, SECRET_MASK } = await import("./form");
    const config = {
      name: "x",
      kind: "database",
      fields: [],
      database: { type: "postgresql", database: "d", table: "t", fieldMapping: {}, password: SECRET_MASK },
    } as unknown as Parameters<typeof hideTypedSecrets>[0];
    expect(hideTypedSecrets(config).config.database?.password).toBe(SECRET_MASK);
  });
});

describe("the live table's columns", () => {
  const col = (name: string, typeName: string, extra: Partial<{ nullable: boolean; hasDefault: boolean; generated: boolean }> = {}) => ({
    name,
    typeName,
    nullable: true,
    hasDefault: false,
    generated: false,
    ...extra,
  });
  const columns = [
    col("id", "INTEGER", { nullable: false, generated: true }),
    col("patient_name", "TEXT", { nullable: false }),
    col("email", "TEXT"),
    col("visit_count", "integer"),
    col("created_at", "timestamp with time zone", { nullable: false, hasDefault: true }),
    col("clinic_code", "varchar(10)", { nullable: false }),
  ];

  it("start the fields: one per column nothing fills, typed and required from the column, and mapped", () => {
    const form = emptyForm("database");
    form.database.fixed = [{ key: "f", column: "clinic_code", value: "C-1", kind: "text" }];
    const next = fieldsFromColumns(columns, form.fields, form.database.mapping, form.database.fixed);
    expect(next.fields.map((f) => [f.name, f.type, f.required])).toEqual([
      ["patientName", "name", true],
      ["email", "email", false],
      ["visitCount", "integer", false],
    ]);
    expect(next.mapping.map((m) => [m.field, m.column])).toEqual([
      ["patientName", "patient_name"],
      ["email", "email"],
      ["visitCount", "visit_count"],
    ]);
    // Again: nothing left to add.
    expect(fieldsFromColumns(columns, next.fields, next.mapping, form.database.fixed).added).toBe(0);
    expect(fieldTypeFor({ name: "dob", typeName: "date" })).toBe("date");
    expect(fieldTypeFor({ name: "active", typeName: "boolean" })).toBe("boolean");
  });

  it("name every NOT NULL column without a default that nothing fills", () => {
    const mapping = [{ key: "m", field: "fullName", column: "patient_name" }];
    expect(unfilledRequiredColumns(columns, mapping, []).map((p) => p.field)).toEqual(["database.columns.clinic_code"]);
    expect(unfilledRequiredColumns(columns, mapping, [{ key: "f", column: "clinic_code", value: "C-1", kind: "text" }])).toEqual([]);
    expect(unfilledRequiredColumns(columns, [], [])[0]?.message).toMatch(/patient_name.*NOT NULL/);
  });

  it("a renamed field keeps its column", () => {
    const before = [{ key: "a", name: "patientName", type: "name" as const, required: true, values: "", description: "" }];
    const after = [{ ...before[0]!, name: "fullName" }];
    const mapping = [{ key: "m", field: "patientName", column: "patient_name" }];
    expect(followRenames(before, after, mapping)).toEqual([{ key: "m", field: "fullName", column: "patient_name" }]);
    expect(followRenames(before, before, mapping)).toBe(mapping);
  });

  it("fixed values go out typed, and a value that is not of its type is a problem at its column", () => {
    const form = emptyForm("database");
    form.name = "db";
    form.database = { ...form.database, type: "sqlite", database: "/x.db", table: "t" };
    form.database.fixed = [
      { key: "a", column: "clinic_code", value: "007", kind: "text" },
      { key: "b", column: "site_no", value: "7", kind: "number" },
      { key: "c", column: "active", value: "true", kind: "boolean" },
    ];
    expect(formToConfig(form).database?.fixedValues).toEqual({ clinic_code: "007", site_no: 7, active: true });
    form.database.fixed[1] = { key: "b", column: "site_no", value: "seven", kind: "number" };
    expect(formToConfigChecked(form).problems.map((p) => p.field)).toEqual(["database.fixedValues.site_no"]);
  });
});

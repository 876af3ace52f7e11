import { describe, expect, it } from "vitest";
import type { FieldSpec } from "../../api/types/FieldSpec";
import { dataToForm, dataToJson, formToData, parseJsonData, problemsByField } from "./form";

const fields: FieldSpec[] = [
  { name: "fullName", type: "name", required: true },
  { name: "age", type: "integer", required: false },
  { name: "fee", type: "number", required: false },
  { name: "consent", type: "boolean", required: false },
  { name: "visitType", type: "enum", required: true, values: ["new", "returning"] },
];

describe("form <-> data", () => {
  it("round-trips typed values through the form's texts", () => {
    const data = { fullName: "Ann Lee", age: 42, fee: 12.5, consent: false, visitType: "new" };
    const form = dataToForm(fields, data);
    expect(form).toEqual({ fullName: "Ann Lee", age: "42", fee: "12.5", consent: "false", visitType: "new" });
    expect(formToData(fields, form)).toEqual(data);
  });

  it("leaves out empty inputs and keeps text that does not parse, for the check to report", () => {
    const form = { fullName: "Ann", age: "forty", fee: "", consent: "", visitType: "new" };
    expect(formToData(fields, form)).toEqual({ fullName: "Ann", age: "forty", visitType: "new" });
  });

  it("keeps keys the form cannot show", () => {
    const base = { fullName: "old", extra: { a: 1 } };
    const data = formToData(fields, { fullName: "Ann", visitType: "new" }, base);
    expect(data).toEqual({ extra: { a: 1 }, fullName: "Ann", visitType: "new" });
  });
});

describe("the JSON editor", () => {
  it("takes an object and says why it refuses anything else", () => {
    expect(parseJsonData('{"fullName": "Ann"}')).toEqual({ ok: true, data: { fullName: "Ann" } });
    expect(parseJsonData("  ")).toEqual({ ok: true, data: {} });
    const notJson = parseJsonData("{fullName:");
    expect(notJson.ok).toBe(false);
    expect(!notJson.ok && notJson.error).toMatch(/^not JSON/);
    const array = parseJsonData("[1]");
    expect(!array.ok && array.error).toMatch(/JSON object/);
    expect(JSON.parse(dataToJson({ a: 1 }))).toEqual({ a: 1 });
  });
});

describe("problemsByField", () => {
  it("maps each problem to its field, joining several", () => {
    expect(
      problemsByField([
        { field: "email", reason: "not an email" },
        { field: "data.age", reason: "not an integer" },
        { field: "email", reason: "too long" },
      ]),
    ).toEqual({ email: "not an email; too long", age: "not an integer" });
  });
});

import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Integration } from "../../api/types/Integration";
import type { Mapping } from "../../api/types/Mapping";
import type { MappingPreview } from "../../api/types/MappingPreview";
import type { MappingRequest } from "../../api/types/MappingRequest";
import type { PresetSystem } from "../../api/types/PresetSystem";
import type { Source } from "../../api/types/Source";
import { MappingEditor } from "./MappingEditor";
import { formToRequest, mappingToForm, presetDescription, presetToForm, rowLeftovers } from "./form";

beforeAll(() => {
  HTMLDialogElement.prototype.showModal ??= function (this: HTMLDialogElement) {
    this.open = true;
  };
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

type Handler = (body: Record<string, unknown>) => { status?: number; json: unknown };

function serve(routes: Record<string, Handler>) {
  const calls: { key: string; body: Record<string, unknown> }[] = [];
  vi.stubGlobal("fetch", async (input: string, init?: RequestInit) => {
    const url = new URL(input, "http://console.test");
    const key = `${init?.method ?? "GET"} ${url.pathname.replace("/api/v1", "")}`;
    const body = init?.body ? JSON.parse(String(init.body)) : {};
    calls.push({ key, body });
    const route = routes[key];
    const r = route ? route(body) : { status: 404, json: { error: { kind: "notFound", message: key } } };
    return new Response(JSON.stringify(r.json), { status: r.status ?? 200 });
  });
  return calls;
}

const db = {
  id: "i-db",
  name: "Demo clinic database",
  kind: "database",
  config: {
    fields: [
      { name: "fullName", type: "name", required: true },
      { name: "phoneNumber", type: "phone", required: false },
      { name: "appointmentDate", type: "date", required: false },
    ],
  },
} as unknown as Integration;

const source: Source = {
  id: "s-1",
  name: "opendental",
  displayName: "opendental",
  kind: "ehr",
  verification: { mode: "standardWebhooks" },
  enabled: true,
  ratePerMinute: 6000,
  integrations: ["i-db"],
  previousSecretUntil: null,
  createdAt: "2026-12-01T00:00:00Z",
  updatedAt: "2026-12-01T00:00:00Z",
};

const presets: PresetSystem[] = [
  {
    system: "opendental",
    title: "OpenDental-style webhooks",
    description: "Illustrative shapes: check a real event with `mapping try`.",
    kind: "ehr",
    verification: { mode: "standardWebhooks" },
    events: [
      {
        id: "od-booked",
        title: "Appointment booked",
        headers: {},
        sample: { EventType: "AppointmentCreated", AptDateTime: "2026-12-04 09:30:00", Patient: { FName: "Bruno", LName: "Costa", WirelessPhone: "555.310.7788" } },
        mapping: {
          name: "OpenDental appointment booked",
          event: { pointer: "/EventType", equals: "AppointmentCreated" },
          fields: [
            // A preset leaves the separator out.
            { field: "fullName", value: { join: { pointers: ["/Patient/FName", "/Patient/LName"] } } as never },
            { field: "phoneNumber", value: { pointer: "/Patient/WirelessPhone" }, transforms: [{ type: "phone" }] },
            { field: "appointmentDate", value: { pointer: "/AptDateTime" }, transforms: [{ type: "date", from: "%m/%d/%Y" }] },
          ],
          session: null,
          sync: null,
        },
      },
    ],
  },
];

const withProblem: MappingPreview = {
  matched: true,
  mapping: "OpenDental appointment booked",
  integration: "Demo clinic database",
  sessionId: "sample-message",
  data: { fullName: "Bruno Costa", phoneNumber: "+15553107788" },
  problems: [{ field: "appointmentDate", reason: "the date does not read as %m/%d/%Y" }],
  sync: "realtime",
};

describe("the mapping editor", () => {
  it("fills itself from a preset, tries its sample, and shows the preview's problems at the field's row", async () => {
    const calls = serve({ "POST /mappings/try": () => ({ json: withProblem }) });
    render(<MappingEditor source={source} integrations={[db]} presets={presets} onClose={() => {}} onSaved={() => {}} />);
    fireEvent.change(screen.getByLabelText("Preset"), { target: { value: "od-booked" } });
    expect((screen.getByLabelText("Name") as HTMLInputElement).value).toBe("OpenDental appointment booked");
    expect((screen.getByLabelText("Sample body (JSON)") as HTMLTextAreaElement).value).toContain('"EventType": "AppointmentCreated"');
    // The CLI is not where a real event is tried here.
    expect(screen.getByText(/in the sample preview/)).toBeTruthy();

    const preview = screen.getByRole("region", { name: /Preview/ });
    await within(preview).findByText("1 problem", {}, { timeout: 2000 });
    expect(within(preview).getByText("Matched: this mapping takes the sample.")).toBeTruthy();
    expect(within(preview).getByText("Bruno Costa")).toBeTruthy();
    expect(within(preview).getByText("the date does not read as %m/%d/%Y")).toBeTruthy();
    const rows = screen.getAllByRole("listitem").filter((li) => li.classList.contains("field-row"));
    expect(rows[2]!.textContent).toContain("On the sample: the date does not read as %m/%d/%Y");
    expect(rows[0]!.textContent).not.toContain("On the sample");

    // The unsaved mapping as the editor has it, with the sample.
    const tried = calls.filter((c) => c.key === "POST /mappings/try").at(-1)!.body as { mapping: MappingRequest; body: unknown };
    expect(tried.mapping).toMatchObject({ source: "s-1", integration: "i-db", event: { pointer: "/EventType", equals: "AppointmentCreated" }, sync: "realtime" });
    expect(tried.mapping.fields[0]).toEqual({ field: "fullName", value: { join: { pointers: ["/Patient/FName", "/Patient/LName"], separator: " " } } });
    expect(tried.body).toMatchObject({ EventType: "AppointmentCreated" });
  });

  it("says what is missing when the console cannot try the mapping yet, and that a sample is not JSON", async () => {
    serve({
      "POST /mappings/try": () => ({
        status: 422,
        json: { error: { kind: "invalid", field: "name", message: "name: must not be empty", details: [{ field: "name", reason: "must not be empty" }] } },
      }),
    });
    render(<MappingEditor source={source} integrations={[db]} presets={presets} onClose={() => {}} onSaved={() => {}} />);
    const body = screen.getByLabelText("Sample body (JSON)");
    fireEvent.change(body, { target: { value: "{not json" } });
    expect(await screen.findByText(/The sample body is not JSON/)).toBeTruthy();
    fireEvent.change(body, { target: { value: '{"a": 1}' } });
    const preview = screen.getByRole("region", { name: /Preview/ });
    expect(await within(preview).findByText("Not a mapping yet:", {}, { timeout: 2000 })).toBeTruthy();
    expect(within(preview).getByText("name")).toBeTruthy();
    expect(within(preview).getByText("must not be empty")).toBeTruthy();
  });

  it("shows a refused save's problems at their rows and inputs", async () => {
    const onSaved = vi.fn();
    serve({
      "POST /mappings/try": () => ({ json: { ...withProblem, problems: [] } }),
      "POST /mappings": () => ({
        status: 422,
        json: {
          error: {
            kind: "invalid",
            field: "fields[1].value.pointer",
            message: "2 problems",
            details: [
              { field: "fields[1].value.pointer", reason: "must be a JSON pointer" },
              { field: "fields[2].transforms[0].from", reason: "must be a strftime date format" },
              { field: "fields[0]", reason: "something about the row as a whole" },
            ],
          },
        },
      }),
    });
    render(<MappingEditor source={source} integrations={[db]} presets={presets} onClose={() => {}} onSaved={onSaved} />);
    fireEvent.change(screen.getByLabelText("Preset"), { target: { value: "od-booked" } });
    fireEvent.click(screen.getByRole("button", { name: "Add mapping" }));
    const pointer = screen.getByLabelText("Field 2: JSON pointer");
    await waitFor(() => expect(pointer.getAttribute("aria-invalid")).toBe("true"));
    expect(screen.getByLabelText("Field 3: transform 1: read as").getAttribute("aria-invalid")).toBe("true");
    const rows = screen.getAllByRole("listitem").filter((li) => li.classList.contains("field-row"));
    expect(rows[1]!.textContent).toContain("must be a JSON pointer");
    expect(rows[2]!.textContent).toContain("must be a strftime date format");
    expect(rows[0]!.textContent).toContain("something about the row as a whole");
    expect(within(screen.getAllByRole("alert")[0]!).getByText("fields[1].value.pointer")).toBeTruthy();
    expect(onSaved).not.toHaveBeenCalled();
  });

  it("updates a saved mapping with a PUT of every setting", async () => {
    const saved: Mapping = {
      id: "m-1",
      sourceId: "s-1",
      name: "Booked",
      event: { header: "X-Event", equals: "booked" },
      integrationId: "i-db",
      fields: [{ field: "fullName", value: { constant: "Walk-in" } }],
      session: { pointer: "/call/id" },
      sync: "manual",
      enabled: false,
      createdAt: "2026-12-01T00:00:00Z",
      updatedAt: "2026-12-01T00:00:00Z",
    };
    const calls = serve({ "PUT /mappings/m-1": () => ({ json: saved }) });
    const onSaved = vi.fn();
    render(<MappingEditor source={source} integrations={[db]} presets={presets} editing={saved} onClose={() => {}} onSaved={onSaved} />);
    fireEvent.click(screen.getByRole("button", { name: "Save changes" }));
    await waitFor(() => expect(onSaved).toHaveBeenCalled());
    expect(calls.find((c) => c.key === "PUT /mappings/m-1")?.body).toEqual({
      source: "s-1",
      name: "Booked",
      integration: "i-db",
      event: { header: "X-Event", equals: "booked" },
      fields: [{ field: "fullName", value: { constant: "Walk-in" } }],
      session: { pointer: "/call/id" },
      sync: "manual",
      enabled: false,
    });
  });
});

describe("the mapping form", () => {
  it("reads a preset and sends it back as the console's mapping", () => {
    const form = presetToForm(presets[0]!.events[0]!.mapping, "i-db");
    const req = formToRequest(form, "opendental", db.config.fields);
    expect(req.fields[1]).toEqual({ field: "phoneNumber", value: { pointer: "/Patient/WirelessPhone" }, transforms: [{ type: "phone" }] });
    expect(req.fields[2]!.transforms).toEqual([{ type: "date", from: "%m/%d/%Y" }]);
    expect(req).not.toHaveProperty("session");
  });

  it("types a constant by its field (a number for a number field, text otherwise)", () => {
    const specs = [
      { name: "age", type: "integer", required: false },
      { name: "note", type: "text", required: false },
    ] as Integration["config"]["fields"];
    const form = mappingToForm({
      id: "m",
      sourceId: "s",
      name: "n",
      event: null,
      integrationId: "i",
      fields: [
        { field: "age", value: { constant: 41 } },
        { field: "note", value: { constant: "41" } },
      ],
      session: null,
      sync: "realtime",
      enabled: true,
      createdAt: "",
      updatedAt: "",
    });
    const req = formToRequest(form, "s", specs);
    expect(req.fields.map((f) => f.value)).toEqual([{ constant: 41 }, { constant: "41" }]);
  });

  it("finds the problems of a row that none of its inputs shows", () => {
    const form = presetToForm(presets[0]!.events[0]!.mapping, "i-db");
    const errors = { "fields[1]": "whole row", "fields[1].value.pointer": "shown at its input", "fields[10].field": "another row" };
    expect(rowLeftovers(errors, form.fields[1]!, 1)).toEqual([["fields[1]", "whole row"]]);
  });

  it("does not send the reader to the command line", () => {
    expect(presetDescription("check a real event with `mapping try` and adjust")).toBe("check a real event in the sample preview and adjust");
  });
});

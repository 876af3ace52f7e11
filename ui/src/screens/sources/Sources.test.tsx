import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Integration } from "../../api/types/Integration";
import type { Source } from "../../api/types/Source";
import { Sources } from "./Sources";
import { parseTestEvent } from "./TestEventDialog";
import { emptySourceForm, endpointOf, formToChange, formToRequest, verificationOf } from "./form";

beforeAll(() => {
  // jsdom has no modal dialogs: open them in place.
  HTMLDialogElement.prototype.showModal ??= function (this: HTMLDialogElement) {
    this.open = true;
  };
  HTMLDialogElement.prototype.close ??= function (this: HTMLDialogElement) {
    this.open = false;
  };
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

type Handler = (body: Record<string, unknown>) => { status?: number; json: unknown };

/** The console's API as the screen sees it over HTTP: answers by method and path. */
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

const db = { id: "i-db", name: "Demo clinic database", kind: "database", config: { fields: [] } } as unknown as Integration;

const opendental: Source = {
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

const SECRET = "whsec_c2VjcmV0LXNob3duLW9uY2UtYW5kLW5ldmVyLWFnYWlu";

describe("the Sources screen", () => {
  it("adds a source: the endpoint shows as typed, a refused name shows at its input, the secret shows once and is gone after", async () => {
    let added = false;
    const calls = serve({
      "GET /sources": () => ({ json: added ? [opendental] : [] }),
      "GET /integrations": () => ({ json: [db] }),
      "GET /info": () => ({ json: { version: "t", dataDir: "/d", readOnly: false, intakeUrl: "http://127.0.0.1:7879/intake/v1/" } }),
      "POST /sources": (body) => {
        if (body.name !== "opendental") {
          return {
            status: 422,
            json: {
              error: {
                kind: "invalid",
                field: "name",
                message: "name: must be lowercase letters",
                details: [{ field: "name", reason: "must be lowercase letters, digits, '-' and '_'" }],
              },
            },
          };
        }
        added = true;
        return { json: { source: opendental, secret: SECRET } };
      },
    });
    render(<Sources />);
    await screen.findByText("No sources yet");
    expect(screen.getByText("Listening")).toBeTruthy();
    fireEvent.click(screen.getAllByRole("button", { name: "Add source" })[0]!);
    const editor = await screen.findByRole("dialog", { name: "Add a source" });
    const name = within(editor).getByLabelText("Name");
    fireEvent.change(name, { target: { value: "Open Dental" } });
    expect(within(editor).getByTestId("endpoint-preview").textContent).toBe("http://127.0.0.1:7879/intake/v1/Open%20Dental");
    fireEvent.click(within(editor).getByLabelText("Demo clinic database"));
    fireEvent.click(within(editor).getByRole("button", { name: "Add source" }));

    await waitFor(() => expect(name.getAttribute("aria-invalid")).toBe("true"));
    const described = (name.getAttribute("aria-describedby") ?? "").split(" ").map((id) => document.getElementById(id)?.textContent);
    expect(described).toContain("must be lowercase letters, digits, '-' and '_'");

    fireEvent.change(name, { target: { value: "opendental" } });
    fireEvent.click(within(editor).getByRole("button", { name: "Add source" }));
    const shown = await screen.findByRole("alertdialog", { name: /the secret of opendental/ });
    expect((within(shown).getByLabelText("Secret") as HTMLInputElement).value).toBe(SECRET);
    expect(shown.textContent).toContain("it will not be shown again");
    expect(shown.textContent).toContain("http://127.0.0.1:7879/intake/v1/opendental");
    const sent = calls.filter((c) => c.key === "POST /sources").at(-1)!.body;
    expect(sent).toMatchObject({ name: "opendental", kind: "ehr", verification: { mode: "standardWebhooks" }, integrations: ["i-db"] });
    expect(sent).not.toHaveProperty("secret");

    fireEvent.click(within(shown).getByRole("button", { name: /I have copied it/ }));
    await screen.findByRole("cell", { name: /opendental/ });
    // Nothing on the page (an input, a dialog kept hidden) still holds it.
    expect(document.body.innerHTML).not.toContain(SECRET);
    expect(screen.queryByRole("alertdialog")).toBeNull();
  });

  it("rotates a secret: the new one shows once, the old one's grace period is sent", async () => {
    const calls = serve({
      "GET /sources": () => ({ json: [opendental] }),
      "GET /integrations": () => ({ json: [db] }),
      "GET /info": () => ({ json: { version: "t", dataDir: "/d", readOnly: false, intakeUrl: null } }),
      "POST /sources/s-1/secret": () => ({
        json: { source: { ...opendental, previousSecretUntil: "2026-12-02T00:00:00Z" }, secret: "whsec_bmV3LXNlY3JldC1hZnRlci1yb3RhdGlvbg==" },
      }),
    });
    render(<Sources />);
    fireEvent.click(await screen.findByRole("button", { name: "Rotate the secret of opendental" }));
    const ask = await screen.findByRole("alertdialog", { name: /Rotate the secret/ });
    fireEvent.change(within(ask).getByLabelText(/Keep accepting the old secret/), { target: { value: "2" } });
    fireEvent.click(within(ask).getByRole("button", { name: "Rotate secret" }));
    const shown = await screen.findByRole("alertdialog", { name: /Secret rotated/ });
    expect(shown.textContent).toContain("still accepted until");
    expect(calls.find((c) => c.key === "POST /sources/s-1/secret")?.body).toEqual({ keepPreviousHours: 2 });
    fireEvent.click(within(shown).getByRole("button", { name: /I have copied it/ }));
    await waitFor(() => expect(document.body.innerHTML).not.toContain("bmV3LXNlY3JldC1hZnRlci1yb3RhdGlvbg"));
  });

  it("turns the intake listener on from the screen when it is off, and then gives the sender its endpoint", async () => {
    let listening = false;
    const status = () => ({
      settings: { enabled: listening, bind: "127.0.0.1:7879" },
      url: listening ? "http://127.0.0.1:7879/intake/v1/" : null,
      appliesNow: true,
    });
    const calls = serve({
      "GET /sources": () => ({ json: [opendental] }),
      "GET /integrations": () => ({ json: [db] }),
      "GET /info": () => ({ json: { version: "t", dataDir: "/d", readOnly: false, intakeUrl: null } }),
      "GET /intake-listener": () => ({ json: status() }),
      "PUT /intake-listener": (body) => {
        if (body.bind === "0.0.0.0:7879") {
          return {
            status: 422,
            json: { error: { kind: "invalid", field: "bind", message: "bind: not loopback", details: [{ field: "bind", reason: "0.0.0.0 is not a loopback address" }] } },
          };
        }
        listening = true;
        return { json: status() };
      },
    });
    render(<Sources />);
    expect(await screen.findByText("Intake listener off")).toBeTruthy();
    expect(screen.getByText("/intake/v1/opendental")).toBeTruthy();
    const panel = screen.getByRole("region", { name: "Intake listener" });
    // Nothing here sends the admin to the command line: the setting is on the screen.
    expect(panel.textContent).not.toMatch(/--intake-bind|handoff-console/);
    const bind = within(panel).getByLabelText("Listen on (address:port)");
    fireEvent.change(bind, { target: { value: "0.0.0.0:7879" } });
    fireEvent.click(within(panel).getByRole("button", { name: "Turn the listener on" }));
    await waitFor(() => expect(bind.getAttribute("aria-invalid")).toBe("true"));
    fireEvent.change(bind, { target: { value: "127.0.0.1:7879" } });
    fireEvent.click(within(panel).getByRole("button", { name: "Turn the listener on" }));
    expect(await screen.findByText("http://127.0.0.1:7879/intake/v1/opendental")).toBeTruthy();
    expect(screen.getByText("Listening")).toBeTruthy();
    expect(calls.filter((c) => c.key === "PUT /intake-listener").at(-1)?.body).toEqual({ enabled: true, bind: "127.0.0.1:7879" });
  });

  it("says the intake listener is off, and what IT can do, when its setting cannot be read here", async () => {
    serve({
      "GET /sources": () => ({ json: [opendental] }),
      "GET /integrations": () => ({ json: [db] }),
      "GET /info": () => ({ json: { version: "t", dataDir: "/d", readOnly: false, intakeUrl: null } }),
    });
    render(<Sources />);
    expect(await screen.findByText("Intake listener off")).toBeTruthy();
    expect(screen.getByRole("note").textContent).toContain("--intake-bind");
    // The endpoint is the path alone (no listener, no address).
    expect(screen.getByText("/intake/v1/opendental")).toBeTruthy();
  });
});

describe("the source form", () => {
  it("sends the header fields only for the modes that read one", () => {
    const f = { ...emptySourceForm(), name: " vapi ", header: "X-Sig", prefix: "sha256=", timestampHeader: "" };
    expect(verificationOf({ ...f, mode: "standardWebhooks" })).toEqual({ mode: "standardWebhooks" });
    expect(verificationOf({ ...f, mode: "hmacHex" })).toEqual({ mode: "hmacHex", header: "X-Sig", prefix: "sha256=" });
    expect(verificationOf({ ...f, mode: "hmacHex", timestampHeader: "X-Ts" })).toMatchObject({ timestampHeader: "X-Ts" });
    expect(verificationOf({ ...f, mode: "sharedSecret" })).toEqual({ mode: "sharedSecret", header: "X-Sig" });
    expect(formToRequest({ ...f, mode: "intakeKey" })).toMatchObject({ name: "vapi", ratePerMinute: 6000, verification: { mode: "intakeKey" } });
  });

  it("refuses a rate that is not a whole number at its field, and keeps the mode on an edit", () => {
    expect(() => formToRequest({ ...emptySourceForm(), ratePerMinute: "60/s" })).toThrow(/whole number/);
    const change = formToChange({ ...emptySourceForm(), mode: "hmacHex", header: "X-New" }, { ...baseSource(), verification: { mode: "sharedSecret", header: "X-Old" } });
    expect(change.verification).toEqual({ mode: "sharedSecret", header: "X-New" });
  });

  it("gives the sender the listener's URL and the name", () => {
    expect(endpointOf("http://h:1/intake/v1/", "a b")).toBe("http://h:1/intake/v1/a%20b");
    expect(endpointOf(null, "")).toBe("/intake/v1/<name>");
  });
});

describe("a test event", () => {
  it("sends the default event when the body is empty, and says which part is not JSON", () => {
    expect(parseTestEvent("", "")).toEqual({ ok: true, body: undefined, headers: {} });
    expect(parseTestEvent('{"a":1}', '{"X-Event": "booked"}')).toEqual({ ok: true, body: { a: 1 }, headers: { "X-Event": "booked" } });
    expect(parseTestEvent("{", "")).toMatchObject({ ok: false, field: "body" });
    expect(parseTestEvent("{}", '{"X-Event": 1}')).toMatchObject({ ok: false, field: "headers", message: "X-Event must be text" });
    expect(parseTestEvent("{}", "[1]")).toMatchObject({ ok: false, field: "headers" });
  });
});

function baseSource(): Source {
  return { ...opendental };
}

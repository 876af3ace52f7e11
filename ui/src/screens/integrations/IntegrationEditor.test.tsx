import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Integration } from "../../api/types/Integration";
import { IntegrationEditor } from "./IntegrationEditor";
import { SECRET_MASK } from "./form";

beforeAll(() => {
  // jsdom has no modal dialogs: open it in place.
  HTMLDialogElement.prototype.showModal ??= function (this: HTMLDialogElement) {
    this.open = true;
  };
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

/** Answers every request with `status` and `body`, recording what was sent. */
function stubFetch(status: number, body: unknown) {
  const sent: { url: string; method: string; body: unknown }[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init: RequestInit) => {
      sent.push({ url, method: init.method ?? "GET", body: init.body ? JSON.parse(String(init.body)) : undefined });
      return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
    }),
  );
  return sent;
}

const saved: Integration = {
  id: "i-1",
  name: "EMR",
  kind: "api",
  createdAt: "2026-01-01T00:00:00Z",
  updatedAt: "2026-01-01T00:00:00Z",
  config: {
    name: "EMR",
    kind: "api",
    fields: [{ name: "fullName", type: "name", required: true }],
    api: {
      endpoint: "https://emr.example/p",
      method: "POST",
      headers: {},
      authentication: { type: "bearer", credentials: { token: SECRET_MASK } },
    },
    retry: { maxAttempts: 5, baseDelayMs: 2000, maxDelayMs: 3600000 },
  },
};

describe("the integration editor", () => {
  it("shows each of the backend's field problems at its input and in the summary", async () => {
    stubFetch(422, {
      error: {
        kind: "invalid",
        field: "api.endpoint",
        message: "api.endpoint: is not a URL; fields[0].name: bad",
        details: [
          { field: "api.endpoint", reason: "is not a URL" },
          { field: "fields[0].name", reason: "must be a letter or _ followed by letters, digits or _" },
        ],
      },
    });
    render(<IntegrationEditor kind="api" onClose={() => {}} onSaved={() => {}} />);
    fireEvent.change(screen.getByLabelText("Name"), { target: { value: "EMR" } });
    fireEvent.change(screen.getByLabelText("Endpoint"), { target: { value: "nope" } });
    fireEvent.click(screen.getByRole("button", { name: "Add field" }));
    fireEvent.change(screen.getByLabelText("Field 1 name"), { target: { value: "9x" } });
    fireEvent.click(screen.getByRole("button", { name: "Create integration" }));

    const summary = await screen.findByRole("alert");
    expect(within(summary).getByText("api.endpoint")).toBeTruthy();
    expect(within(summary).getByText("fields[0].name")).toBeTruthy();
    const endpoint = screen.getByLabelText("Endpoint");
    expect(endpoint.getAttribute("aria-invalid")).toBe("true");
    const described = endpoint.getAttribute("aria-describedby") ?? "";
    expect(described.split(" ").map((id) => document.getElementById(id)?.textContent)).toContain("is not a URL");
    expect(screen.getByLabelText("Field 1 name").getAttribute("aria-invalid")).toBe("true");
    // The first problem in the form (the endpoint is above the fields) has the focus.
    await waitFor(() => expect(document.activeElement).toBe(endpoint));
  });

  it("sends the mask for a stored secret left empty, and the typed value once typed", async () => {
    const sent = stubFetch(200, saved);
    const onSaved = vi.fn();
    render(<IntegrationEditor editing={saved} onClose={() => {}} onSaved={onSaved} />);
    const token = screen.getByLabelText("Token") as HTMLInputElement;
    // The stored token is never put in the input.
    expect(token.value).toBe("");
    expect(token.type).toBe("password");
    fireEvent.click(screen.getByRole("button", { name: "Save changes" }));
    await waitFor(() => expect(onSaved).toHaveBeenCalled());
    const first = sent[0]!;
    expect(first.method).toBe("PUT");
    expect(first.url).toBe("/api/v1/integrations/i-1");
    expect((first.body as Integration["config"]).api?.authentication?.credentials.token).toBe(SECRET_MASK);

    fireEvent.change(token, { target: { value: "new-token" } });
    fireEvent.click(screen.getByRole("button", { name: "Save changes" }));
    await waitFor(() => expect(sent).toHaveLength(2));
    expect((sent[1]!.body as Integration["config"]).api?.authentication?.credentials.token).toBe("new-token");
  });

  it("moves a field with its buttons and keeps the rest of the row", () => {
    stubFetch(200, saved);
    render(<IntegrationEditor kind="api" onClose={() => {}} onSaved={() => {}} />);
    fireEvent.click(screen.getByRole("button", { name: "Add field" }));
    fireEvent.click(screen.getByRole("button", { name: "Add field" }));
    fireEvent.change(screen.getByLabelText("Field 1 name"), { target: { value: "first" } });
    fireEvent.change(screen.getByLabelText("Field 2 name"), { target: { value: "second" } });
    fireEvent.click(screen.getByLabelText("Field 2 required"));
    fireEvent.click(screen.getByRole("button", { name: "Move field 2 up" }));
    expect((screen.getByLabelText("Field 1 name") as HTMLInputElement).value).toBe("second");
    expect((screen.getByLabelText("Field 1 required") as HTMLInputElement).checked).toBe(true);
    expect((screen.getByLabelText("Field 2 name") as HTMLInputElement).value).toBe("first");
    fireEvent.click(screen.getByRole("button", { name: "Remove field 1 (second)" }));
    expect((screen.getByLabelText("Field 1 name") as HTMLInputElement).value).toBe("first");
  });

  it("round-trips through the JSON tab", () => {
    stubFetch(200, saved);
    render(<IntegrationEditor editing={saved} onClose={() => {}} onSaved={() => {}} />);
    fireEvent.click(screen.getByRole("tab", { name: "JSON" }));
    const text = screen.getByLabelText("Config (JSON)") as HTMLTextAreaElement;
    const config = JSON.parse(text.value);
    expect(config.api.authentication.credentials.token).toBe(SECRET_MASK);
    config.api.endpoint = "https://other.example/p";
    fireEvent.change(text, { target: { value: JSON.stringify(config) } });
    fireEvent.click(screen.getByRole("tab", { name: "Form" }));
    expect((screen.getByLabelText("Endpoint") as HTMLInputElement).value).toBe("https://other.example/p");
  });

  it("closes on Escape (the dialog's cancel), asking first when something changed", async () => {
    stubFetch(200, saved);
    const onClose = vi.fn();
    render(<IntegrationEditor kind="database" onClose={onClose} onSaved={() => {}} />);
    const drawer = screen.getByRole("dialog", { name: /Add a database integration/, hidden: true });
    fireEvent(drawer, new Event("cancel", { cancelable: true }));
    expect(onClose).toHaveBeenCalledTimes(1);

    fireEvent.change(screen.getByLabelText("Table"), { target: { value: "patients" } });
    fireEvent(drawer, new Event("cancel", { cancelable: true }));
    expect(onClose).toHaveBeenCalledTimes(1);
    const ask = screen.getByRole("alertdialog", { name: "Discard your changes?", hidden: true });
    fireEvent.click(within(ask).getByRole("button", { name: "Discard", hidden: true }));
    await waitFor(() => expect(onClose).toHaveBeenCalledTimes(2));
  });
});

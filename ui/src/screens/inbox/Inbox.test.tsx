import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { InboxItem } from "../../api/types/InboxItem";
import type { InboxStatus } from "../../api/types/InboxStatus";
import { Inbox } from "./Inbox";
import { InboxDrawer } from "./InboxDrawer";
import { actionsFor, hasHandoff, isHeld } from "./model";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

type Handler = (body: Record<string, unknown>, query: URLSearchParams) => { status?: number; json: unknown };

function serve(routes: Record<string, Handler>) {
  const calls: string[] = [];
  vi.stubGlobal("fetch", async (input: string, init?: RequestInit) => {
    const url = new URL(input, "http://console.test");
    const key = `${init?.method ?? "GET"} ${url.pathname.replace("/api/v1", "")}`;
    calls.push(`${key}${url.search}`);
    const body = init?.body ? JSON.parse(String(init.body)) : {};
    const route = routes[key];
    const r = route ? route(body, url.searchParams) : { status: 404, json: { error: { kind: "notFound", message: key } } };
    return new Response(JSON.stringify(r.json), { status: r.status ?? 200 });
  });
  return calls;
}

function item(patch: Partial<InboxItem>): InboxItem {
  return {
    id: "m-1",
    sourceId: "s-1",
    sourceName: "opendental",
    endpoint: "webhook",
    messageKey: "msg-1",
    status: "received",
    // Named only once the handoff exists.
    handoffId: null,
    integrationId: null,
    integrationName: null,
    sessionId: null,
    mappingName: null,
    error: null,
    bodyBytes: 120,
    receivedAt: "2026-12-03T08:00:00Z",
    updatedAt: "2026-12-03T08:00:01Z",
    ...patch,
  };
}

const held = item({ status: "mapped", integrationId: "i-db", sessionId: "msg-1", mappingName: "Cancelled" });
const made = { handoffId: "h-1", integrationId: "i-db", integrationName: "Demo clinic database", sessionId: "msg-1" };
const delivering = item({ status: "mapped", ...made });
const delivered = item({ status: "delivered", ...made });
const failedHandoff = item({ status: "failed", ...made });
const failedMapping = item({ id: "m-2", status: "failed", error: "mapping 'x': fullName is missing", mappingName: "x" });
const ignored = item({ id: "m-3", status: "ignored" });

describe("inbox actions", () => {
  it("are offered only where the console takes them", () => {
    expect(actionsFor(item({}))).toEqual({ release: false, reprocess: true, ignore: true });
    expect(actionsFor(held)).toEqual({ release: true, reprocess: true, ignore: true });
    expect(actionsFor(delivering)).toEqual({ release: false, reprocess: false, ignore: false });
    expect(actionsFor(delivered)).toEqual({ release: false, reprocess: false, ignore: false });
    expect(actionsFor(failedHandoff)).toEqual({ release: false, reprocess: true, ignore: false });
    expect(actionsFor(failedMapping)).toEqual({ release: false, reprocess: true, ignore: true });
    expect(actionsFor(ignored)).toEqual({ release: false, reprocess: true, ignore: false });
  });

  it("tell a held message from one whose handoff is on its way (both are `mapped`)", () => {
    expect(isHeld(held) && !hasHandoff(held)).toBe(true);
    expect(isHeld(delivering) || !hasHandoff(delivering)).toBe(false);
  });
});

describe("the inbox drawer", () => {
  const drawerFor = (i: InboxItem, routes: Record<string, Handler> = {}) => {
    const calls = serve({
      "GET /inbox/m-1": () => ({ json: { item: i, maskedBody: { EventType: "•••", Patient: { FName: "B***" } }, headerNames: ["webhook-id"] } }),
      ...routes,
    });
    const onChanged = vi.fn();
    render(<InboxDrawer id="m-1" integrationName={() => "Demo clinic database"} onClose={() => {}} onChanged={onChanged} />);
    return { calls, onChanged };
  };
  const button = (name: string) => screen.getByRole("button", { name }) as HTMLButtonElement;

  it("enables Release, Reprocess and Ignore for a held message, and shows the console's 409", async () => {
    const { calls, onChanged } = drawerFor(held, {
      "POST /inbox/m-1/release": () => ({
        status: 409,
        json: { error: { kind: "conflict", message: "message m-1 is delivered: only a message a manual mapping holds can be released" } },
      }),
    });
    await screen.findByText(/A manual mapping holds it/);
    expect([button("Release").disabled, button("Reprocess").disabled, button("Ignore").disabled]).toEqual([false, false, false]);
    fireEvent.click(button("Release"));
    expect((await screen.findByRole("alert")).textContent).toContain("only a message a manual mapping holds can be released");
    expect(calls).toContain("POST /inbox/m-1/release");
    expect(onChanged).not.toHaveBeenCalled();
  });

  it("offers nothing on a delivered message, and only Reprocess when its handoff failed for good", async () => {
    drawerFor(delivered);
    await screen.findByText("Delivered: nothing to do.");
    expect([button("Release").disabled, button("Reprocess").disabled, button("Ignore").disabled]).toEqual([true, true, true]);
    cleanup();
    drawerFor(failedHandoff);
    await screen.findByText(/failed with no retry left: Reprocess/);
    expect([button("Release").disabled, button("Reprocess").disabled, button("Ignore").disabled]).toEqual([true, false, true]);
  });

  it("shows the body masked, and the raw one only after a confirmed reveal", async () => {
    HTMLDialogElement.prototype.showModal ??= function (this: HTMLDialogElement) {
      this.open = true;
    };
    const { calls } = drawerFor(delivered, {
      "POST /inbox/m-1/reveal": () => ({ json: { id: "m-1", body: '{"EventType":"AppointmentCreated","Patient":{"FName":"Bruno"}}', headers: { "webhook-id": "msg-1" } } }),
    });
    await screen.findByText("Body (masked)");
    expect(screen.getByText(/"FName": "B\*\*\*"/)).toBeTruthy();
    fireEvent.click(button("Reveal…"));
    expect(calls).not.toContain("POST /inbox/m-1/reveal");
    const ask = screen.getByRole("alertdialog", { name: "Reveal the message as received?" });
    expect(ask.textContent).toContain("audit trail");
    fireEvent.click(within(ask).getByRole("button", { name: "Reveal" }));
    await screen.findByText("Body (revealed, as received)");
    expect(screen.getByText(/"FName": "Bruno"/)).toBeTruthy();
    expect(calls).toContain("POST /inbox/m-1/reveal");
  });
});

describe("the Inbox screen", () => {
  beforeEach(() => history.replaceState(null, "", "/inbox/opendental"));

  it("counts what is undelivered by status, for the source in the path, and lists its messages", async () => {
    const totals: Record<InboxStatus, number> = { received: 2, mapped: 1, failed: 3, delivered: 40, ignored: 5 };
    const calls = serve({
      "GET /inbox": (_, q) => {
        const status = q.get("status") as InboxStatus | null;
        if (status) return { json: { items: [], total: totals[status] } };
        return { json: { items: [held, failedMapping], total: 2 } };
      },
      "GET /sources": () => ({ json: [] }),
      "GET /integrations": () => ({ json: [{ id: "i-db", name: "Demo clinic database" }] }),
    });
    render(<Inbox />);
    await screen.findByText(/not delivered/);
    expect(screen.getByRole("status").textContent).toBe(
      "6 messages from opendental not delivered: 2 not mapped yet, 1 mapped (on their way, or held for release), 3 failed.",
    );
    const failedCard = screen.getByRole("button", { name: /failed/, pressed: false });
    expect(failedCard.textContent).toContain("3");
    expect(failedCard.className).toContain("attention");
    expect(calls.filter((c) => c.startsWith("GET /inbox?")).every((c) => c.includes("source=opendental"))).toBe(true);
    // A held message names its integration (from the list) and says its handoff is not made yet.
    const heldRow = screen.getByText("mapped · held").closest("tr")!;
    expect(heldRow.textContent).toContain("Demo clinic database");
    expect(heldRow.textContent).toContain("not yet");
    expect(screen.getByText("1–2 of 2 messages")).toBeTruthy();

    fireEvent.click(failedCard);
    await waitFor(() => expect(calls.some((c) => c.includes("status=failed") && c.includes("offset=0") && c.includes("limit=50"))).toBe(true));
  });
});

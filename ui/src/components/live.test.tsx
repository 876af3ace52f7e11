import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LiveBadge, useLiveRefresh } from "./live";

// jsdom is not a visual browser: it calls every page hidden, and hidden screens never refresh.
beforeEach(() => {
  Object.defineProperty(document, "visibilityState", { value: "visible", configurable: true });
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

/** A console whose `GET /changes` answers from `answers` in turn; a call with `after` equal to
 * the last number waits until `move()` gives the next. */
function changesServer(live = true) {
  let version = 1;
  const waiting: Array<() => void> = [];
  const asked: string[] = [];
  vi.stubGlobal("fetch", async (input: string) => {
    const url = new URL(input, "http://console.test");
    if (!url.pathname.endsWith("/changes")) return new Response("{}", { status: 404 });
    asked.push(url.search);
    const after = url.searchParams.get("after");
    if (after !== null && Number(after) === version) {
      await new Promise<void>((r) => waiting.push(r));
    }
    return new Response(JSON.stringify({ version, live }), { status: 200 });
  });
  return {
    asked,
    move() {
      version += 1;
      waiting.splice(0).forEach((r) => r());
    },
  };
}

function Screen({ paused, onRefresh }: { paused: { current: boolean }; onRefresh: () => void }) {
  const changes = useLiveRefresh(true, () => paused.current, onRefresh);
  return <LiveBadge changes={changes} enabled />;
}

describe("live views", () => {
  it("refresh when the store's change number moves, not before, and catch up after a pause", async () => {
    const server = changesServer();
    const refresh = vi.fn();
    const paused = { current: false };
    render(<Screen paused={paused} onRefresh={refresh} />);
    await screen.findByText("● Live");
    // The first number is the screen's own load: nothing to refresh.
    await waitFor(() => expect(server.asked.length).toBeGreaterThanOrEqual(2));
    expect(refresh).not.toHaveBeenCalled();

    act(() => server.move());
    await waitFor(() => expect(refresh).toHaveBeenCalledTimes(1));

    // Paused (rows selected, a drawer open): a change waits, then is caught up once.
    paused.current = true;
    await new Promise((r) => setTimeout(r, 600));
    act(() => server.move());
    await new Promise((r) => setTimeout(r, 400));
    expect(refresh).toHaveBeenCalledTimes(1);
    paused.current = false;
    await waitFor(() => expect(refresh).toHaveBeenCalledTimes(2));
    await new Promise((r) => setTimeout(r, 400));
    expect(refresh).toHaveBeenCalledTimes(2);
  });

  it("say so when the console cannot follow changes", async () => {
    changesServer(false);
    render(<Screen paused={{ current: false }} onRefresh={() => {}} />);
    await screen.findByText("Not live: refreshing every 10 s");
  });
});

import { describe, expect, it } from "vitest";
import { ConsoleClient, callOf } from "./client";
import { OPERATIONS, type Operation } from "./operations";
import type { Call, Transport } from "./transport";

/** A transport that records each call and answers nothing. */
function recording(kind: "http" | "tauri"): { transport: Transport; calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    transport: {
      kind,
      call<T>(c: Call): Promise<T> {
        calls.push(c);
        return Promise.resolve(undefined as T);
      },
    },
  };
}

const camel = (snake: string) => snake.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());

describe("the client", () => {
  it("has a call for every operation, and it reaches that operation's route and command", async () => {
    const ops = Object.values(OPERATIONS) as Operation[];
    expect(ops.length).toBeGreaterThanOrEqual(40);
    for (const kind of ["http", "tauri"] as const) {
      const { transport, calls } = recording(kind);
      const client = new ConsoleClient(transport) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      for (const op of ops) {
        const method = client[camel(op.name)];
        expect(typeof method, `${op.name} has no call`).toBe("function");
        if (op.desktopOnly && kind === "http") {
          await expect(method!.call(client, ...op.params.map(() => "x"), {})).rejects.toThrow(/desktop window/);
          continue;
        }
        const args = op.params.map((p) => `${p}-value`);
        await method!.call(client, ...args, op.input === "none" ? undefined : {});
        const call = calls.at(-1)!;
        expect(call.command).toBe(op.name);
        expect(call.method).toBe(op.method);
        expect(call.path).toBe(op.path.replace(/\{(\w+)\}/g, (_, p: string) => `${p}-value`));
        for (const p of op.params) expect(call.args?.[p]).toBe(`${p}-value`);
      }
    }
  });

  it("sends a config's text as the body and its other fields in the query string", () => {
    const call = callOf(OPERATIONS.validate_integration, {}, { config: '{"name":"x"}', id: "abc" });
    expect(call.rawBody).toBe('{"name":"x"}');
    expect(call.query).toEqual({ id: "abc" });
    expect(call.args).toEqual({ request: { config: '{"name":"x"}', id: "abc" } });
  });

  it("puts a query operation's request in the query string and a JSON one in the body", () => {
    const q = callOf(OPERATIONS.history_file_attempts, { id: "a/b" }, { limit: 5 });
    expect(q.path).toBe("/history-files/a%2Fb/attempts");
    expect(q.query).toEqual({ limit: 5 });
    expect(q.body).toBeUndefined();
    const j = callOf(OPERATIONS.send, {}, { integration: "x", sessionId: "s", data: {} });
    expect(j.body).toEqual({ integration: "x", sessionId: "s", data: {} });
    expect(j.query).toBeUndefined();
  });
});

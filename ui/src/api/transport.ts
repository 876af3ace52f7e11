import { ConsoleError } from "./errors";

/** One call, described for both transports: HTTP (method, path, query, body) inside a browser,
 * and the Tauri command (`command`, `args`) inside the desktop window. */
export interface Call {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  query?: object;
  body?: unknown;
  /** Sent as-is (a config file's text); otherwise `body` is sent as JSON. */
  rawBody?: string;
  /** Sent as the raw bytes of a file (an upload), HTTP only. */
  blob?: Blob;
  command: string;
  args?: Record<string, unknown>;
}

export interface Transport {
  readonly kind: "http" | "tauri";
  call<T>(call: Call): Promise<T>;
}

const TOKEN_KEY = "handoff-console.token";

/** The token the browser signed in with (sessionStorage: gone when the tab closes). */
export const tokenStore = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string) => sessionStorage.setItem(TOKEN_KEY, token.trim()),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
  /** Takes a `#token=...` fragment (the URL `serve` prints) and drops it from the address bar. */
  fromLocation(loc: Location = window.location): void {
    const m = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(loc.hash);
    if (!m?.[1]) return;
    tokenStore.set(m[1]);
    history.replaceState(null, "", loc.pathname + loc.search);
  },
};

export function queryString(query: object | undefined): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === "") continue;
    params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : "";
}

export class HttpTransport implements Transport {
  readonly kind = "http" as const;
  constructor(
    private readonly base = "/api/v1",
    private readonly token: () => string | null = tokenStore.get,
  ) {}

  async call<T>(c: Call): Promise<T> {
    const headers: Record<string, string> = {};
    const token = this.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    let body: string | Blob | undefined;
    if (c.blob !== undefined) {
      body = c.blob;
      headers["Content-Type"] = "application/octet-stream";
    } else if (c.rawBody !== undefined) {
      body = c.rawBody;
      headers["Content-Type"] = "application/json";
    } else if (c.body !== undefined) {
      body = JSON.stringify(c.body);
      headers["Content-Type"] = "application/json";
    }
    let response: Response;
    try {
      response = await fetch(this.base + c.path + queryString(c.query), {
        method: c.method,
        headers,
        body,
      });
    } catch (e) {
      throw new ConsoleError({
        kind: "network",
        message: `the console did not answer (${e instanceof Error ? e.message : String(e)})`,
      });
    }
    const text = await response.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: reported below with the status.
    }
    if (!response.ok) {
      const err = (json as { error?: unknown } | undefined)?.error;
      if (err) throw ConsoleError.from(err);
      throw new ConsoleError({ kind: "internal", message: `HTTP ${response.status}: ${text.slice(0, 200)}` });
    }
    return json as T;
  }
}

interface TauriInternals {
  invoke: (cmd: string, args?: Record<string, unknown>) => Promise<unknown>;
}

/** Inside the desktop window: Tauri's `invoke`. */
export class TauriTransport implements Transport {
  readonly kind = "tauri" as const;
  constructor(private readonly internals: TauriInternals) {}

  async call<T>(c: Call): Promise<T> {
    try {
      return (await this.internals.invoke(c.command, c.args ?? {})) as T;
    } catch (e) {
      throw ConsoleError.from(e);
    }
  }
}

/** The transport for where the UI runs: the Tauri window, or a browser. */
export function detectTransport(): Transport {
  const internals = (window as unknown as { __TAURI_INTERNALS__?: TauriInternals }).__TAURI_INTERNALS__;
  return internals ? new TauriTransport(internals) : new HttpTransport();
}

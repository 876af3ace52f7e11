import { useState, type FormEvent } from "react";
import { client } from "./api/client";
import { ConsoleError } from "./api/errors";
import { tokenStore } from "./api/transport";

/** The browser's sign-in: the console's token (`handoff-console token` prints it). */
export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    tokenStore.set(token);
    try {
      await client.info();
      onSignedIn();
    } catch (err) {
      const ce = ConsoleError.from(err);
      tokenStore.clear();
      setError(ce.kind === "unauthorized" ? "That token is not this console's token." : ce.message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="signin">
      <form onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">Sign in to Handoff Console</h1>
        <p className="muted">
          Paste the console's token. On the machine running the console, <code>handoff-console token</code> prints it.
        </p>
        <label htmlFor="token">Token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          autoFocus
          value={token}
          onChange={(e) => setToken(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? "token-error" : undefined}
          required
        />
        {error && (
          <p id="token-error" className="field-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy || !token.trim()}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}

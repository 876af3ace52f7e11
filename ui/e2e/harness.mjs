// The end-to-end harness: a real `handoff-console serve` on a temp data dir, real targets (a
// loopback HTTP server that can be told to fail, a SQLite file), Debian's Chromium through
// playwright-core, and screenshots under target/e2e/ (CI artifacts).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const shotsDir = join(repoRoot, "target", "e2e");

/** Every process a harness started: stopped on any way out (a failed step, an exception, a
 * signal), so that a failed run never leaves a console serving. */
const children = new Set();
function stopChildren() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  children.clear();
}
process.on("exit", stopChildren);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    stopChildren();
    process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
  });
}
process.on("uncaughtException", (e) => {
  console.error(e);
  stopChildren();
  process.exit(1);
});
process.on("unhandledRejection", (e) => {
  console.error(e);
  stopChildren();
  process.exit(1);
});

export function binary() {
  if (process.env.HANDOFF_BIN) return process.env.HANDOFF_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? join(repoRoot, "target");
  return join(target, "debug", "handoff-console");
}

/** A loopback port nothing listens on now (for a listener the UI starts). */
export async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** A loopback HTTP target that records what it receives; `failNext(n)` makes the next n
 * requests answer 503, `failPath(path, on)` makes every request to a path answer 503 (a target
 * that rejects every delivery) until it is turned off. */
export async function startTarget() {
  const received = [];
  let failures = 0;
  const failing = new Set();
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push({ method: req.method, url: req.url, body });
      if (failures > 0 || failing.has(req.url)) {
        if (!failing.has(req.url)) failures--;
        res.writeHead(503, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "temporarily unavailable" }));
        return;
      }
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: `sub-${received.length}` }));
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    failNext(n) {
      failures = n;
    },
    failPath(path, on) {
      if (on) failing.add(path);
      else failing.delete(path);
    },
    close: () => new Promise((r) => server.close(r)),
  };
}

/** A SQLite target database with the seed's patient_data table (made with Python's sqlite3). */
export function makeSqliteTarget(dir) {
  const path = join(dir, "clinic-target.db");
  execFileSync("python3", [
    "-c",
    `import sqlite3,sys
c=sqlite3.connect(sys.argv[1])
c.execute("""CREATE TABLE patient_data (id INTEGER PRIMARY KEY AUTOINCREMENT, patient_name TEXT NOT NULL,
  email TEXT, phone TEXT, appointment_date TEXT, notes TEXT,
  submission_timestamp DATETIME DEFAULT CURRENT_TIMESTAMP, source TEXT DEFAULT 'voice_agent')""")
c.commit()`,
    path,
  ]);
  return path;
}

export function countRows(path) {
  const out = execFileSync("python3", [
    "-c",
    "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM patient_data').fetchone()[0])",
    path,
  ]);
  return Number(String(out).trim());
}

/** Starts `serve` on a free loopback port, with its intake listener on another (so sources
 * have an endpoint) unless `intake: false` (then the listener follows its setting, which the
 * UI changes); resolves once it printed where it listens. */
export async function startConsole(dataDir, { intake = true } = {}) {
  const child = spawn(
    binary(),
    ["--data-dir", dataDir, "--secrets", "vault", "--json", "serve", "--bind", "127.0.0.1:0", ...(intake ? ["--intake-bind", "127.0.0.1:0"] : [])],
    {
      env: { ...process.env, HANDOFF_VAULT_PASSPHRASE: "e2e passphrase", RUST_LOG: "warn" },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  children.add(child);
  child.on("exit", () => children.delete(child));
  let out = "";
  const printed = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 30_000);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      try {
        const doc = JSON.parse(out);
        clearTimeout(timer);
        resolveUrl(doc);
      } catch {
        // Not the whole document yet.
      }
    });
    child.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
  const url = new URL(printed.url);
  const token = url.hash.replace("#token=", "");
  const base = `${url.protocol}//${url.host}`;
  return {
    child,
    base,
    token,
    signInUrl: printed.url,
    /** `http://addr/intake/v1/`: where sources post. */
    intakeUrl: printed.intake,
    /** A direct API call (what a voice agent's intake or a script would do). */
    async api(method, path, body) {
      const res = await fetch(`${base}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
      const text = await res.text();
      const json = text ? JSON.parse(text) : null;
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return json;
    },
    stop() {
      child.kill("SIGINT");
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

export function tempDir(prefix) {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function prepareShots() {
  rmSync(shotsDir, { recursive: true, force: true });
  mkdirSync(shotsDir, { recursive: true });
}

export async function shot(page, name, options = {}) {
  await page.screenshot({ path: join(shotsDir, `${name}.png`), ...options });
}

/** Screenshots of the screen as it is, at 1024 and 1400 px wide (the widths support staff
 * use), each asserting that every table fits its place (nothing, a row's Remove button say,
 * cut off at the side). */
export async function shotWidths(page, name) {
  const before = page.viewportSize();
  for (const width of [1024, 1400]) {
    // Tall enough to hold the whole screen (the console scrolls inside its main area).
    await page.setViewportSize({ width, height: 1600 });
    await page.waitForTimeout(150);
    await shot(page, `${name}-${width}`);
    const cut = await page.evaluate(() =>
      [...document.querySelectorAll("main table")]
        .filter((t) => t.getBoundingClientRect().width > 0 && t.scrollWidth > (t.parentElement?.clientWidth ?? 0) + 1)
        .map((t) => `${t.className || "table"}: ${t.scrollWidth} px in ${t.parentElement?.clientWidth} px`),
    );
    assert(cut.length === 0, `${name} at ${width} px: a table is wider than its place (${cut.join("; ")})`);
  }
  await page.setViewportSize(before);
}

/** Steps with names, so a failure says which one broke. */
export async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    console.log(`  ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    console.log(`  FAIL ${name}`);
    throw e;
  }
}

export function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

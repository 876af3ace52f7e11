// End to end, in real Chromium against a real `serve`: sign in, create an API and a database
// integration (every problem of a bad save at once, the first one focused), test one, send
// handoffs, watch the stats change, an API that rejects every delivery shown failing in Health
// and in the list, its handoffs retried and shown delivered, export a history file from the UI
// and browse it; then intake (e2e/intake.mjs: sources, mappings, the inbox); a screenshot of
// every screen under target/e2e/ (also at 1024 and 1400 px).
// Usage: node ui/e2e/run.mjs   (HANDOFF_BIN: the console binary; default target/debug)
import {
  assert,
  binary,
  countRows,
  launchBrowser,
  makeSqliteTarget,
  prepareShots,
  shot,
  shotWidths as shotWidthsOf,
  shotsDir,
  startConsole,
  startTarget,
  step,
  tempDir,
} from "./harness.mjs";
import { runIntake } from "./intake.mjs";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";

const work = tempDir("handoff-e2e-");
const dataDir = `${work}/data`;
const dbPath = makeSqliteTarget(work);
const target = await startTarget();
const console_ = await startConsole(dataDir);
const browser = await launchBrowser();
prepareShots();
let failed = false;
let page;

const sample = (name) => ({
  fullName: name,
  email: `${name.split(" ")[0].toLowerCase()}@example.com`,
  phoneNumber: "+1 555 123 4567",
  appointmentDate: "2026-12-01",
  additionalNotes: "Prefers mornings",
});

/** Screenshots at 1024 and 1400 px, every table asserted to fit (harness.mjs). */
const shotWidths = (name) => shotWidthsOf(page, name);

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
  page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));

  await step("a browser without the token is asked to sign in, and a wrong token is refused", async () => {
    await page.goto(`${console_.base}/integrations`);
    await page.getByLabel("Token").fill("not-the-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("That token is not this console's token.").waitFor();
    await shot(page, "00-sign-in");
  });

  await step("the printed URL opens signed in and drops the token from the address bar", async () => {
    await page.goto(console_.signInUrl);
    // The first-run screen needs the API to have answered with the token.
    await page.getByText("No integrations yet").waitFor();
    await page.getByRole("button", { name: "Create the demo workspace" }).waitFor();
    assert(!page.url().includes("token"), `the token stayed in the URL: ${page.url()}`);
    assert((await page.getByLabel("Token").count()) === 0, "the sign-in form is still shown");
  });

  let apiId;
  let dbId;
  await step("create an API integration: one save shows every problem, and the first one has the focus", async () => {
    await page.goto(`${console_.base}/integrations`);
    await page.getByRole("button", { name: "Add API integration" }).click();
    const editor = page.getByRole("dialog");
    await editor.getByLabel("Name", { exact: true }).fill("Clinic EMR");
    await editor.getByLabel("Endpoint").fill("ftp://nowhere");
    await editor.getByRole("button", { name: "Add field" }).click();
    await editor.getByLabel("Field 1 name").fill("fullName");
    await editor.getByLabel("Field 1 type").selectOption("name");
    await editor.getByLabel("Field 1 required").check();
    await editor.getByRole("button", { name: "Add field" }).click();
    await editor.getByLabel("Field 2 name").fill("email");
    await editor.getByLabel("Field 2 type").selectOption("email");
    await editor.getByLabel("Payload structure (JSON)").fill('{"name": "{{fullName}}", "email": "{{email}}"}');
    // Three problems of three kinds: a URL the console refuses, a timeout the form cannot
    // send, a retry count out of range.
    await editor.getByLabel("Timeout (ms)", { exact: true }).fill("3s");
    await editor.getByLabel("Tries in all").fill("99");
    await editor.getByRole("button", { name: "Create integration" }).click();
    const summary = editor.locator(".problem-summary");
    await summary.waitFor();
    const text = await summary.innerText();
    for (const path of ["api.endpoint", "api.timeoutMs", "retry.maxAttempts"]) {
      assert(text.includes(path), `the summary does not list ${path}: ${text}`);
    }
    assert(text.includes("http:// or https://"), `the endpoint's problem is not in plain words: ${text}`);
    // The first problem in the form (the endpoint, above the timeout and the retry) is focused.
    const focused = await page.evaluate(() => document.activeElement?.getAttribute("id"));
    const endpointId = await editor.getByLabel("Endpoint").getAttribute("id");
    assert(focused === endpointId, `the focus is on ${focused}, not the endpoint`);
    assert(
      (await editor.getByLabel("Tries in all").getAttribute("aria-invalid")) === "true",
      "the retry count is not marked at its input",
    );
    // The editor scrolls inside: its title and its Save button stay on screen.
    const viewport = page.viewportSize();
    for (const pinned of [editor.getByRole("heading", { level: 2 }).first(), editor.getByRole("button", { name: "Create integration" })]) {
      const box = await pinned.boundingBox();
      assert(box && box.y >= 0 && box.y + box.height <= viewport.height, `the editor scrolled ${await pinned.innerText()} out of view`);
    }
    await shot(page, "01-integration-editor-problems");
    await editor.getByLabel("Endpoint").fill(`${target.url}/patients`);
    await editor.getByLabel("Timeout (ms)", { exact: true }).fill("");
    await editor.getByLabel("Tries in all").fill("1");
    await editor.getByRole("button", { name: "Create integration" }).click();
    await editor.waitFor({ state: "hidden" });
    await page.getByRole("cell", { name: /Clinic EMR/ }).first().waitFor();
    const list = await console_.api("GET", "/integrations");
    apiId = list.find((i) => i.name === "Clinic EMR")?.id;
    assert(apiId, "the API integration was not saved");
  });

  await step("create a database integration on a SQLite file, mapped onto the table's real columns", async () => {
    await page.getByRole("button", { name: "Add database integration" }).click();
    const editor = page.getByRole("dialog");
    await editor.getByLabel("Name", { exact: true }).fill("Clinic database");
    await editor.getByLabel("Type").selectOption("sqlite");
    await editor.getByLabel("File path").fill(dbPath);
    await editor.getByLabel("Table").fill("patient_data");
    await editor.getByRole("button", { name: "Load columns from the table" }).click();
    // The fields start from the table's columns: named, typed and mapped from them.
    await editor.getByRole("button", { name: "Add fields from columns" }).click();
    await editor.getByText(/fields? added and mapped/).waitFor();
    assert((await editor.getByLabel("Field 1 name").inputValue()) === "patientName", "the first field is not from the first column");
    // Renamed to what the voice agent collects; each column stays filled by its field.
    const fields = [
      ["patientName", "fullName"],
      ["phone", "phoneNumber"],
      ["appointmentDate", "appointmentDate"],
      ["notes", "additionalNotes"],
    ];
    for (const [i, [from, to]] of fields.entries()) {
      const input = editor.getByLabel(`Field ${i === 0 ? 1 : i + 2} name`);
      assert((await input.inputValue()) === from, `field ${i} is ${await input.inputValue()}, not ${from}`);
      await input.fill(to);
    }
    for (const [column, field] of [
      ["patient_name", "fullName"],
      ["email", "email"],
      ["phone", "phoneNumber"],
      ["appointment_date", "appointmentDate"],
      ["notes", "additionalNotes"],
    ]) {
      const chosen = await editor.getByLabel(`Field filling column ${column}`).inputValue();
      assert(chosen === field, `column ${column} is filled from '${chosen}', not '${field}'`);
    }
    // A fixed value fills `source` on every insert (a clinic code, say).
    await editor.getByLabel("Field filling column source").selectOption({ label: "A fixed value…" });
    await editor.getByLabel("Fixed value for column source").fill("voice-e2e");
    await shot(page, "02-integration-editor-mapping");
    await editor.getByRole("button", { name: "Create integration" }).click();
    await editor.waitFor({ state: "hidden" });
    await page.getByRole("cell", { name: /Clinic database/ }).first().waitFor();
    const list = await console_.api("GET", "/integrations");
    const db = list.find((i) => i.name === "Clinic database");
    assert(db, "the database integration was not saved");
    assert(db.config.database.fieldMapping.fullName === "patient_name", JSON.stringify(db.config.database));
    assert(db.config.database.fixedValues?.source === "voice-e2e", JSON.stringify(db.config.database));
    assert(db.config.fields.find((f) => f.name === "fullName")?.required === true, "patient_name is NOT NULL: its field is required");
    dbId = db.id;
    await shot(page, "03-integrations");
  });

  await step("test the database integration with generated data: passed and rolled back", async () => {
    await page.goto(`${console_.base}/tests/${dbId}`);
    await page.getByRole("button", { name: "Run test" }).waitFor();
    // Generated data is ready when its seed shows.
    await page.getByText(/Generated, seed \d+/).waitFor();
    await page.getByRole("button", { name: "Run test" }).click();
    await page.getByRole("heading", { name: "Test passed" }).waitFor();
    await page.getByText("rolled back: nothing was kept").waitFor();
    assert(countRows(dbPath) === 0, "a rolled-back test left a row");
    await shot(page, "04-test-panel");
  });

  await step("an API test asks before it reaches the real endpoint, naming it", async () => {
    await page.goto(`${console_.base}/tests/${apiId}`);
    await page.getByText(/Generated, seed \d+/).waitFor();
    const before = target.received.length;
    await page.getByRole("button", { name: "Run test" }).click();
    const ask = page.getByRole("alertdialog", { name: "Send the test to the real endpoint?" });
    await ask.waitFor();
    assert((await ask.innerText()).includes(`${target.url}/patients`), "the confirmation does not name the endpoint");
    await ask.getByRole("button", { name: "Cancel" }).click();
    assert(target.received.length === before, "a cancelled test was sent");
  });

  await step("send handoffs: they reach the API and the table", async () => {
    for (const [i, name] of ["Ann Lee", "Bo Chan", "Cy Diaz"].entries()) {
      const r = await console_.api("POST", "/handoffs", { integration: apiId, sessionId: `call-${i}`, data: sample(name) });
      assert(r.success, `handoff ${i} failed: ${JSON.stringify(r)}`);
    }
    for (const [i, name] of ["Di Evans", "Ed Fox"].entries()) {
      const r = await console_.api("POST", "/handoffs", { integration: dbId, sessionId: `call-db-${i}`, data: sample(name) });
      assert(r.success, `database handoff ${i} failed: ${JSON.stringify(r)}`);
    }
    assert(countRows(dbPath) === 2, `expected 2 rows, found ${countRows(dbPath)}`);
    assert(target.received.filter((r) => r.url === "/patients").length === 3, "the API target did not get 3 handoffs");
  });

  const cardValue = (label) =>
    page.locator(".stats-cards .card").filter({ has: page.getByText(label, { exact: true }) }).locator(".value");
  const waitCard = (label, value) =>
    page.waitForFunction(
      ([label, value]) =>
        [...document.querySelectorAll(".stats-cards .card")].some(
          (c) => c.querySelector(".label")?.textContent === label && c.querySelector(".value")?.textContent === value,
        ),
      [label, value],
    );

  await step("the stats panel shows the handoffs", async () => {
    await page.getByRole("link", { name: "Stats" }).click();
    await page.getByRole("grid", { name: "Handoffs" }).waitFor();
    // 3 API and 2 database handoffs; a rolled-back test is not recorded.
    await waitCard("Handoffs", "5");
    await waitCard("Needs attention", "0");
    assert((await cardValue("Attempt success").textContent()) === "100%", "success rate");
    await page.getByRole("row").filter({ hasText: "call-db-1" }).waitFor();
    await shotWidths("05-stats");
  });

  await step("a handoff another process records on the same store shows on its own, without a refresh", async () => {
    await page.locator(".live-badge.live-on").waitFor({ timeout: 10_000 });
    const dataFile = `${work}/cli-handoff.json`;
    writeFileSync(dataFile, JSON.stringify(sample("Flo Gray")));
    const started = Date.now();
    // Not spawnSync: the target API answers from this process's event loop.
    const sent = await new Promise((resolve) =>
      execFile(
        binary(),
        ["--data-dir", dataDir, "--secrets", "vault", "--json", "send", "--integration", apiId, "--session", "call-cli", "--data", dataFile],
        { env: { ...process.env, HANDOFF_VAULT_PASSPHRASE: "e2e passphrase", RUST_LOG: "warn" } },
        (error, stdout, stderr) => resolve({ error, stdout, stderr }),
      ),
    );
    assert(!sent.error, `the CLI's send failed: ${sent.stdout} ${sent.stderr}`);
    // No click on Refresh: the panel follows the store's changes.
    await page.getByRole("row").filter({ hasText: "call-cli" }).waitFor({ timeout: 5_000 });
    await waitCard("Handoffs", "6");
    console.log(`    shown ${Date.now() - started} ms after the CLI started (its own start included)`);
    await shotWidths("05b-stats-live");
  });

  await step("search finds a handoff by session id and by its masked name, never by the raw name", async () => {
    const search = page.locator("#f-q");
    const rows = () => page.getByRole("grid", { name: "Handoffs" }).getByRole("row").filter({ hasText: "call-" });
    // The table follows the box after a pause in typing: the row count, once it settles.
    const rowsBecome = async (n) => {
      for (let i = 0; i < 50 && (await rows().count()) !== n; i++) await page.waitForTimeout(100);
      assert((await rows().count()) === n, `the table shows ${await rows().count()} rows, not ${n}`);
    };
    await search.fill("ca");
    await page.locator("#f-q-hint").getByText("Type 3 or more characters to search").waitFor();
    await page.waitForTimeout(600);
    assert((await rows().count()) === 6, "two characters filtered the table");
    await search.fill("CALL-CLI");
    await rowsBecome(1);
    await rows().filter({ hasText: "call-cli" }).waitFor();
    assert((await page.locator("#f-q-hint").count()) === 0, "the hint stays at three characters");
    // Flo Gray's masked name: searched, as the masked copy shows it.
    await search.fill("F*** G***");
    await page.waitForTimeout(600);
    await rowsBecome(1);
    await rows().filter({ hasText: "call-cli" }).waitFor();
    await shotWidths("05c-stats-search");
    await search.fill("Flo Gray");
    await page.getByText("No handoffs match").waitFor();
    await search.fill("");
    await page.getByRole("row").filter({ hasText: "call-db-1" }).waitFor();
  });

  await step("a handoff fails: it needs attention, and the failure shows in the history", async () => {
    target.failNext(1);
    const failedHandoff = await console_.api("POST", "/handoffs", {
      integration: apiId,
      sessionId: "call-fail",
      data: sample("Fay Gold"),
    });
    assert(!failedHandoff.success && failedHandoff.category === "server", JSON.stringify(failedHandoff));
    await page.getByRole("button", { name: "Refresh" }).click();
    await waitCard("Handoffs", "7");
    await waitCard("Needs attention", "1");
    await page.getByRole("button", { name: "Show them" }).click();
    const row = page.getByRole("row").filter({ hasText: "call-fail" });
    await row.waitFor();
    assert((await page.getByRole("row").filter({ hasText: "call-" }).count()) === 1, "the undelivered filter shows one row");
    // At 1024 px the row still says what failed (its category, a button that filters by it)
    // and its Retry is in view, not cut off at the grid's edge.
    await page.setViewportSize({ width: 1024, height: 860 });
    const grid = await page.getByRole("grid", { name: "Handoffs" }).boundingBox();
    const retry = await row.getByRole("button", { name: "Retry session call-fail" }).boundingBox();
    assert(grid && retry && retry.x >= grid.x && retry.x + retry.width <= grid.x + grid.width, `Retry is clipped: ${JSON.stringify({ grid, retry })}`);
    assert(await row.getByRole("button", { name: "server" }).isVisible(), "the failure's category is not shown at 1024 px");
    await page.setViewportSize({ width: 1280, height: 860 });
    await shotWidths("06-stats-failure");
  });

  await step("retry it from the detail drawer: the retry is delivered and the handoff shows delivered", async () => {
    await page.getByRole("row").filter({ hasText: "call-fail" }).getByText("call-fail").click();
    const drawer = page.getByRole("dialog");
    await drawer.getByRole("heading", { name: "Retry chain" }).waitFor();
    // The collected data is shown masked (the name is never in clear).
    assert(!(await drawer.innerText()).includes("Fay Gold"), "the drawer shows the raw name");
    await drawer.getByRole("button", { name: "Retry this handoff" }).click();
    await drawer.getByText(/Retry delivered/).waitFor();
    await drawer.getByText("Handoff delivered").waitFor();
    await shot(page, "07-stats-retried");
    await page.keyboard.press("Escape");
    await drawer.waitFor({ state: "hidden" });
    await waitCard("Needs attention", "0");
    await page.getByLabel("Handoff", { exact: true }).selectOption("delivered");
    const row = page.getByRole("row").filter({ hasText: "call-fail" });
    await row.waitFor();
    assert((await row.getByRole("button", { name: /Retry/ }).count()) === 0, "a delivered handoff still offers Retry");
    const last = target.received.at(-1);
    assert(last && JSON.parse(last.body).name === "Fay Gold", "the retry re-sent the stored data");
    await page.getByRole("button", { name: "Clear table filters" }).click();
  });

  let failingId;
  await step("an API that rejects every delivery shows as failing in the Integrations list and in Health", async () => {
    target.failPath("/failing", true);
    const failing = await console_.api("POST", "/integrations", {
      name: "Failing EMR",
      kind: "api",
      fields: [{ name: "fullName", type: "name", required: true }],
      api: { endpoint: `${target.url}/failing`, payloadStructure: { name: "{{fullName}}" } },
      retry: { maxAttempts: 1 },
    });
    failingId = failing.id;
    for (const i of [0, 1, 2]) {
      const r = await console_.api("POST", "/handoffs", { integration: failingId, sessionId: `reject-${i}`, data: sample(`Gil Ho${i}`) });
      assert(!r.success && r.statusCode === 503, JSON.stringify(r));
    }
    // The list, without any health run: the failing API comes first, in error, with its last
    // delivery failed and every delivery of the day failed.
    await page.getByRole("link", { name: "Integrations" }).click();
    const first = page.locator(".integrations-table tbody tr").first();
    await first.getByText("Failing EMR").waitFor();
    const firstText = await first.innerText();
    assert(firstText.includes("failed") && firstText.includes("3 of 3 (100%)"), `the list's first row: ${firstText}`);
    assert((await first.locator(".dot.error").count()) === 1, "the failing API's dot is not an error");
    await shotWidths("08-integrations-failing");
    // Health: the APIs card puts it first, in error, with what the deliveries said.
    await page.getByRole("link", { name: "Health" }).click();
    const apis = page.locator("section.health-card").filter({ has: page.getByRole("heading", { name: "APIs" }) });
    const item = apis.locator(".health-item").first();
    await item.getByText("Failing EMR").waitFor();
    await item.locator("summary").click();
    const deliveries = item.getByRole("row").filter({ hasText: "Recent deliveries" });
    assert((await deliveries.locator(".badge.error").count()) === 1, "the deliveries check is not in error");
    const deliveriesText = await deliveries.innerText();
    assert(deliveriesText.includes("503"), `the deliveries check does not quote the failure: ${deliveriesText}`);
    // The line itself says what is wrong, without opening it.
    assert((await item.locator(".health-item-why").innerText()).includes("503"), "the failing API's line does not say why");
    await shotWidths("09-health-failing");
  });

  await step("health checks run as a job, keep the failing API in error, and end-to-end does not say otherwise", async () => {
    const before = Date.now();
    await page.getByRole("button", { name: "Run checks" }).click();
    // The run's own result (not the last-known one): the store's last run is newer than the click.
    for (let i = 0; ; i++) {
      const last = await console_.api("GET", "/health");
      const newest = (last.integrations ?? []).map((x) => Date.parse(x.checkedAt)).reduce((a, b) => Math.max(a, b), 0);
      if (newest >= before - 1000) break;
      assert(i < 100, "the health run did not finish");
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const card of ["Databases", "APIs", "Local components", "End-to-end"]) {
      await page.getByRole("heading", { name: card }).waitFor();
    }
    await page.getByText(/^Checked /).first().waitFor();
    const report = await console_.api("GET", "/health");
    const failing = report.integrations.find((i) => i.id === failingId);
    assert(failing.status === "error", `the failing API is ${failing.status} after a run`);
    const e2e = failing.checks.find((c) => c.name === "endToEnd");
    assert(e2e.status === "error" && e2e.reason.includes("preview"), `end-to-end: ${JSON.stringify(e2e)}`);
    const e2eCard = page.locator("section.health-card").filter({ has: page.getByRole("heading", { name: "End-to-end" }) });
    await e2eCard.getByText("Failing EMR").waitFor();
    // No text on the screen, closed details included, sends the user to the command line.
    await page.evaluate(() => document.querySelectorAll("details").forEach((d) => (d.open = true)));
    const cli = /handoff-console|\s--[a-z]/;
    assert(!cli.test(await page.locator("main").innerText()), "a health text tells the user to run a CLI command");
    await shotWidths("10-health");
  });

  await step("after the API recovers, its handoffs are retried and shown delivered; nothing needs attention", async () => {
    target.failPath("/failing", false);
    await page.goto(`${console_.base}/stats/integrations/${failingId}`);
    await waitCard("Needs attention", "3");
    await page.getByRole("button", { name: "Show them" }).click();
    const undelivered = () => page.evaluate(() => document.querySelectorAll('[role="row"].undelivered').length);
    await page.waitForFunction(() => document.querySelectorAll('[role="row"].undelivered').length === 3);
    // A row ticked, then another retried from its own row: the list and the cards follow by
    // themselves (no filter touched), and the selection does not outlive the retry.
    await page.getByRole("row").filter({ hasText: "reject-2" }).getByRole("checkbox").check();
    await page.getByRole("button", { name: "Retry selected (1)" }).waitFor();
    await page.getByRole("button", { name: "Retry session reject-0" }).click();
    await page.getByText("Session reject-0: delivered.").waitFor();
    await waitCard("Needs attention", "2");
    await page.waitForFunction(() => document.querySelectorAll('[role="row"].undelivered').length === 2);
    await page.getByRole("button", { name: "Retry selected (0)" }).waitFor();
    // The rest at once: counted first, then retried as a job.
    await page.getByRole("button", { name: "Retry failed handoffs…" }).click();
    const ask = page.getByRole("alertdialog", { name: "Retry every handoff that failed for good?" });
    await ask.getByRole("button", { name: "Retry 2" }).click();
    await page.getByText(/Retried 2 of 2: 2 delivered/).waitFor();
    await waitCard("Needs attention", "0");
    await page.getByText("No handoffs match").waitFor();
    assert((await undelivered()) === 0, "delivered handoffs are still listed as undelivered");
    await page.getByLabel("Handoff", { exact: true }).selectOption("");
    await page.waitForFunction(() => document.querySelectorAll('[role="row"].delivered').length === 3);
    assert((await page.locator('[role="row"].delivered').getByRole("button", { name: /Retry/ }).count()) === 0, "a delivered handoff offers Retry");
    // The trigger is scope: it narrows the cards and the list alike (these three were retried).
    await page.getByLabel("Trigger").selectOption("retry");
    await waitCard("Handoffs", "3");
    await page.getByText("3 handoffs", { exact: true }).waitFor();
    await page.getByLabel("Trigger").selectOption("live");
    await waitCard("Handoffs", "3");
    await page.getByLabel("Trigger").selectOption("");
    await shotWidths("11-stats-recovered");
    // The card's failed attempts, clicked by category, are what the table then lists: three
    // failed tries behind three delivered handoffs, none offered for retry.
    await page.locator(".stats-cards .failures").getByRole("button", { name: "server" }).click();
    await page.getByRole("grid", { name: "Attempt history" }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('[role="row"].failed').length === 3);
    assert((await page.locator('[role="row"].failed').getByRole("button", { name: /Retry/ }).count()) === 0, "a failed try of a delivered handoff offers Retry");
    assert((await page.locator('[role="row"].failed').getByText("→ delivered").count()) === 3, "the failed tries do not say their handoff was delivered");
    await page.getByRole("button", { name: "Handoffs", exact: true }).click();
  });

  await step("export a history file from the console and browse it: every page, the detail drawer", async () => {
    // Enough handoffs for more than one page of the history (100 rows a page).
    for (let i = 0; i < 120; i++) {
      await console_.api("POST", "/handoffs", { integration: dbId, sessionId: `bulk-${String(i).padStart(3, "0")}`, data: sample("Hal Ives") });
    }
    await page.goto(`${console_.base}/stats`);
    await page.getByRole("grid", { name: "Handoffs" }).waitFor();
    await page.getByRole("button", { name: "Export history file" }).click();
    const downloading = page.waitForEvent("download");
    await page.getByRole("alertdialog", { name: "Export a history file?" }).getByRole("button", { name: "Export" }).click();
    const download = await downloading;
    assert(/^handoff-history-.*\.sqlite$/.test(download.suggestedFilename()), download.suggestedFilename());
    await page.getByText(/History file written/).waitFor();
    await page.getByRole("button", { name: "Open it in the History file screen" }).click();
    await page.getByText("Read-only", { exact: true }).waitFor();
    const grid = page.getByRole("grid", { name: "Handoffs" });
    await grid.waitFor();
    const { handoffs } = await console_.api("GET", "/stats");
    assert(handoffs.total > 100, `only ${handoffs.total} handoffs to page through`);
    await page.getByText(`${handoffs.total.toLocaleString("en-US")} handoffs`).waitFor();
    // Scrolled to the end, the oldest handoff comes from the second page.
    await grid.evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await page.getByRole("row").filter({ hasText: "call-0" }).waitFor();
    assert(!(await page.locator("main").innerText()).includes("Fay Gold"), "the history file shows a raw name");
    await page.getByRole("row").filter({ hasText: "call-0" }).getByText("call-0", { exact: true }).click();
    const drawer = page.getByRole("dialog");
    await drawer.getByRole("heading", { name: "Retry chain" }).waitFor();
    await drawer.getByText("Handoff delivered").waitFor();
    assert((await drawer.getByRole("button", { name: /Retry|Reveal/ }).count()) === 0, "a history file offers retry or reveal");
    await shotWidths("12-history-file");
    await page.keyboard.press("Escape");
    await page.getByRole("tab", { name: "Audit trail" }).click();
    await page.getByText("integration.created").first().waitFor();
    const audit = await page.locator(".audit-details").allInnerTexts();
    assert(audit.length > 0 && audit.every((t) => !t.trim().startsWith("{")), `the audit trail shows raw JSON: ${audit[0]}`);
    await shot(page, "13-history-file-audit");
  });

  await step("no screen sends the user to the command line", async () => {
    const cli = /handoff-console|\s--[a-z]/;
    for (const [path, ready] of [
      ["/integrations", () => page.getByRole("cell", { name: /Clinic EMR/ }).first().waitFor()],
      ["/stats", () => page.getByRole("grid", { name: "Handoffs" }).waitFor()],
      ["/health", () => page.getByRole("heading", { name: "APIs" }).waitFor()],
      ["/tests", () => page.getByRole("heading", { name: "Test Panel" }).first().waitFor()],
    ]) {
      await page.goto(`${console_.base}${path}`);
      await ready();
      await page.evaluate(() => document.querySelectorAll("details").forEach((d) => (d.open = true)));
      const text = await page.locator("main").innerText();
      assert(!cli.test(text), `${path} tells the user to run a command: ${text.match(cli)?.[0]}`);
    }
  });

  await step("the dark theme applies and is remembered", async () => {
    await page.getByRole("button", { name: "Dark theme" }).click();
    await page.goto(`${console_.base}/stats`);
    await page.getByRole("grid", { name: "Handoffs" }).waitFor();
    const theme = await page.evaluate(() => document.documentElement.dataset.theme);
    assert(theme === "dark", `the theme is ${theme}`);
    await shot(page, "14-stats-dark");
    await page.goto(`${console_.base}/integrations`);
    await page.getByRole("cell", { name: /Clinic EMR/ }).first().waitFor();
    await shot(page, "15-integrations-dark");
  });

  assert(errors.length === 0, `the page threw: ${errors.join("; ")}`);

  // Intake (sources, mappings, the inbox) on a console of its own, from its first run.
  await runIntake(browser);
} catch (e) {
  failed = true;
  console.error(e);
  // What the page showed when the step failed, beside the other screenshots.
  if (page) await shot(page, "failed-step").catch(() => {});
} finally {
  await browser.close();
  console_.stop();
  await target.close();
}
console.log(`screenshots: ${shotsDir}`);
process.exit(failed ? 1 : 0);

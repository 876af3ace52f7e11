// End to end, in real Chromium against a real `serve`: sign in, create an API and a database
// integration, test one with generated data, send handoffs, watch the stats change, make one
// fail, retry it from the history, check health; a screenshot of every screen under target/e2e/.
// Usage: node ui/e2e/run.mjs   (HANDOFF_BIN: the console binary; default target/debug)
import { execFileSync } from "node:child_process";
import {
  assert,
  binary,
  countRows,
  launchBrowser,
  makeSqliteTarget,
  prepareShots,
  shot,
  shotsDir,
  startConsole,
  startTarget,
  step,
  tempDir,
} from "./harness.mjs";

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

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
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
  await step("create an API integration in the editor: a bad endpoint is shown at its input", async () => {
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
    await editor.getByLabel("Tries in all").fill("1");
    await editor.getByRole("button", { name: "Create integration" }).click();
    // The backend's problem, at the field it names.
    await page.waitForFunction(() => document.querySelector('[aria-invalid="true"]') !== null);
    const invalid = await editor.locator('[aria-invalid="true"]').first().inputValue();
    assert(invalid === "ftp://nowhere", `the error is not at the endpoint input (${invalid})`);
    await shot(page, "01-integration-editor-error");
    await editor.getByLabel("Endpoint").fill(`${target.url}/patients`);
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
    const fields = [
      ["fullName", "name"],
      ["email", "email"],
      ["phoneNumber", "phone"],
      ["appointmentDate", "date"],
      ["additionalNotes", "text"],
    ];
    for (const [i, [name, type]] of fields.entries()) {
      await editor.getByRole("button", { name: "Add field" }).click();
      await editor.getByLabel(`Field ${i + 1} name`).fill(name);
      await editor.getByLabel(`Field ${i + 1} type`).selectOption(type);
    }
    await editor.getByLabel("Field 1 required").check();
    await editor.getByRole("button", { name: "Load columns from the table" }).click();
    for (const [column, field] of [
      ["patient_name", "fullName"],
      ["email", "email"],
      ["phone", "phoneNumber"],
      ["appointment_date", "appointmentDate"],
      ["notes", "additionalNotes"],
    ]) {
      await editor.getByLabel(`Field filling column ${column}`).selectOption(field);
    }
    await shot(page, "02-integration-editor-mapping");
    await editor.getByRole("button", { name: "Create integration" }).click();
    await editor.waitFor({ state: "hidden" });
    await page.getByRole("cell", { name: /Clinic database/ }).first().waitFor();
    const list = await console_.api("GET", "/integrations");
    const db = list.find((i) => i.name === "Clinic database");
    assert(db, "the database integration was not saved");
    assert(db.config.database.fieldMapping.fullName === "patient_name", JSON.stringify(db.config.database));
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

  await step("the stats panel shows the handoffs", async () => {
    await page.getByRole("link", { name: "Stats" }).click();
    await page.getByRole("grid", { name: "Attempt history" }).waitFor();
    // 3 API and 2 database handoffs; a rolled-back test is not recorded.
    await page.waitForFunction(() => document.querySelector(".stats-cards .card .value")?.textContent === "5");
    assert((await cardValue("Success rate").textContent()) === "100%", "success rate");
    await page.getByRole("row").filter({ hasText: "call-db-1" }).waitFor();
    await shot(page, "05-stats");
  });

  await step("a handoff fails: the stats change and the failure shows in the history", async () => {
    target.failNext(1);
    const failedHandoff = await console_.api("POST", "/handoffs", {
      integration: apiId,
      sessionId: "call-fail",
      data: sample("Fay Gold"),
    });
    assert(!failedHandoff.success && failedHandoff.category === "server", JSON.stringify(failedHandoff));
    await page.getByRole("button", { name: "Refresh" }).click();
    await page.waitForFunction(() => document.querySelector(".stats-cards .card .value")?.textContent === "6");
    await page.getByLabel("Status").selectOption("failed");
    const row = page.getByRole("row").filter({ hasText: "call-fail" });
    await row.waitFor();
    assert((await page.getByRole("row").filter({ hasText: "call-" }).count()) === 1, "the failed filter shows one row");
    await shot(page, "06-stats-failure");
  });

  await step("retry it from the history: the retry is delivered", async () => {
    await page.getByRole("row").filter({ hasText: "call-fail" }).click();
    const drawer = page.getByRole("dialog");
    await drawer.getByRole("heading", { name: "Retry chain" }).waitFor();
    // The collected data is shown masked (the name is never in clear).
    assert(!(await drawer.innerText()).includes("Fay Gold"), "the drawer shows the raw name");
    await drawer.getByRole("button", { name: "Retry this handoff" }).click();
    await drawer.getByText(/Retry delivered/).waitFor();
    await shot(page, "07-stats-retried");
    await page.keyboard.press("Escape");
    await drawer.waitFor({ state: "hidden" });
    await page.getByLabel("Status").selectOption("succeeded");
    await page.getByRole("row").filter({ hasText: "call-fail" }).waitFor();
    const last = target.received.at(-1);
    assert(last && JSON.parse(last.body).name === "Fay Gold", "the retry re-sent the stored data");
  });

  await step("health checks run as a job and show every part with fresh results", async () => {
    const before = Date.now();
    await page.getByRole("link", { name: "Health" }).click();
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
    await page.getByText("Clinic database").first().waitFor();
    await shot(page, "08-health");
  });

  await step("an exported history file opens read-only in the viewer", async () => {
    const file = `${work}/export.history`;
    execFileSync(binary(), ["--data-dir", dataDir, "--secrets", "vault", "export", "--out", file], {
      env: { ...process.env, HANDOFF_VAULT_PASSPHRASE: "e2e passphrase" },
      stdio: ["ignore", "ignore", "inherit"],
    });
    await page.getByRole("link", { name: "History file" }).click();
    await page.getByLabel("Exported history file").setInputFiles(file);
    await page.getByRole("button", { name: "Open" }).click();
    await page.getByText("Read-only", { exact: true }).waitFor();
    await page.getByText("call-fail").first().waitFor();
    assert(!(await page.locator("main").innerText()).includes("Fay Gold"), "the history file shows a raw name");
    await shot(page, "09-history-file");
  });

  await step("the dark theme applies and is remembered", async () => {
    await page.getByRole("button", { name: "Dark theme" }).click();
    await page.goto(`${console_.base}/stats`);
    await page.getByRole("grid", { name: "Attempt history" }).waitFor();
    const theme = await page.evaluate(() => document.documentElement.dataset.theme);
    assert(theme === "dark", `the theme is ${theme}`);
    await shot(page, "10-stats-dark");
    await page.goto(`${console_.base}/integrations`);
    await page.getByRole("cell", { name: /Clinic EMR/ }).first().waitFor();
    await shot(page, "11-integrations-dark");
  });

  assert(errors.length === 0, `the page threw: ${errors.join("; ")}`);
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

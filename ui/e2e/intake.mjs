// End to end, intake (issue 16), in real Chromium against a real `serve` started without a
// listener option: as a clinic admin, create the demo workspace, turn the intake listener on
// from the Sources screen, add a source allowed to name the demo database (a bad name refused
// at its field first), see its secret once, add a mapping from the OpenDental "appointment
// booked" preset (its preview) and a manual one from the "cancelled" preset; send signed test
// events with the presets' samples; as support, see in the Inbox what is undelivered and what
// was delivered (into the demo's SQLite table), reveal a message (audited) and release the one
// a manual mapping holds; edit, disable, enable a source and rotate its secret. Screenshots
// under target/e2e/ (20-* to 30-*). run.mjs runs it after its own steps; alone:
// node ui/e2e/intake.mjs
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { assert, countRows, freePort, launchBrowser, shot, shotWidths, shotsDir, startConsole, step, tempDir } from "./harness.mjs";

/** No text tells the user to run a command (naming a server flag for IT is another matter,
 * and does not show while the listener is on). */
const CLI = /handoff-console|\s--[a-z]/;

export async function runIntake(browser) {
  const work = tempDir("handoff-e2e-intake-");
  const dataDir = join(work, "data");
  // No listener option: the admin turns the listener on from the Sources screen.
  const console_ = await startConsole(dataDir, { intake: false });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: console_.base });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const nav = (name) => page.getByRole("navigation", { name: "Screens" }).getByRole("link", { name, exact: true });
  const demoDb = join(dataDir, "demo", "clinic.db");
  try {
    await step("intake: as an admin, create the demo workspace", async () => {
      await page.goto(console_.signInUrl);
      await page.getByRole("button", { name: "Create the demo workspace" }).click();
      await page.getByRole("cell", { name: /Demo clinic database/ }).first().waitFor();
    });

    await step("intake: the listener is off at first; the admin turns it on from the Sources screen", async () => {
      await nav("Sources").click();
      await page.getByText("No sources yet").waitFor();
      const panel = page.getByRole("region", { name: "Intake listener" });
      await panel.getByText("Intake listener off").waitFor();
      assert(!CLI.test(await page.locator("main").innerText()), "the listener's note sends the admin to the command line");
      await shot(page, "20-listener-off");
      const bind = `127.0.0.1:${await freePort()}`;
      await panel.getByLabel("Listen on (address:port)").fill(bind);
      await panel.getByRole("button", { name: "Turn the listener on" }).click();
      await panel.getByText("Listening", { exact: true }).waitFor();
      const status = await console_.api("GET", "/intake-listener");
      assert(status.url === `http://${bind}/intake/v1/` && status.settings.enabled, JSON.stringify(status));
      console_.intakeUrl = status.url;
      // The listener answers: an unknown source is refused, as any sender's bad credentials are.
      const res = await fetch(`${status.url}nobody`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
      assert(res.status === 401, `the listener answered ${res.status}`);
    });

    let secret;
    await step("intake: add a source: a bad name is refused at its field, the endpoint shows as typed, the secret shows once", async () => {
      await page.getByText("No sources yet").waitFor();
      await page.getByText("Listening", { exact: true }).waitFor();
      await page.getByRole("button", { name: "Add source" }).click();
      const editor = page.getByRole("dialog", { name: "Add a source" });
      await editor.getByLabel("Name", { exact: true }).fill("Open Dental");
      // The verification's header fields show only for the modes that read a header.
      assert((await editor.getByLabel("Signature header").count()) === 0, "Standard Webhooks shows a header field");
      await editor.getByLabel("Verification").selectOption("hmacHex");
      await editor.getByLabel("Signature header").waitFor();
      assert((await editor.getByLabel("Signature header").inputValue()) === "X-Signature", "the HMAC header is not proposed");
      await editor.getByLabel("Verification").selectOption("standardWebhooks");
      await editor.getByLabel("Demo clinic database").check();
      await editor.getByRole("button", { name: "Add source" }).click();
      const name = editor.getByLabel("Name", { exact: true });
      await page.waitForFunction(() => document.querySelector("#in-name")?.getAttribute("aria-invalid") === "true");
      const nameError = await editor.locator("#in-name-err").innerText();
      assert(nameError.includes("lowercase"), `the name's problem: ${nameError}`);
      await shot(page, "21-source-editor-problem");
      await name.fill("opendental");
      const endpoint = await editor.getByTestId("endpoint-preview").innerText();
      assert(endpoint === `${console_.intakeUrl}opendental`, `the endpoint shown while typing: ${endpoint}`);
      await editor.getByRole("button", { name: "Add source" }).click();
      const shown = page.getByRole("alertdialog", { name: /the secret of opendental/ });
      await shown.waitFor();
      secret = await shown.getByLabel("Secret").inputValue();
      assert(secret.startsWith("whsec_"), "a Standard Webhooks secret is whsec_…");
      assert((await shown.innerText()).includes("it will not be shown again"), "no warning that the secret is shown once");
      await shown.getByRole("button", { name: "Copy" }).click();
      await shown.getByText(/Copied to the clipboard|press Ctrl\+C/).waitFor();
      await shot(page, "21-source-secret-once");
      await shown.getByRole("button", { name: /I have copied it/ }).click();
      await shown.waitFor({ state: "hidden" });
      assert(!(await page.content()).includes(secret), "the secret is still in the page after its dialog closed");
      const row = page.getByRole("row").filter({ hasText: "opendental" });
      await row.getByText(`${console_.intakeUrl}opendental`).waitFor();
      await row.getByText("Demo clinic database").waitFor();
      const api = await console_.api("GET", "/sources/opendental");
      assert(!JSON.stringify(api).includes(secret), "the API shows the secret again");
      await shotWidths(page, "22-sources");
    });

    await step("intake: add a mapping from the OpenDental 'appointment booked' preset: its sample previews as matched", async () => {
      await page.getByRole("row").filter({ hasText: "opendental" }).getByRole("link", { name: "Mappings" }).click();
      await page.getByText("has no mappings yet").waitFor();
      await page.getByRole("button", { name: "Add mapping" }).click();
      const editor = page.getByRole("dialog", { name: /Add a mapping to opendental/ });
      await editor.getByLabel("Preset").selectOption({ label: "OpenDental-style webhooks: Appointment booked" });
      // The source may name one integration: it is chosen.
      assert((await editor.getByLabel("Integration", { exact: true }).locator("option:checked").innerText()) === "Demo clinic database", "the integration is not chosen");
      await editor.getByText("Matched: this mapping takes the sample.").waitFor();
      const preview = editor.locator(".mapping-preview");
      await preview.getByRole("cell", { name: "Bruno Costa" }).waitFor();
      await preview.getByText("No problems").waitFor();
      // A date format that does not read the sample's date: the preview names the field, and
      // its row says it too.
      await editor.getByLabel("Field 3: transform 1: read as").fill("%d/%m/%Y");
      await preview.getByText("1 problem").waitFor();
      await editor.locator(".field-row").nth(2).getByText(/On the sample:/).waitFor();
      await shot(page, "23-mapping-editor-problem");
      await editor.getByLabel("Field 3: transform 1: read as").fill("%Y-%m-%d %H:%M:%S");
      await preview.getByText("No problems").waitFor();
      for (const width of [1024, 1400]) {
        await page.setViewportSize({ width, height: 1000 });
        await shot(page, `24-mapping-editor-${width}`);
      }
      await page.setViewportSize({ width: 1280, height: 900 });
      await editor.getByRole("button", { name: "Add mapping" }).click();
      await editor.waitFor({ state: "hidden" });
      await page.getByRole("row").filter({ hasText: "OpenDental appointment booked" }).getByText("realtime").waitFor();
    });

    await step("intake: a manual mapping from the 'cancelled' preset; a refused save shows its problem at the row", async () => {
      await page.getByRole("button", { name: "Add mapping" }).click();
      const editor = page.getByRole("dialog", { name: /Add a mapping to opendental/ });
      await editor.getByLabel("Preset").selectOption({ label: "OpenDental-style webhooks: Appointment cancelled (broken)" });
      await editor.getByText("Matched: this mapping takes the sample.").waitFor();
      await editor.getByLabel("Field 2: JSON pointer").fill("Patient/WirelessPhone");
      await editor.getByRole("button", { name: "Add mapping" }).click();
      const pointer = editor.getByLabel("Field 2: JSON pointer");
      await editor.locator('[aria-label="Field 2: JSON pointer"][aria-invalid="true"]').waitFor();
      const summary = await editor.locator(".problem-summary").innerText();
      assert(summary.includes("fields[1].value.pointer"), `the summary: ${summary}`);
      await pointer.fill("/Patient/WirelessPhone");
      assert(await editor.getByLabel(/Manual: waits in the Inbox/).isChecked(), "the cancelled preset is not manual");
      await editor.getByRole("button", { name: "Add mapping" }).click();
      await editor.waitFor({ state: "hidden" });
      await page.getByRole("row").filter({ hasText: "OpenDental appointment cancelled" }).getByText("manual").waitFor();
      await shotWidths(page, "25-mappings");
    });

    await step("intake: send signed test events with the presets' samples: one delivered into the demo database, one held", async () => {
      assert(countRows(demoDb) === 0, "the demo database has rows before any event");
      await nav("Sources").click();
      const row = page.getByRole("row").filter({ hasText: "opendental" });
      await row.getByRole("button", { name: /Send a signed test event/ }).click();
      const dialog = page.getByRole("dialog", { name: /Send a signed test event/ });
      await dialog.getByLabel("Fill from a preset's sample").selectOption({ label: "OpenDental-style webhooks: Appointment booked" });
      await dialog.getByRole("button", { name: "Send test event" }).click();
      await dialog.getByText(/Accepted/).waitFor();
      await dialog.getByText("Now:").waitFor();
      await dialog.locator(".test-answer .badge.delivered").waitFor();
      await shot(page, "26-test-event");
      assert(countRows(demoDb) === 1, `the delivered event made ${countRows(demoDb)} rows`);
      await dialog.getByLabel("Fill from a preset's sample").selectOption({ label: "OpenDental-style webhooks: Appointment cancelled (broken)" });
      await dialog.getByRole("button", { name: "Send another" }).click();
      await dialog.locator(".test-answer .badge.held").waitFor();
      await dialog.getByRole("link", { name: /in the Inbox/ }).click();
      await page.getByRole("heading", { name: "Inbox: opendental" }).waitFor();
    });

    await step("intake: as support, the Inbox says what is undelivered, shows a message masked, reveals it (audited), releases the held one", async () => {
      const counts = page.locator(".count-cards");
      const countOf = (status) => counts.locator(`.count-card.${status} .count-value`);
      await page.waitForFunction(() => document.querySelector(".count-card.mapped .count-value")?.textContent === "1");
      assert((await countOf("delivered").innerText()) === "1", "delivered count");
      await page.getByText("1 message from opendental not delivered: 1 mapped (on their way, or held for release).").waitFor();
      const held = page.getByRole("row").filter({ hasText: "mapped · held" });
      await held.waitFor();
      await held.getByText("OpenDental appointment cancelled").waitFor();
      await shotWidths(page, "27-inbox");

      const delivered = page.getByRole("row").filter({ has: page.locator(".badge.delivered") });
      await delivered.getByRole("button", { name: /Open the message/ }).click();
      const drawer = page.getByRole("dialog", { name: /Message from opendental/ });
      await drawer.getByText("Body (masked)").waitFor();
      const masked = await drawer.locator(".inbox-body").innerText();
      assert(masked.includes("•••"), "the masked body hides nothing");
      assert(!masked.includes("Bruno") && !masked.includes("310.7788"), `the masked body shows patient data: ${masked}`);
      await shot(page, "28-inbox-masked");
      for (const a of ["Release", "Reprocess", "Ignore"]) {
        assert(await drawer.getByRole("button", { name: a, exact: true }).isDisabled(), `${a} is offered on a delivered message`);
      }
      await drawer.getByRole("button", { name: "Reveal…" }).click();
      const ask = page.getByRole("alertdialog", { name: "Reveal the message as received?" });
      assert((await ask.innerText()).includes("audit trail"), "the reveal does not say it is audited");
      await ask.getByRole("button", { name: "Reveal" }).click();
      await drawer.getByText("Body (revealed, as received)").waitFor();
      assert((await drawer.locator(".inbox-body").innerText()).includes("Bruno"), "the revealed body is not the raw one");
      await shot(page, "28-inbox-revealed");
      // The handoff it became opens its session in Stats.
      await drawer.getByRole("link", { name: /^[0-9a-f-]{36}$/ }).click();
      await page.getByRole("grid", { name: "Handoffs" }).waitFor();
      assert(page.url().includes("/stats/sessions/"), `the handoff link went to ${page.url()}`);
      await page.goBack();

      await page.getByRole("row").filter({ hasText: "mapped · held" }).getByRole("button", { name: /Open the message/ }).click();
      const heldDrawer = page.getByRole("dialog", { name: /Message from opendental/ });
      await heldDrawer.getByText(/A manual mapping holds it/).waitFor();
      assert(!(await heldDrawer.getByRole("button", { name: "Ignore", exact: true }).isDisabled()), "Ignore is not offered on a held message");
      await heldDrawer.getByRole("button", { name: "Release", exact: true }).click();
      await heldDrawer.getByText(/^Released/).waitFor();
      await heldDrawer.locator(".inbox-state.delivered").waitFor();
      assert(await heldDrawer.getByRole("button", { name: "Release", exact: true }).isDisabled(), "Release is still offered after release");
      await page.keyboard.press("Escape");
      await heldDrawer.waitFor({ state: "hidden" });
      await page.waitForFunction(() => document.querySelector(".count-card.delivered .count-value")?.textContent === "2");
      await page.getByText("Nothing undelivered from opendental.").waitFor();
      assert(countRows(demoDb) === 2, `after the release the demo database has ${countRows(demoDb)} rows`);
      await shotWidths(page, "29-inbox-released");
    });

    await step("intake: edit a source's rate, disable it (a test event is then refused, saying why), enable it, rotate its secret", async () => {
      await nav("Sources").click();
      const row = page.getByRole("row").filter({ hasText: "opendental" });
      await row.getByText("Mappings (2)").waitFor();
      await row.getByRole("button", { name: "Edit opendental" }).click();
      const editor = page.getByRole("dialog", { name: "Edit opendental" });
      await editor.getByLabel("Rate (messages a minute)").fill("120");
      await editor.getByRole("button", { name: "Save changes" }).click();
      await editor.waitFor({ state: "hidden" });
      await row.getByText("120 / min").waitFor();
      await row.getByRole("button", { name: "Disable opendental" }).click();
      await row.getByText("disabled", { exact: true }).waitFor();
      await row.getByRole("button", { name: /Send a signed test event/ }).click();
      const dialog = page.getByRole("dialog", { name: /Send a signed test event/ });
      await dialog.getByRole("button", { name: "Send test event" }).click();
      const refused = await dialog.getByRole("alert").innerText();
      assert(refused.includes("disabled"), `a disabled source's test event: ${refused}`);
      await dialog.getByRole("button", { name: "Close" }).click();
      await row.getByRole("button", { name: "Enable opendental" }).click();
      await row.getByText("enabled", { exact: true }).waitFor();
      await row.getByRole("button", { name: "Rotate the secret of opendental" }).click();
      const ask = page.getByRole("alertdialog", { name: /Rotate the secret/ });
      await ask.getByLabel(/Keep accepting the old secret/).fill("1");
      await ask.getByRole("button", { name: "Rotate secret" }).click();
      const shown = page.getByRole("alertdialog", { name: /Secret rotated/ });
      const rotated = await shown.getByLabel("Secret").inputValue();
      assert(rotated.startsWith("whsec_") && rotated !== secret, "the rotated secret is not a new whsec_ secret");
      await shown.getByRole("button", { name: /I have copied it/ }).click();
      await row.getByText(/Previous secret accepted until/).waitFor();
      assert(!(await page.content()).includes(rotated), "the rotated secret is still in the page");
      const api = await console_.api("GET", "/sources/opendental");
      assert(api.ratePerMinute === 120 && api.enabled === true && api.previousSecretUntil, JSON.stringify(api));
    });

    await step("intake: no intake screen sends the user to the command line", async () => {
      for (const [path, ready] of [
        ["/sources", () => page.getByRole("row").filter({ hasText: "opendental" }).waitFor()],
        ["/mappings", () => page.getByRole("row").filter({ hasText: "OpenDental appointment booked" }).waitFor()],
        ["/inbox", () => page.locator(".inbox-table").waitFor()],
      ]) {
        await page.goto(`${console_.base}${path}`);
        await ready();
        const text = await page.locator("main").innerText();
        assert(!CLI.test(text), `${path} tells the user to run a command: ${text.match(CLI)?.[0]}`);
      }
      // The editor's preset text too.
      await page.goto(`${console_.base}/mappings/opendental`);
      await page.getByRole("button", { name: "Add mapping" }).click();
      const editor = page.getByRole("dialog", { name: /Add a mapping/ });
      await editor.getByLabel("Preset").selectOption({ label: "OpenDental-style webhooks: New patient" });
      const text = await editor.innerText();
      assert(!/`?mapping try`?/.test(text) && !CLI.test(text), "the preset's description names a CLI command");
    });

    await step("intake: Alt+8 opens the Inbox, Alt+6 Sources", async () => {
      await page.goto(`${console_.base}/integrations`);
      await page.getByRole("cell", { name: /Demo clinic database/ }).first().waitFor();
      await page.keyboard.press("Alt+8");
      await page.getByRole("heading", { name: /^Inbox/ }).waitFor();
      await page.keyboard.press("Alt+6");
      await page.getByRole("heading", { name: "Sources" }).waitFor();
      // And in the dark theme, the inbox's statuses stay apart.
      await page.getByRole("button", { name: "Dark theme" }).click();
      await page.goto(`${console_.base}/inbox`);
      await page.locator(".inbox-table").waitFor();
      await shot(page, "30-inbox-dark");
    });

    assert(errors.length === 0, `the page threw: ${errors.join("; ")}`);
  } catch (e) {
    await shot(page, "failed-intake-step").catch(() => {});
    throw e;
  } finally {
    await context.close();
    console_.stop();
  }
}

// Alone: its own browser, screenshots beside the others.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  mkdirSync(shotsDir, { recursive: true });
  const browser = await launchBrowser();
  let failed = false;
  try {
    await runIntake(browser);
  } catch (e) {
    failed = true;
    console.error(e);
  } finally {
    await browser.close();
  }
  console.log(`screenshots: ${shotsDir}`);
  process.exit(failed ? 1 : 0);
}

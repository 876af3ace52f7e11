import { launchBrowser, startConsole, startTarget, tempDir } from "./harness.mjs";
const out = "/tmp/walk";
const work = tempDir("walk-");
const target = await startTarget();
const c = await startConsole(`${work}/data`);
const browser = await launchBrowser();
try {
  const page = await (await browser.newContext({ viewport: { width: 1024, height: 1400 } })).newPage();
  await page.goto(c.signInUrl);
  await page.getByRole("button", { name: "Create the demo workspace" }).click();
  await page.getByRole("button", { name: "Send sample handoffs" }).click();
  await page.getByText(/Sent 2 sample handoffs/).waitFor();
  await page.screenshot({ path: `${out}/demo-sent.png` });
  await page.getByRole("button", { name: "See them in Stats" }).click();
  await page.getByRole("grid").waitFor();
  await page.waitForTimeout(6000);
  await page.getByRole("button", { name: "Refresh" }).click();
  await page.waitForTimeout(1500);
  await page.screenshot({ path: `${out}/demo-stats.png` });
  await page.getByRole("button", { name: "Every attempt" }).click();
  await page.waitForTimeout(1000);
  await page.screenshot({ path: `${out}/demo-attempts.png` });
  // 128 integrations, a few failing.
  target.failPath("/bad", true);
  for (let i = 0; i < 128; i++) {
    const bad = i % 20 === 3;
    const r = await c.api("POST", "/integrations", {
      name: `Clinic ${String(i).padStart(3, "0")}${bad ? " (failing)" : ""}`,
      kind: "api",
      fields: [{ name: "fullName", type: "name", required: true }],
      api: { endpoint: `${target.url}/${bad ? "bad" : "ok"}`, payloadStructure: { name: "{{fullName}}" } },
      retry: { maxAttempts: 1 },
    });
    for (let k = 0; k < (bad ? 3 : 1); k++) {
      await c.api("POST", "/handoffs", { integration: r.id, sessionId: `s-${i}-${k}`, data: { fullName: "Ann Lee" } });
    }
  }
  for (const width of [1024, 1400]) {
    await page.setViewportSize({ width, height: 1400 });
    await page.goto(`${c.base}/integrations`);
    await page.getByText("Clinic 003 (failing)").first().waitFor();
    await page.screenshot({ path: `${out}/integrations-128-${width}.png` });
    await page.goto(`${c.base}/health`);
    await page.getByRole("heading", { name: "APIs" }).waitFor();
    await page.screenshot({ path: `${out}/health-128-${width}.png` });
    await page.getByLabel("Status").selectOption("problems");
    await page.screenshot({ path: `${out}/health-128-problems-${width}.png` });
    await page.goto(`${c.base}/stats`);
    await page.getByRole("grid").waitFor();
    await page.waitForTimeout(800);
    await page.screenshot({ path: `${out}/stats-128-${width}.png` });
  }
  await page.goto(`${c.base}/health`);
  await page.getByRole("button", { name: "Run checks" }).click();
  await page.waitForTimeout(8000);
  await page.screenshot({ path: `${out}/health-128-run.png` });
} finally {
  await browser.close();
  c.stop();
  await target.close();
}

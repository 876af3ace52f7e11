// The desktop smoke test's probe (src-tauri/desktop/smoke.rs): injected only when
// HANDOFF_DESKTOP_SMOKE is set. Once the UI has rendered its navigation, it notes the time of
// the first frame that shows it, calls commands the way the UI does and hands everything to
// `smoke_report`, which writes the report and ends the app.
(function () {
  if (window.top !== window) return;
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  const error = (e) => (e && typeof e === "object" ? e : { message: String(e) });

  async function probe() {
    const report = { startedAtEpochMs: Date.now(), errors: [] };
    const deadline = Date.now() + 20000;
    while (!document.querySelector("nav a") && Date.now() < deadline) await wait(10);
    // The frame after the navigation exists is the first one that shows it.
    await frame();
    report.firstPaintEpochMs = performance.timeOrigin + performance.now();
    report.timeOriginEpochMs = performance.timeOrigin;
    report.paint = performance.getEntriesByType("paint").map((e) => ({ name: e.name, startTime: e.startTime }));
    report.location = location.href;
    report.title = document.title;
    report.viewport = { width: window.innerWidth, height: window.innerHeight };
    report.nav = Array.from(document.querySelectorAll("nav a")).map((a) => a.textContent.trim());
    report.bodyText = (document.body.innerText || "").slice(0, 4000);
    // The CSP is in force: no eval, no inline script.
    try {
      report.evalRan = (0, eval)("true");
    } catch (e) {
      report.evalRan = false;
    }
    const inline = document.createElement("script");
    inline.textContent = "window.__smokeInline = true;";
    document.head.appendChild(inline);
    await wait(50);
    report.inlineScriptRan = window.__smokeInline === true;
    const invoke = window.__TAURI_INTERNALS__ && window.__TAURI_INTERNALS__.invoke;
    if (!invoke) {
      report.errors.push("window.__TAURI_INTERNALS__.invoke is missing");
    } else {
      const call = async (key, cmd, args) => {
        try {
          report[key] = { ok: await invoke(cmd, args) };
        } catch (e) {
          report[key] = { error: error(e) };
        }
      };
      await call("info", "info", {});
      await call("integrations", "integrations", { request: {} });
      // A write, then the same read: the script compares it with what `serve` answers.
      await call("demo", "create_demo", {});
      await call("integrationsAfterDemo", "integrations", { request: {} });
      // Bad input comes back as the console's error object, not a string.
      await call("badInput", "attempt_view", { id: "not-an-id" });
      await call("badQuery", "history", { request: { colour: "red" } });
      // Not granted to the window (least privilege): Tauri refuses it.
      await call("denied", "plugin:window|set_title", { label: "main", value: "x" });
      // Wait for the UI's own first calls (over the same transport) to show their answer: the
      // first-run screen, or an error state.
      const settled = /No integrations yet|did not answer|Something went wrong|Not available/;
      const until = Date.now() + 5000;
      while (!settled.test(document.body.innerText || "") && Date.now() < until) await wait(50);
      report.bodyTextAfterCalls = (document.body.innerText || "").slice(0, 4000);
      try {
        await invoke("smoke_report", { report });
      } catch (e) {
        console.error("smoke_report failed", e);
      }
      if (window.__handoffSmokeSoak) await soak(invoke);
    }
  }

  // The leak check's workload (HANDOFF_DESKTOP_SMOKE_SOAK): the Stats panel used without end,
  // as a support person would through a long shift. The history grid is scrolled from the first
  // row to the last and back, the list switched between handoffs and attempts, and the panel
  // refreshed, until the benchmark ends the app.
  async function soak(invoke) {
    const byText = (selector, text) =>
      Array.from(document.querySelectorAll(selector)).find((e) => e.textContent.trim() === text);
    const stats = byText("nav a", "Stats");
    if (!stats) return;
    stats.click();
    let round = 0;
    for (;;) {
      const grid = document.querySelector('[role="grid"]');
      if (!grid) {
        await wait(200);
        continue;
      }
      // Down to the end three screens (42 rows) at a time, so every page of 100 rows is shown,
      // fetched and later dropped; then back up faster.
      for (let top = 0; top < grid.scrollHeight; top += 3 * grid.clientHeight) {
        grid.scrollTop = top;
        await wait(40);
      }
      for (let top = grid.scrollHeight; top > 0; top -= 10 * grid.clientHeight) {
        grid.scrollTop = top;
        await wait(40);
      }
      round += 1;
      const refresh = byText("button", "Refresh");
      if (refresh) refresh.click();
      const tab = byText('[aria-label="List"] button', round % 2 ? "Every attempt" : "Handoffs");
      if (tab) tab.click();
      // The report again, with the rounds so far: the benchmark reads them to know the work ran.
      try {
        await invoke("smoke_report", { report: { soakRounds: round, rows: grid.getAttribute("aria-rowcount") } });
      } catch (e) {
        console.error("smoke_report failed", e);
      }
      await wait(500);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => void probe());
  } else {
    void probe();
  }
})();

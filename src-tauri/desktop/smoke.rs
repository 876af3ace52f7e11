//! The desktop smoke test's hook, present only when `HANDOFF_DESKTOP_SMOKE=<file>` is set: a
//! probe script injected into the window (smoke.js) checks that the UI rendered and calls
//! commands through the real IPC; the `smoke_report` command writes what it saw (plus the
//! process's own timings) to the file and ends the app. In a normal run neither the script, nor
//! the command, nor its permission exists (see `commands::handler` and `CAPABILITY`).
//! `HANDOFF_DESKTOP_SMOKE_STAY=1` keeps the app open after the report (the benchmark measures
//! idle memory then). `HANDOFF_DESKTOP_SMOKE_SOAK=1` (with STAY) then has the probe use the Stats
//! panel without end: scrolling the history through every page, switching lists, refreshing
//! (`scripts/bench-desktop.sh --soak` samples the memory meanwhile).

use crate::error::AppError;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};
use tauri::{AppHandle, State};

/// How long the window stays after reporting (the smoke script's screenshot is taken then).
const EXIT_AFTER: std::time::Duration = std::time::Duration::from_millis(1500);
pub const ENV: &str = "HANDOFF_DESKTOP_SMOKE";
const SCRIPT: &str = include_str!("smoke.js");
/// Granted at run time in smoke mode only: the reporter, to the main window.
pub const CAPABILITY: &str = r#"{
  "identifier": "smoke",
  "description": "The smoke test's reporter (added at run time under HANDOFF_DESKTOP_SMOKE only)",
  "windows": ["main"],
  "local": true,
  "permissions": ["allow-smoke-report"]
}"#;

/// Where the report goes, and when the process started the window (ms since the epoch).
#[derive(Clone)]
pub struct Smoke {
    pub report: PathBuf,
    pub started_epoch_ms: f64,
    /// When the store and the secrets backend were open (they open beside WebKit's start).
    store_opened_epoch_ms: Arc<OnceLock<f64>>,
    pub stay: bool,
    pub soak: bool,
}

impl Smoke {
    /// Notes that the store is open now.
    pub fn store_opened(&self) {
        let _ = self.store_opened_epoch_ms.set(epoch_ms());
    }

    /// The probe injected into the window, told whether to soak after its report.
    pub fn script(&self) -> String {
        format!(
            "window.__handoffSmokeSoak = {};\n{SCRIPT}",
            self.stay && self.soak
        )
    }
}

pub fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// The smoke settings, if the environment asks for a smoke run.
pub fn from_env() -> Option<Smoke> {
    let report = std::env::var_os(ENV).filter(|v| !v.is_empty())?;
    Some(Smoke {
        report: PathBuf::from(report),
        started_epoch_ms: epoch_ms(),
        store_opened_epoch_ms: Arc::default(),
        stay: std::env::var("HANDOFF_DESKTOP_SMOKE_STAY").is_ok_and(|v| v == "1"),
        soak: std::env::var("HANDOFF_DESKTOP_SMOKE_SOAK").is_ok_and(|v| v == "1"),
    })
}

#[tauri::command]
pub fn smoke_report(
    app: AppHandle,
    smoke: State<'_, Smoke>,
    report: Value,
) -> Result<(), AppError> {
    let full = json!({
        "pid": std::process::id(),
        "windowStartEpochMs": smoke.started_epoch_ms,
        "storeOpenedEpochMs": smoke.store_opened_epoch_ms.get(),
        "reportedEpochMs": epoch_ms(),
        "ui": report,
    });
    let text = serde_json::to_vec_pretty(&full).map_err(AppError::internal)?;
    // Written whole then renamed, so that a watcher never reads half a report.
    let partial = smoke.report.with_extension("partial");
    std::fs::write(&partial, text)
        .and_then(|()| std::fs::rename(&partial, &smoke.report))
        .map_err(|e| AppError::internal(format!("cannot write {}: {e}", smoke.report.display())))?;
    tracing::info!("smoke: report written to {}", smoke.report.display());
    if !smoke.stay {
        // A moment on screen after the report, for the smoke script's screenshot.
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep(EXIT_AFTER).await;
            app.exit(0);
        });
    }
    Ok(())
}

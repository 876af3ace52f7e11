//! The window's Tauri commands: one per UI operation, named and shaped as `ui/src/api/client.ts`
//! calls them (`command`, `args`). Each does what its `/api/v1` handler does (http/routes.rs):
//! the same `App` method, the same JSON back; a failure reaches JS as the serialized
//! [`AppError`] (`{kind, field?, message, details?}`), which the UI's `ConsoleError.from` reads.
//!
//! Adding a command (3 lines): write `#[tauri::command] pub async fn name(...)` below, and add
//! `name` to the list in [`handler`]. build.rs reads the `#[tauri::command]` functions of this file and
//! grants each to the window (`allow-<name>` in the app's `default` permission set).

use crate::attempts::{AttemptPage, HandoffPage, HandoffRow};
use crate::error::AppError;
use crate::ids::HandoffId;
use crate::integrations::{self, Integration, SecretSlot};
use crate::service::requests::{
    ExportRequest, HandoffsQuery, HealthRunRequest, HistoryQuery, IntegrationsQuery, JobStarted,
    RetryRequest, RetryResponse, SendRequest, StatsQuery, TestRunRequest,
};
use crate::service::test_health_requests::{
    CheckedData, DeliveriesQuery, HealthHistoryQuery, TestCheckRequest, TestDataRequest,
};
use crate::service::{
    App, AttemptView, ColumnsRequest, HandoffResult, HistoryFileInfo, HistoryFiles, JobId,
    JobStatus, Jobs, TargetColumns,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::sync::Arc;
use tauri::State;

type Result<T> = std::result::Result<T, AppError>;

/// What every command reaches (Tauri managed state).
pub struct Console {
    pub app: Arc<App>,
    pub jobs: Jobs,
    /// Exported history files opened read-only (by path: the window needs no upload).
    pub files: HistoryFiles,
}

/// The invoke handler of the window: every command of this file, plus the smoke test's
/// reporter in smoke mode only (so that in a normal run it does not exist at all).
pub fn handler(smoke: bool) -> Box<dyn Fn(tauri::ipc::Invoke) -> bool + Send + Sync> {
    macro_rules! commands {
        ($($extra:path),*) => {
            tauri::generate_handler![
                info,
                list_integrations,
                show_integration,
                add_integration,
                update_integration,
                check_integration,
                remove_integration,
                set_secret,
                history,
                show_attempt,
                send,
                reveal,
                stats,
                last_health,
                run_health,
                run_test,
                retry,
                job,
                create_demo,
                generate_test_data,
                check_test_data,
                health_history,
                delivery_summaries,
                target_columns,
                demo_integrations,
                remove_demo,
                open_history_path,
                open_history_upload,
                history_file_attempts,
                history_file_stats,
                history_file_audit,
                close_history_file,
                history_page,
                attempt_view,
                history_csv,
                export_history,
                send_demo_samples,
                list_handoffs,
                handoffs_page,
                history_file_attempts_page,
                history_file_attempt_view,
                history_file_handoffs_page,
                $($extra),*
            ]
        };
    }
    if smoke {
        Box::new(commands![super::smoke::smoke_report])
    } else {
        Box::new(commands![])
    }
}

/// A JSON argument as a request type; its problems are `invalid` errors naming the field
/// (`request.sessionId`), as the HTTP adapter reports a body's. A missing or null argument is
/// the empty object (an absent query string over HTTP).
pub fn arg<T: DeserializeOwned>(name: &str, value: Option<Value>) -> Result<T> {
    let value = match value {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(v) => v,
    };
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." || path.is_empty() {
            name.to_string()
        } else {
            format!("{name}.{path}")
        };
        AppError::invalid(field, e.inner().to_string())
    })
}

fn parse_id<T: std::str::FromStr>(what: &str, s: &str) -> Result<T> {
    s.parse()
        .map_err(|_| AppError::invalid(what, format!("'{s}' is not an id")))
}

/// A config's text: an envelope, or a bare seed APIConfig/DatabaseConfig named by `name`, as
/// read with its problems (the service reports them together with validation's).
async fn config_from(text: String, name: Option<String>) -> Result<integrations::ConfigDraft> {
    crate::service::read_config_text(text, name, "config").await
}

// Sync: no I/O, so it runs on the main thread without a detour through the runtime.
#[tauri::command]
pub fn info(c: State<'_, Console>) -> Value {
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "dataDir": c.app.data_dir(),
        "readOnly": false,
    })
}

#[tauri::command]
pub async fn list_integrations(
    c: State<'_, Console>,
    query: Option<Value>,
) -> Result<Vec<Integration>> {
    let q: IntegrationsQuery = arg("query", query)?;
    c.app.integrations_query(&q).await
}

#[tauri::command]
pub async fn show_integration(c: State<'_, Console>, id: String) -> Result<Integration> {
    c.app.integration(&id).await
}

#[tauri::command]
pub async fn add_integration(
    c: State<'_, Console>,
    config: String,
    name: Option<String>,
) -> Result<Integration> {
    let config = config_from(config, name).await?;
    c.app.add_integration_from(config).await
}

#[tauri::command]
pub async fn update_integration(
    c: State<'_, Console>,
    id: String,
    config: String,
) -> Result<Integration> {
    let current = c.app.integration(&id).await?;
    let config = config_from(config, Some(current.name)).await?;
    c.app.update_integration_from(&id, config).await
}

#[tauri::command]
pub async fn check_integration(
    c: State<'_, Console>,
    config: String,
    id: Option<String>,
) -> Result<crate::service::ConfigChecked> {
    let name = match &id {
        Some(i) => Some(c.app.integration(i).await?.name),
        None => None,
    };
    let config = config_from(config, name).await?;
    c.app.check_integration_from(id.as_deref(), config).await
}

#[tauri::command]
pub async fn remove_integration(c: State<'_, Console>, id: String) -> Result<Integration> {
    c.app.remove_integration(&id).await
}

#[tauri::command]
pub async fn set_secret(
    c: State<'_, Console>,
    id: String,
    name: String,
    value: String,
) -> Result<Value> {
    let slot = SecretSlot::named(&name, "name")?;
    c.app.set_integration_secret(&id, slot, value).await?;
    Ok(json!({"ok": true}))
}

#[tauri::command]
pub async fn history(
    c: State<'_, Console>,
    query: Option<Value>,
) -> Result<Vec<crate::attempts::AttemptSummary>> {
    let q: HistoryQuery = arg("query", query)?;
    c.app.history_query(&q).await
}

#[tauri::command]
pub async fn show_attempt(c: State<'_, Console>, id: String) -> Result<AttemptView> {
    c.app.attempt_view(parse_id("id", &id)?).await
}

#[tauri::command]
pub async fn send(c: State<'_, Console>, request: Option<Value>) -> Result<HandoffResult> {
    let r: SendRequest = arg("request", request)?;
    c.app.send_request(r).await
}

#[tauri::command]
pub async fn reveal(c: State<'_, Console>, id: String) -> Result<Value> {
    let id: HandoffId = parse_id("id", &id)?;
    let data = c.app.reveal(id).await?;
    Ok(json!({ "handoffId": id, "data": data }))
}

#[tauri::command]
pub async fn stats(c: State<'_, Console>, query: Option<Value>) -> Result<crate::stats::Stats> {
    let q: StatsQuery = arg("query", query)?;
    c.app.stats_query(&q).await
}

#[tauri::command]
pub async fn last_health(c: State<'_, Console>) -> Result<crate::health::LastHealth> {
    c.app.last_health().await
}

#[tauri::command]
pub async fn run_health(c: State<'_, Console>, request: Option<Value>) -> Result<JobStarted> {
    let r: HealthRunRequest = arg("request", request)?;
    c.app.start_health(&c.jobs, r)
}

#[tauri::command]
pub async fn run_test(
    c: State<'_, Console>,
    request: Option<Value>,
) -> Result<crate::testing::TestReport> {
    let r: TestRunRequest = arg("request", request)?;
    c.app.test_request(r).await
}

#[tauri::command]
pub async fn retry(c: State<'_, Console>, request: Option<Value>) -> Result<RetryResponse> {
    let r: RetryRequest = arg("request", request)?;
    c.app.retry_request(&c.jobs, r).await
}

#[tauri::command]
pub async fn job(c: State<'_, Console>, id: JobId) -> Result<JobStatus> {
    c.jobs.status(id)
}

#[tauri::command]
pub async fn create_demo(c: State<'_, Console>) -> Result<Vec<Integration>> {
    c.app.create_demo().await
}

// --- tests & health ---

#[tauri::command]
pub async fn generate_test_data(
    c: State<'_, Console>,
    request: Option<Value>,
) -> Result<crate::testing::GeneratedData> {
    let r: TestDataRequest = arg("request", request)?;
    c.app.test_data_request(r).await
}

#[tauri::command]
pub async fn check_test_data(c: State<'_, Console>, request: Option<Value>) -> Result<CheckedData> {
    let r: TestCheckRequest = arg("request", request)?;
    c.app.test_check_request(r).await
}

#[tauri::command]
pub async fn health_history(
    c: State<'_, Console>,
    query: Option<Value>,
) -> Result<Vec<crate::health::HealthSnapshot>> {
    let q: HealthHistoryQuery = arg("query", query)?;
    c.app.health_history_query(&q).await
}

#[tauri::command]
pub async fn delivery_summaries(
    c: State<'_, Console>,
    query: Option<Value>,
) -> Result<Vec<crate::health::DeliverySummary>> {
    let q: DeliveriesQuery = arg("query", query)?;
    c.app.delivery_summaries_query(&q).await
}

// --- integrations ---

#[tauri::command]
pub async fn target_columns(
    c: State<'_, Console>,
    request: Option<Value>,
) -> Result<TargetColumns> {
    let r: ColumnsRequest = arg("request", request)?;
    c.app.target_columns(r).await
}

#[tauri::command]
pub async fn demo_integrations(c: State<'_, Console>) -> Result<Value> {
    let ids = c.app.demo_integration_ids().await?;
    Ok(json!({ "integrations": ids }))
}

#[tauri::command]
pub async fn remove_demo(c: State<'_, Console>) -> Result<crate::service::DemoRemoved> {
    c.app.remove_demo().await
}

#[tauri::command]
pub async fn send_demo_samples(c: State<'_, Console>) -> Result<crate::service::DemoSamples> {
    c.app.send_demo_samples().await
}

// --- history files ---

#[tauri::command]
pub async fn open_history_path(c: State<'_, Console>, path: String) -> Result<HistoryFileInfo> {
    c.files.open_path(std::path::Path::new(&path)).await
}

/// The window opens files where they are (`open_history_path`); uploading is the browser's way.
#[tauri::command]
pub async fn open_history_upload() -> Result<HistoryFileInfo> {
    Err(AppError::invalid(
        "file",
        "the desktop window opens a history file by its path, not by upload",
    ))
}

#[tauri::command]
pub async fn history_file_attempts(
    c: State<'_, Console>,
    id: String,
    query: Option<Value>,
) -> Result<Vec<crate::attempts::AttemptSummary>> {
    let q: HistoryQuery = arg("query", query)?;
    c.files.get(&id)?.history_query(&q).await
}

#[tauri::command]
pub async fn history_file_stats(
    c: State<'_, Console>,
    id: String,
    query: Option<Value>,
) -> Result<crate::stats::Stats> {
    let q: StatsQuery = arg("query", query)?;
    c.files.get(&id)?.stats_query(&q).await
}

#[tauri::command]
pub async fn history_file_audit(
    c: State<'_, Console>,
    id: String,
    limit: Option<u32>,
) -> Result<Vec<crate::audit::AuditEvent>> {
    let filter = crate::audit::AuditFilter {
        limit,
        ..Default::default()
    };
    c.files.get(&id)?.audit_log(&filter).await
}

#[tauri::command]
pub async fn history_file_attempts_page(
    c: State<'_, Console>,
    id: String,
    query: Option<Value>,
) -> Result<AttemptPage> {
    let q: HistoryQuery = arg("query", query)?;
    c.files.get(&id)?.history_page_query(&q).await
}

#[tauri::command]
pub async fn history_file_attempt_view(
    c: State<'_, Console>,
    id: String,
    attempt_id: String,
) -> Result<AttemptView> {
    let attempt = parse_id("attemptId", &attempt_id)?;
    c.files.get(&id)?.attempt_view(attempt).await
}

#[tauri::command]
pub async fn history_file_handoffs_page(
    c: State<'_, Console>,
    id: String,
    query: Option<Value>,
) -> Result<HandoffPage> {
    let q: HandoffsQuery = arg("query", query)?;
    c.files.get(&id)?.handoffs_page_query(&q).await
}

#[tauri::command]
pub async fn close_history_file(c: State<'_, Console>, id: String) -> Result<HistoryFileInfo> {
    c.files.close(&id).await
}

// --- stats ---

#[tauri::command]
pub async fn history_page(c: State<'_, Console>, query: Option<Value>) -> Result<AttemptPage> {
    let q: HistoryQuery = arg("query", query)?;
    c.app.history_page_query(&q).await
}

#[tauri::command]
pub async fn attempt_view(c: State<'_, Console>, id: String) -> Result<AttemptView> {
    c.app.attempt_view(parse_id("id", &id)?).await
}

#[tauri::command]
pub async fn list_handoffs(c: State<'_, Console>, query: Option<Value>) -> Result<Vec<HandoffRow>> {
    let q: HandoffsQuery = arg("query", query)?;
    c.app.handoffs_query(&q).await
}

#[tauri::command]
pub async fn handoffs_page(c: State<'_, Console>, query: Option<Value>) -> Result<HandoffPage> {
    let q: HandoffsQuery = arg("query", query)?;
    c.app.handoffs_page_query(&q).await
}

/// The CSV text (at most 100,000 rows here; `serve` streams up to a million).
#[tauri::command]
pub async fn history_csv(c: State<'_, Console>, query: Option<Value>) -> Result<String> {
    let q: HistoryQuery = arg("query", query)?;
    c.app.history_csv_query(&q).await
}

/// A history file as a job; the window writes it into the user's Downloads folder (the job's
/// `ExportResult` says where).
#[tauri::command]
pub async fn export_history(c: State<'_, Console>, request: Option<Value>) -> Result<JobStarted> {
    let r: ExportRequest = arg("request", request)?;
    c.app
        .start_export(&c.jobs, r, crate::service::ExportPlace::Downloads)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_argument_is_an_invalid_error_naming_the_field() {
        let e = arg::<HistoryQuery>("query", Some(json!({"limit": "many"}))).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Invalid);
        assert_eq!(e.field.as_deref(), Some("query.limit"));
        let e = arg::<SendRequest>("request", Some(json!({"integration": "x"}))).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("request"));
        assert!(e.message.contains("sessionId"), "{}", e.message);
    }

    #[test]
    fn a_typed_choice_that_is_not_one_names_its_field() {
        let e = arg::<HandoffsQuery>("query", Some(json!({"status": "done"}))).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("query.status"));
        assert!(e.message.contains("undelivered"), "{}", e.message);
        let e = arg::<HandoffsQuery>("query", Some(json!({"sort": "when"}))).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("query.sort"));
        let q: HandoffsQuery =
            arg("query", Some(json!({"status": "pending", "order": "asc"}))).unwrap();
        assert_eq!(q.status, Some(crate::attempts::HandoffState::Pending));
    }

    #[test]
    fn a_missing_query_is_the_empty_one() {
        let q: HistoryQuery = arg("query", None).unwrap();
        assert!(q.limit.is_none());
        let q: IntegrationsQuery = arg("query", Some(Value::Null)).unwrap();
        assert!(q.kind.is_none());
    }

    /// Every command the UI's client calls over Tauri exists here (and so, through build.rs,
    /// is granted to the window): a client method added without its command fails this test.
    #[test]
    fn every_command_the_client_calls_is_defined() {
        let client = include_str!("../../ui/src/api/client.ts");
        let commands = include_str!("commands.rs");
        let called: Vec<&str> = client
            .split("command: \"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert!(called.len() >= 18, "{called:?}");
        for name in called {
            let defined = commands.contains(&format!("pub async fn {name}("))
                || commands.contains(&format!("pub fn {name}("));
            let handled = commands.contains(&format!("                {name},\n"));
            assert!(
                defined && handled,
                "client.ts calls `{name}`: define it here and list it in handler()"
            );
        }
    }
}

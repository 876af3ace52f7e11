//! [`Console`]: what the UI's operations reach (the app, its jobs, the open history files), with
//! one method per operation of `operation_list.rs`, named as the operation. The HTTP API and the
//! window's commands are generated from that list and call these methods; the requests and
//! answers here are the ones the UI's generated client sends and reads.

use super::requests::{
    Changes, ChangesQuery, ExportRequest, HandoffsQuery, HealthRunRequest, HistoryQuery,
    IntegrationsQuery, JobStarted, RetryRequest, RetryResponse, SendRequest, StatsQuery,
    TestRunRequest,
};
use super::test_health_requests::{
    CheckedData, DeliveriesQuery, HealthHistoryQuery, TestCheckRequest, TestDataRequest,
};
use super::{
    App, AttemptView, ColumnsRequest, ConfigChecked, DemoRemoved, DemoSamples, ExportPlace,
    HandoffResult, HistoryFileInfo, HistoryFiles, InboxPage, InboxQuery, InboxRevealed, InboxView,
    IntakeAccepted, JobId, JobStatus, Jobs, ListenerStatus, MappingPreview, MappingRequest,
    MappingTry, MappingsQuery, RotateSecretRequest, SourceChange, SourceRequest, SourceSecret,
    TargetColumns, TestEventRequest,
};
use crate::attempts::{AttemptPage, AttemptSummary, HandoffPage, HandoffRow};
use crate::audit::{AuditEvent, AuditFilter};
use crate::error::AppError;
use crate::health::{DeliverySummary, HealthSnapshot, LastHealth};
use crate::ids::{AttemptId, HandoffId, InboxId, IntegrationId};
use crate::intake::inbox::InboxItem;
use crate::intake::listener::ListenerSettings;
use crate::intake::mappings::Mapping;
use crate::intake::presets::PresetSystem;
use crate::intake::sources::Source;
use crate::integrations::{Integration, SecretSlot};
use crate::stats::Stats;
use crate::testing::{GeneratedData, TestReport};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;

type Result<T> = std::result::Result<T, AppError>;

/// The console as the UI's operations see it.
pub struct Console {
    pub app: Arc<App>,
    /// Long work the UI watches; `serve` waits for it at shutdown.
    pub jobs: Jobs,
    /// Exported history files opened read-only.
    pub files: HistoryFiles,
    /// Where `export_history` writes: the data folder (served for download over HTTP) or the
    /// user's Downloads folder (the window).
    pub export_place: ExportPlace,
}

/// `info`: which console this is.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct ConsoleInfo {
    pub version: String,
    #[cfg_attr(test, ts(type = "string"))]
    pub data_dir: std::path::PathBuf,
    /// A history file opened with `--history-file` (nothing can change).
    pub read_only: bool,
    /// Where this console's intake listener answers (`http://addr/intake/v1/`), if it
    /// listens; a source's endpoint is this and its name.
    pub intake_url: Option<String>,
}

/// A config file's text (an envelope, or a bare seed APIConfig/DatabaseConfig), and the name a
/// bare one is saved under (a new integration only; an update keeps its name).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigText {
    /// The config's text: an envelope, or a bare seed config.
    pub config: String,
    /// The name a bare seed config is saved under.
    #[cfg_attr(test, ts(optional))]
    pub name: Option<String>,
}

/// A config to check as a save would: for a new integration, or for `id`, the one being edited
/// (its stored secrets and its own name are allowed).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigCheck {
    /// The config's text: an envelope, or a bare seed config.
    pub config: String,
    #[cfg_attr(test, ts(optional))]
    pub id: Option<String>,
    #[cfg_attr(test, ts(optional))]
    pub name: Option<String>,
}

/// One secret's value.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretValue {
    pub value: String,
}

/// Done, with nothing more to say.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct Done {
    pub ok: bool,
}

/// A handoff's collected data, unmasked.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Revealed {
    pub handoff_id: HandoffId,
    #[cfg_attr(test, ts(type = "Record<string, unknown>"))]
    pub data: serde_json::Value,
}

/// The demo workspace's integrations.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub struct DemoIntegrations {
    pub integrations: Vec<IntegrationId>,
}

/// A history file on this machine.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpenPath {
    pub path: String,
}

/// How much of an audit trail (newest first; default 100).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditQuery {
    #[cfg_attr(test, ts(optional))]
    pub limit: Option<u32>,
}

impl Console {
    pub fn new(app: Arc<App>, jobs: Jobs, export_place: ExportPlace) -> Self {
        let files = HistoryFiles::new(app.data_dir());
        Self {
            app,
            jobs,
            files,
            export_place,
        }
    }

    pub async fn info(&self) -> Result<ConsoleInfo> {
        Ok(ConsoleInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            data_dir: self.app.data_dir().to_path_buf(),
            read_only: false,
            intake_url: self.app.intake_url(),
        })
    }

    // --- integrations ---

    pub async fn integrations(&self, q: IntegrationsQuery) -> Result<Vec<Integration>> {
        self.app.integrations_query(&q).await
    }

    pub async fn integration(&self, id: String) -> Result<Integration> {
        self.app.integration(&id).await
    }

    pub async fn add_integration(&self, r: ConfigText) -> Result<Integration> {
        let draft = super::read_config_text(r.config, r.name, "config").await?;
        self.app.add_integration_from(draft).await
    }

    pub async fn update_integration(&self, id: String, r: ConfigText) -> Result<Integration> {
        let current = self.app.integration(&id).await?;
        if r.name.as_ref().is_some_and(|n| *n != current.name) {
            return Err(AppError::invalid(
                "name",
                "an update keeps the integration's name (it is in the config's envelope)",
            ));
        }
        let draft = super::read_config_text(r.config, Some(current.name), "config").await?;
        self.app.update_integration_from(&id, draft).await
    }

    pub async fn validate_integration(&self, r: ConfigCheck) -> Result<ConfigChecked> {
        // A bare seed config checked for an integration being edited takes its name, as its
        // update would.
        let name = match (r.name, &r.id) {
            (Some(n), _) => Some(n),
            (None, Some(id)) => Some(self.app.integration(id).await?.name),
            (None, None) => None,
        };
        let draft = super::read_config_text(r.config, name, "config").await?;
        self.app
            .check_integration_from(r.id.as_deref(), draft)
            .await
    }

    pub async fn remove_integration(&self, id: String) -> Result<Integration> {
        self.app.remove_integration(&id).await
    }

    pub async fn set_secret(&self, id: String, name: String, r: SecretValue) -> Result<Done> {
        let slot = SecretSlot::named(&name, "name")?;
        self.app.set_integration_secret(&id, slot, r.value).await?;
        Ok(Done { ok: true })
    }

    pub async fn target_columns(&self, r: ColumnsRequest) -> Result<TargetColumns> {
        self.app.target_columns(r).await
    }

    pub async fn deliveries(&self, q: DeliveriesQuery) -> Result<Vec<DeliverySummary>> {
        self.app.delivery_summaries_query(&q).await
    }

    // --- handoffs, attempts, retries ---

    pub async fn send(&self, r: SendRequest) -> Result<HandoffResult> {
        self.app.send_request(r).await
    }

    pub async fn handoffs(&self, q: HandoffsQuery) -> Result<Vec<HandoffRow>> {
        self.app.handoffs_query(&q).await
    }

    pub async fn handoffs_page(&self, q: HandoffsQuery) -> Result<HandoffPage> {
        self.app.handoffs_page_query(&q).await
    }

    pub async fn reveal(&self, id: HandoffId) -> Result<Revealed> {
        let data = self.app.reveal(id).await?;
        Ok(Revealed {
            handoff_id: id,
            data,
        })
    }

    pub async fn history(&self, q: HistoryQuery) -> Result<Vec<AttemptSummary>> {
        self.app.history_query(&q).await
    }

    pub async fn history_page(&self, q: HistoryQuery) -> Result<AttemptPage> {
        self.app.history_page_query(&q).await
    }

    pub async fn attempt_view(&self, id: AttemptId) -> Result<AttemptView> {
        self.app.attempt_view(id).await
    }

    pub async fn history_csv_text(&self, q: HistoryQuery) -> Result<String> {
        self.app.history_csv_query(&q).await
    }

    pub async fn retry(&self, r: RetryRequest) -> Result<RetryResponse> {
        self.app.retry_request(&self.jobs, r).await
    }

    // --- statistics, health, tests ---

    pub async fn stats(&self, q: StatsQuery) -> Result<Stats> {
        self.app.stats_query(&q).await
    }

    pub async fn changes(&self, q: ChangesQuery) -> Result<Changes> {
        let wait = q.wait()?;
        let state = self.app.store().changes_after(q.after, wait).await;
        Ok(Changes {
            version: state.version,
            live: state.live,
        })
    }

    pub async fn last_health(&self) -> Result<LastHealth> {
        self.app.last_health().await
    }

    pub async fn run_health(&self, r: HealthRunRequest) -> Result<JobStarted> {
        self.app.start_health(&self.jobs, r)
    }

    pub async fn health_history(&self, q: HealthHistoryQuery) -> Result<Vec<HealthSnapshot>> {
        self.app.health_history_query(&q).await
    }

    pub async fn run_test(&self, r: TestRunRequest) -> Result<TestReport> {
        self.app.test_request(r).await
    }

    pub async fn generate_test_data(&self, r: TestDataRequest) -> Result<GeneratedData> {
        self.app.test_data_request(r).await
    }

    pub async fn check_test_data(&self, r: TestCheckRequest) -> Result<CheckedData> {
        self.app.test_check_request(r).await
    }

    pub async fn job(&self, id: JobId) -> Result<JobStatus> {
        self.jobs.status(id)
    }

    // --- exports ---

    pub async fn export_history(&self, r: ExportRequest) -> Result<JobStarted> {
        self.app
            .start_export(&self.jobs, r, self.export_place)
            .await
    }

    // --- intake ---

    pub async fn sources(&self) -> Result<Vec<Source>> {
        self.app.sources().await
    }

    pub async fn source(&self, id: String) -> Result<Source> {
        self.app.source(&id).await
    }

    pub async fn add_source(&self, r: SourceRequest) -> Result<SourceSecret> {
        self.app.add_source(r).await
    }

    pub async fn update_source(&self, id: String, r: SourceChange) -> Result<Source> {
        self.app.update_source(&id, r).await
    }

    pub async fn remove_source(&self, id: String) -> Result<Source> {
        self.app.remove_source(&id).await
    }

    pub async fn intake_listener(&self) -> Result<ListenerStatus> {
        self.app.intake_listener().await
    }

    pub async fn set_intake_listener(&self, r: ListenerSettings) -> Result<ListenerStatus> {
        self.app.set_intake_listener(r).await
    }

    pub async fn send_test_event(&self, id: String, r: TestEventRequest) -> Result<IntakeAccepted> {
        self.app.send_test_event(&id, r).await
    }

    pub async fn rotate_source_secret(
        &self,
        id: String,
        r: RotateSecretRequest,
    ) -> Result<SourceSecret> {
        self.app.rotate_source_secret(&id, r).await
    }

    pub async fn inbox(&self, q: InboxQuery) -> Result<InboxPage> {
        self.app.inbox(&q).await
    }

    pub async fn inbox_item(&self, id: InboxId) -> Result<InboxView> {
        self.app.inbox_view(id).await
    }

    pub async fn reveal_inbox(&self, id: InboxId) -> Result<InboxRevealed> {
        self.app.reveal_inbox(id).await
    }

    pub async fn release_inbox(&self, id: InboxId) -> Result<InboxItem> {
        self.app.release_inbox(id).await
    }

    pub async fn reprocess_inbox(&self, id: InboxId) -> Result<InboxItem> {
        self.app.reprocess_inbox(id).await
    }

    pub async fn ignore_inbox(&self, id: InboxId) -> Result<InboxItem> {
        self.app.ignore_inbox(id).await
    }

    pub async fn mappings(&self, q: MappingsQuery) -> Result<Vec<Mapping>> {
        self.app.mappings(&q).await
    }

    pub async fn mapping(&self, id: String) -> Result<Mapping> {
        self.app.mapping(&id).await
    }

    pub async fn add_mapping(&self, r: MappingRequest) -> Result<Mapping> {
        self.app.add_mapping(r).await
    }

    pub async fn update_mapping(&self, id: String, r: MappingRequest) -> Result<Mapping> {
        self.app.update_mapping(&id, r).await
    }

    pub async fn remove_mapping(&self, id: String) -> Result<Mapping> {
        self.app.remove_mapping(&id).await
    }

    pub async fn try_mapping(&self, r: MappingTry) -> Result<MappingPreview> {
        self.app.try_mapping(r).await
    }

    pub async fn mapping_presets(&self) -> Result<Vec<PresetSystem>> {
        Ok(crate::intake::presets::presets().to_vec())
    }

    // --- the demo workspace ---

    pub async fn create_demo(&self) -> Result<Vec<Integration>> {
        self.app.create_demo().await
    }

    pub async fn demo_integrations(&self) -> Result<DemoIntegrations> {
        Ok(DemoIntegrations {
            integrations: self.app.demo_integration_ids().await?,
        })
    }

    pub async fn remove_demo(&self) -> Result<DemoRemoved> {
        self.app.remove_demo().await
    }

    pub async fn send_demo_samples(&self) -> Result<DemoSamples> {
        self.app.send_demo_samples().await
    }

    // --- exported history files ---

    pub async fn history_files(&self) -> Result<Vec<HistoryFileInfo>> {
        Ok(self.files.list())
    }

    pub async fn open_history_path(&self, r: OpenPath) -> Result<HistoryFileInfo> {
        self.files.open_path(Path::new(&r.path)).await
    }

    pub async fn close_history_file(&self, id: String) -> Result<HistoryFileInfo> {
        self.files.close(&id).await
    }

    pub async fn history_file_attempts(
        &self,
        id: String,
        q: HistoryQuery,
    ) -> Result<Vec<AttemptSummary>> {
        self.files.get(&id)?.history_query(&q).await
    }

    pub async fn history_file_attempts_page(
        &self,
        id: String,
        q: HistoryQuery,
    ) -> Result<AttemptPage> {
        self.files.get(&id)?.history_page_query(&q).await
    }

    pub async fn history_file_attempt_view(
        &self,
        id: String,
        attempt_id: AttemptId,
    ) -> Result<AttemptView> {
        self.files.get(&id)?.attempt_view(attempt_id).await
    }

    pub async fn history_file_handoffs_page(
        &self,
        id: String,
        q: HandoffsQuery,
    ) -> Result<HandoffPage> {
        self.files.get(&id)?.handoffs_page_query(&q).await
    }

    pub async fn history_file_stats(&self, id: String, q: StatsQuery) -> Result<Stats> {
        self.files.get(&id)?.stats_query(&q).await
    }

    pub async fn history_file_audit(&self, id: String, q: AuditQuery) -> Result<Vec<AuditEvent>> {
        let filter = AuditFilter {
            limit: q.limit,
            ..Default::default()
        };
        self.files.get(&id)?.audit_log(&filter).await
    }
}

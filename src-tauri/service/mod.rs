//! The service layer: [`App`], one async method per capability, and [`Console`], one method per
//! operation of the UI (declared once in `operation_list.rs`). The CLI, the HTTP API and the
//! window's commands are thin adapters over it: they parse input, call one method and show its
//! result or its [`AppError`].

mod audit;
mod columns;
mod console;
mod data;
mod demo;
mod export;
mod handoffs;
mod health;
pub mod history;
pub mod history_files;
mod inbox;
mod intake;
mod intake_seed;
mod integrations;
mod jobs;
mod key_bundles;
mod mappings;
pub mod operations;
pub mod requests;
mod secrets;
mod stats;
mod store;
pub mod test_health_requests;
mod testing;
pub mod time_arg;

pub use columns::{ColumnsRequest, TargetColumn, TargetColumns};
pub use console::Console;
pub use data::{KEEP_RETIRED, KeyRotation, RotationOptions};
pub use demo::{DemoRemoved, DemoSample, DemoSamples};
pub use export::{ExportPlace, ExportResult, KEEP_EXPORTS, is_export_name};
pub use handoffs::{BulkRetry, HandoffResult, SkippedRetry, WorkerPass};
pub use history::{AttemptView, CsvExport};
pub use history_files::{HistoryFileInfo, HistoryFiles};
pub use inbox::{HandoffBody, InboxPage, InboxQuery, InboxRevealed, InboxView};
pub use intake::{
    IntakeAccepted, ListenerHost, ListenerStatus, RotateSecretRequest, SourceChange, SourceRequest,
    SourceSecret, TestEventRequest,
};
pub use intake_seed::{SeedDatabaseBody, SeedPushBody, SeedTestAnswer, SeedTestBody};
pub use integrations::{ConfigChecked, read_config_text};
pub use jobs::{JobId, JobStatus, Jobs};
pub use key_bundles::{KeysExported, KeysImported};
pub use mappings::{MappingPreview, MappingRequest, MappingTry, MappingsQuery};
pub use secrets::SecretsReport;
pub use store::{
    StoreCopied, StorePasswordSet, StoreStatus, choose_store, copy_store, set_store_password,
    store_status,
};
pub use testing::{TEST_SESSION, TestData, TestRequest};

use crate::error::AppError;
use crate::ids::IntegrationId;
use crate::integrations::SecretSlot;
use crate::secrets::{BackendKind, ChosenBy, Secret, SecretsBackend, SecretsChoice, SecretsError};
use crate::store::postgres::StoreUrl;
use crate::store::{Store, StoreChoice};
use crate::targets::Targets;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Where the console keeps its store when no `--data-dir` is given: the OS app-data dir. With
/// no home folder to find it in, an error: the shared temp dir would put patients' data where
/// other users can reach it and the OS deletes it.
pub fn default_data_dir() -> Result<PathBuf, AppError> {
    dirs::data_dir()
        .map(|d| d.join("handoff-console"))
        .ok_or_else(|| {
            AppError::invalid(
                "--data-dir",
                "there is no home folder to keep the console's data in (HOME is not set and \
                 the user has none): give the folder with --data-dir or HANDOFF_DATA_DIR",
            )
        })
}

/// `host:pid:random`: unique per start (a restarted process on the same host, even with the
/// same pid, does not take up its predecessor's leases; they run out instead).
fn worker_name() -> String {
    let host = crate::audit::host_name().unwrap_or_else(|| "unknown-host".to_string());
    format!(
        "{host}:{}:{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

type SecretCache = HashMap<IntegrationId, (i64, Arc<BTreeMap<SecretSlot, Secret<String>>>)>;

/// The secrets backend and the store a console opens, chosen ([`App::choose`]) but not open.
pub struct OpenChoice {
    secrets: SecretsChoice,
    store: StoreChoice,
}

pub struct App {
    store: Store,
    secrets: Arc<dyn SecretsBackend>,
    /// Why `secrets` is the backend in use (for `secrets status`).
    secrets_chosen_by: ChosenBy,
    targets: Targets,
    /// Secrets read from the backend, per integration and version (its `updated_at`), so a
    /// handoff does not pay a keyring round trip; an update or a set secret bumps the version.
    secret_cache: Mutex<SecretCache>,
    data_dir: PathBuf,
    /// Who the audit entries this console writes name (see `service::audit`).
    actor: String,
    /// Data keys read from the secrets backend (see `service::data`).
    data_keys: data::DataKeys,
    sealing_cache: data::SealingCache,
    /// Intake sources as the listener uses them, and their rate limits.
    intake: intake::IntakeState,
    /// The name this console's leases carry (see [`App::worker_name`]).
    worker_name: String,
}

impl App {
    /// Opens the console's store (the one `HANDOFF_STORE_URL` or the data dir's setting names,
    /// else the local store in `data_dir`), migrating it, with the secrets backend chosen by
    /// `HANDOFF_SECRETS` or the setting (the OS keyring by default).
    pub async fn open(data_dir: &Path) -> Result<Self, AppError> {
        Self::open_chosen(data_dir, None, None).await
    }

    /// As [`App::open`], with the secrets backend and the store the CLI's `--secrets` and
    /// `--store` name first.
    pub async fn open_chosen(
        data_dir: &Path,
        secrets_flag: Option<BackendKind>,
        store_flag: Option<&str>,
    ) -> Result<Self, AppError> {
        let choice = Self::choose(data_dir, secrets_flag, store_flag)?;
        Self::open_choice(data_dir, choice).await
    }

    /// The first half of [`App::open_chosen`], which opens nothing: the secrets backend and the
    /// store the flags, the environment and the data dir's settings name, or the error that one
    /// of them names nothing (the window reports it before it opens).
    pub fn choose(
        data_dir: &Path,
        secrets_flag: Option<BackendKind>,
        store_flag: Option<&str>,
    ) -> Result<OpenChoice, AppError> {
        Ok(OpenChoice {
            secrets: SecretsChoice::resolve(secrets_flag, data_dir)?,
            store: StoreChoice::resolve(store_flag, data_dir)?,
        })
    }

    /// The second half of [`App::open_chosen`]: opens what `choice` names.
    pub async fn open_choice(data_dir: &Path, choice: OpenChoice) -> Result<Self, AppError> {
        let backend = choice.secrets.open(data_dir);
        Self::open_inner(data_dir, choice.store, backend, choice.secrets.chosen_by).await
    }

    /// Opens the local store with a secrets backend the caller made.
    pub async fn open_with(
        data_dir: &Path,
        secrets: Arc<dyn SecretsBackend>,
    ) -> Result<Self, AppError> {
        Self::open_inner(data_dir, StoreChoice::Local, secrets, ChosenBy::Caller).await
    }

    /// Opens the store `store` names with a secrets backend the caller made.
    pub async fn open_on(
        data_dir: &Path,
        store: StoreChoice,
        secrets: Arc<dyn SecretsBackend>,
    ) -> Result<Self, AppError> {
        Self::open_inner(data_dir, store, secrets, ChosenBy::Caller).await
    }

    async fn open_inner(
        data_dir: &Path,
        store: StoreChoice,
        secrets: Arc<dyn SecretsBackend>,
        secrets_chosen_by: ChosenBy,
    ) -> Result<Self, AppError> {
        let store = match store {
            StoreChoice::Local => {
                let store = Store::open(data_dir).await?;
                // The hot path's writes go through the journal (`store::journal`).
                if let Err(e) = crate::attempts::attach_journal(&store).await {
                    store.close().await;
                    return Err(e.into());
                }
                store
            }
            StoreChoice::Shared(url) => match store_password(&secrets, &url).await {
                Ok(password) => {
                    Store::open_shared(&url, password.as_ref().map(|p| p.expose().as_str())).await?
                }
                // A server that trusts this machine needs no password: the store may open all
                // the same; if it refuses for want of one, both reasons are given.
                Err(unreadable) => match Store::open_shared(&url, None).await {
                    Ok(store) => store,
                    Err(e @ crate::store::StoreError::Auth { .. }) => {
                        return Err(AppError::unavailable(format!(
                            "{e} — and its password could not be read from the secrets \
                             backend: {}",
                            unreadable.message
                        )));
                    }
                    Err(e) => return Err(e.into()),
                },
            },
        };
        // Written 0600 now; one written by an older console is tightened here.
        match crate::files::tighten(&data_dir.join(crate::secrets::SETTINGS_FILE)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                tracing::warn!("{} keeps its mode: {e}", crate::secrets::SETTINGS_FILE);
            }
            _ => {}
        }
        Ok(Self {
            store,
            secrets,
            secrets_chosen_by,
            targets: Targets::default(),
            secret_cache: Mutex::new(HashMap::new()),
            data_dir: data_dir.to_path_buf(),
            actor: crate::audit::os_actor(),
            data_keys: Default::default(),
            sealing_cache: Default::default(),
            intake: Default::default(),
            worker_name: worker_name(),
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The name the handoffs and inbox messages this console is working on are leased under
    /// (host, process id and a random part, new for every start): on a shared store, what
    /// another console's worker sees holding them, and never taken by a later process.
    pub fn worker_name(&self) -> &str {
        &self.worker_name
    }

    pub async fn close(&self) {
        self.store.close().await;
    }

    /// Runs a secrets-backend call on a blocking thread (backends make D-Bus round trips).
    async fn with_secrets<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn SecretsBackend) -> Result<T, SecretsError> + Send + 'static,
    ) -> Result<T, AppError> {
        let backend = Arc::clone(&self.secrets);
        tokio::task::spawn_blocking(move || f(backend.as_ref()))
            .await
            .map_err(AppError::internal)?
            .map_err(AppError::from)
    }
}

/// The shared store's password from the secrets backend; `None` when none was set (a server
/// that trusts this machine, or authenticates it by certificate, needs none).
async fn store_password(
    secrets: &Arc<dyn SecretsBackend>,
    url: &StoreUrl,
) -> Result<Option<Secret<String>>, AppError> {
    let backend = Arc::clone(secrets);
    let key = url.password_key();
    let found = tokio::task::spawn_blocking(move || backend.get(&key))
        .await
        .map_err(AppError::internal)?;
    match found {
        Ok(password) => Ok(Some(password)),
        Err(SecretsError::Missing { .. }) => Ok(None),
        Err(e) => Err(AppError::from(e)),
    }
}

/// The secrets-backend key of one secret of one integration.
fn secret_key(id: IntegrationId, slot: SecretSlot) -> String {
    format!("{id}/{}", slot.name())
}

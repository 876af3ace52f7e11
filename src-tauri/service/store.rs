//! Choosing the store and keeping the shared store's password: what runs before a store is
//! open (the password is needed to open one), so free functions over the data dir and the
//! secrets backend rather than methods of an [`App`](super::App).

use crate::error::AppError;
use crate::secrets::{BackendKind, Secret, SecretsChoice};
use crate::store::{StoreChoice, write_setting};
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

/// What `store set-password` did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StorePasswordSet {
    /// The store, as its URL (no password is ever in it).
    pub store: String,
    /// Where the password is kept: the secrets backend's name and its key there.
    pub backend: String,
    pub key: String,
}

/// What `store status` finds: which store, what chose it, whether it opens and takes writes at
/// this schema version, and whether this console holds its data key.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoreStatus {
    /// The store's file, or its URL (no password is ever in it).
    pub store: String,
    /// `local` or `postgres`.
    pub kind: &'static str,
    /// `--store`, `HANDOFF_STORE_URL`, `setting` or `default`.
    pub chosen_by: &'static str,
    pub opens: bool,
    /// Why it does not open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The console's `store` and `migrations` checks (as `health` runs them).
    pub checks: Vec<crate::health::LocalCheck>,
    /// The data key that seals new data, once one was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_key: Option<String>,
    /// Whether this console's secrets backend holds it (`None`: it could not be asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_key_held: Option<bool>,
}

impl StoreStatus {
    /// Whether everything is as it should be: it opens, its checks pass, and the data key (if
    /// any) is here.
    pub fn ok(&self) -> bool {
        self.opens
            && self
                .checks
                .iter()
                .all(|c| c.status == crate::health::HealthStatus::Healthy)
            && self.data_key_held != Some(false)
    }
}

/// Which store `--store`, `HANDOFF_STORE_URL` or the setting names, and how it is.
pub async fn store_status(
    data_dir: &Path,
    secrets_flag: Option<BackendKind>,
    store_flag: Option<&str>,
) -> Result<StoreStatus, AppError> {
    let (choice, chosen_by) = StoreChoice::resolve_by(store_flag, data_dir)?;
    let (store, kind) = match &choice {
        StoreChoice::Local => (
            data_dir
                .join(crate::store::STORE_FILE)
                .display()
                .to_string(),
            "local",
        ),
        StoreChoice::Shared(url) => (url.display(), "postgres"),
    };
    let mut status = StoreStatus {
        store,
        kind,
        chosen_by,
        opens: false,
        error: None,
        checks: Vec::new(),
        data_key: None,
        data_key_held: None,
    };
    let app = match super::App::open_chosen(data_dir, secrets_flag, store_flag).await {
        Ok(app) => app,
        Err(e) => {
            status.error = Some(e.message);
            return Ok(status);
        }
    };
    status.opens = true;
    status.checks = crate::health::check_store(app.store(), Duration::from_secs(10)).await;
    status.data_key = app.store().current_data_key().await?;
    if let Some(id) = &status.data_key {
        status.data_key_held = app.holds_data_key(id).await;
    }
    app.close().await;
    Ok(status)
}

/// Saves `value` (`local` or a store URL) as the data dir's `store` setting, after checking it.
pub fn choose_store(data_dir: &Path, value: &str) -> Result<StoreChoice, AppError> {
    let choice = StoreChoice::parse("store", value)?;
    write_setting(data_dir, &choice)?;
    Ok(choice)
}

/// Keeps `password` in the secrets backend for the shared store `url` names (else the store
/// `--store`, `HANDOFF_STORE_URL` or the setting names), where opening it finds it.
pub async fn set_store_password(
    data_dir: &Path,
    secrets_flag: Option<BackendKind>,
    store_flag: Option<&str>,
    url: Option<&str>,
    password: Secret<String>,
) -> Result<StorePasswordSet, AppError> {
    let choice = match url {
        Some(url) => StoreChoice::parse("URL", url)?,
        None => StoreChoice::resolve(store_flag, data_dir)?,
    };
    let StoreChoice::Shared(url) = choice else {
        return Err(AppError::invalid(
            "URL",
            "the local store has no password: name a postgres:// store (the argument, \
             --store, HANDOFF_STORE_URL or `store use`)",
        ));
    };
    if password.expose().is_empty() {
        return Err(AppError::invalid(
            "password",
            "is empty: give the store's password on stdin",
        ));
    }
    let secrets = SecretsChoice::resolve(secrets_flag, data_dir)?.open(data_dir);
    let key = url.password_key();
    let backend = secrets.name().to_string();
    let put = key.clone();
    tokio::task::spawn_blocking(move || secrets.set(&put, &password))
        .await
        .map_err(AppError::internal)??;
    Ok(StorePasswordSet {
        store: url.display(),
        backend,
        key,
    })
}

/// What `store copy` did: the copy's report, and whether the statistics of both stores agree.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoreCopied {
    #[serde(flatten)]
    pub report: crate::store::copy::CopyReport,
    /// The statistics (attempts and handoffs by status, failures by category) read the same
    /// on both stores: the target's rollups, made by its triggers, agree with the source's.
    pub stats_match: bool,
    /// The figures that differ (`attempts failed: 3 ≠ 2`), when they do.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mismatches: Vec<String>,
    /// The data key that seals new data in the target, and whether this console's secrets
    /// backend holds it (consoles on the target need it to reveal, retry and take new data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_key_held: Option<bool>,
}

impl StoreCopied {
    /// Every count and figure agrees.
    pub fn ok(&self) -> bool {
        self.report.counts_match && self.stats_match
    }
}

/// `store copy`: copies the local store in the data dir `from` into the PostgreSQL store `to`
/// (else the one `--store`, `HANDOFF_STORE_URL` or the setting names), then compares the counts
/// and the statistics of both. The source is opened as a console would (migrated to this
/// version); nothing else in it changes.
pub async fn copy_store(
    data_dir: &Path,
    secrets_flag: Option<BackendKind>,
    store_flag: Option<&str>,
    from: &Path,
    to: Option<&str>,
    progress: impl FnMut(crate::store::copy::CopyProgress<'_>),
) -> Result<StoreCopied, AppError> {
    let target = match to {
        Some(url) => StoreChoice::parse("--to", url)?,
        None => StoreChoice::resolve(store_flag, data_dir)?,
    };
    if !matches!(target, StoreChoice::Shared(_)) {
        return Err(AppError::invalid(
            "--to",
            "the copy goes into a PostgreSQL store: give its URL \
             (postgres://USER@HOST[:PORT]/DATABASE), or name it with --store, \
             HANDOFF_STORE_URL or `store use`",
        ));
    }
    let file = from.join(crate::store::STORE_FILE);
    if !file.is_file() {
        return Err(AppError::invalid(
            "--from",
            format!(
                "{} holds no local store ({} is not there): give the data dir of the console \
                 whose history to copy",
                from.display(),
                crate::store::STORE_FILE
            ),
        ));
    }
    let secrets = SecretsChoice::resolve(secrets_flag, data_dir)?.open(data_dir);
    let source = super::App::open_on(from, StoreChoice::Local, secrets.clone()).await?;
    let target = match super::App::open_on(data_dir, target, secrets).await {
        Ok(app) => app,
        Err(e) => {
            source.close().await;
            return Err(e);
        }
    };
    let result = async {
        let report = source.store().copy_into(target.store(), progress).await?;
        let all = crate::stats::StatsFilter::default();
        let (a, b) = (
            source.stats(&all, true).await?,
            target.stats(&all, true).await?,
        );
        let mut mismatches = Vec::new();
        let mut compare = |what: &str, x: u64, y: u64| {
            if x != y {
                mismatches.push(format!("{what}: {x} in the source, {y} in the target"));
            }
        };
        compare("attempts", a.total, b.total);
        compare("attempts succeeded", a.succeeded, b.succeeded);
        compare("attempts failed", a.failed, b.failed);
        compare("attempts pending", a.pending, b.pending);
        compare("handoffs", a.handoffs.total, b.handoffs.total);
        compare(
            "handoffs delivered",
            a.handoffs.delivered,
            b.handoffs.delivered,
        );
        compare(
            "handoffs undelivered",
            a.handoffs.undelivered,
            b.handoffs.undelivered,
        );
        for (category, n) in &a.failures_by_category {
            let m = b.failures_by_category.get(category).copied().unwrap_or(0);
            compare(&format!("failures ({category})"), *n, m);
        }
        let data_key = target.store().current_data_key().await?;
        let data_key_held = match &data_key {
            Some(id) => target.holds_data_key(id).await,
            None => None,
        };
        Ok::<_, AppError>(StoreCopied {
            report,
            stats_match: mismatches.is_empty(),
            mismatches,
            data_key,
            data_key_held,
        })
    }
    .await;
    source.close().await;
    target.close().await;
    result
}

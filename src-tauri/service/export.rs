//! Offline history: exporting it to a file, and opening such a file read-only.

use super::App;
use crate::audit::{AuditObject, AuditRecord};
use crate::error::AppError;
use crate::export::{self, ExportFilter, ExportSummary};
use crate::secrets::{Secret, SecretsBackend, SecretsError};
use crate::store::Store;
use crate::targets::Targets;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The secrets backend of a history file: there are no secrets in one.
struct NoSecrets;

impl SecretsBackend for NoSecrets {
    fn name(&self) -> &'static str {
        "none (history file)"
    }
    fn set(&self, _: &str, _: &Secret<String>) -> Result<(), SecretsError> {
        Err(SecretsError::Unavailable(
            "a history file is read-only and holds no secrets".into(),
        ))
    }
    fn get(&self, key: &str) -> Result<Secret<String>, SecretsError> {
        Err(SecretsError::Missing { what: key.into() })
    }
    fn delete(&self, _: &str) -> Result<(), SecretsError> {
        Ok(())
    }
}

impl App {
    /// Writes the history matching `filter` to a new self-contained file (masked data,
    /// redacted configs, no secrets), reporting progress as `(handoffs done, total)`.
    pub async fn export_history(
        &self,
        out: &Path,
        filter: &ExportFilter,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<ExportSummary, AppError> {
        let summary = self.store.export(out, filter, progress).await?;
        let integration = match filter.integration {
            Some(id) => {
                let name = self.store.integration(id).await?.map(|i| i.name);
                Some(AuditObject::integration(
                    id,
                    name.as_deref().unwrap_or("(removed)"),
                ))
            }
            None => None,
        };
        // The file exists now: a failure to record is logged, not reported as a failed export.
        self.record_audit_after(AuditRecord::HistoryExported {
            integration,
            filter: serde_json::json!({
                "integration": filter.integration,
                "sinceMs": filter.since_ms,
                "untilMs": filter.until_ms,
            }),
            destination: Some(summary.path.display().to_string()),
            rows: summary.attempts,
        })
        .await;
        Ok(summary)
    }

    /// Opens a history export read-only: history, stats and attempts can be read; nothing
    /// can be sent, changed or revealed. Needs no keyring and no network.
    pub async fn open_history(path: &Path) -> Result<Self, AppError> {
        export::check_history_file(path)?;
        let store = Store::open_read_only(path).await?;
        Ok(Self {
            store,
            secrets: Arc::new(NoSecrets),
            secrets_chosen_by: crate::secrets::ChosenBy::Caller,
            actor: crate::audit::os_actor(),
            data_keys: Default::default(),
            sealing_cache: Default::default(),
            targets: Targets::default(),
            secret_cache: Mutex::new(HashMap::new()),
            data_dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
        })
    }
}

//! The secrets backend as the user sees it: which one is in use, why, and whether it can give
//! secrets now (`secrets status`); and the setting that chooses it (`secrets use`).

use super::App;
use crate::error::AppError;
use crate::secrets::{BackendKind, ChosenBy, SecretsStatus};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct SecretsReport {
    /// `keyring` or `vault`.
    pub backend: &'static str,
    pub chosen_by: ChosenBy,
    #[serde(flatten)]
    pub status: SecretsStatus,
}

impl App {
    /// Which backend is in use and whether it answers within `timeout` (a D-Bus call to a
    /// hung Secret Service must not hang the command). Never reads an integration's secret.
    pub async fn secrets_status(&self, timeout: Duration) -> SecretsReport {
        let backend = Arc::clone(&self.secrets);
        let name = backend.name();
        let probe = tokio::task::spawn_blocking(move || backend.status());
        let status = match tokio::time::timeout(timeout, probe).await {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => SecretsStatus {
                available: false,
                detail: format!("the {name} check stopped: {e}"),
                path: None,
                entries: None,
            },
            Err(_) => SecretsStatus {
                available: false,
                detail: format!(
                    "the {name} did not answer within {} ms",
                    timeout.as_millis()
                ),
                path: None,
                entries: None,
            },
        };
        SecretsReport {
            backend: name,
            chosen_by: self.secrets_chosen_by,
            status,
        }
    }

    /// Saves the `secrets` setting in the data dir; later processes use `backend` unless
    /// `--secrets` or `HANDOFF_SECRETS` says otherwise. Secrets are not copied between
    /// backends.
    pub fn choose_secrets_backend(&self, backend: BackendKind) -> Result<(), AppError> {
        Ok(crate::secrets::write_setting(&self.data_dir, backend)?)
    }
}

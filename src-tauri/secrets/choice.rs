//! Which secrets backend a console uses, and why: the `--secrets` flag, else `HANDOFF_SECRETS`,
//! else the `secrets` setting in `<data dir>/settings.json`, else the OS keyring. The choice is
//! explicit: a backend that fails is reported as failing, never swapped for the other.

use super::{KeyringBackend, SecretsBackend, SecretsError, VaultBackend};
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

/// The environment variable that chooses the backend (below `--secrets`, above the setting).
pub const SECRETS_ENV: &str = "HANDOFF_SECRETS";
/// The data dir's settings file; `{"secrets": "vault"}` chooses the vault.
pub use crate::settings::SETTINGS_FILE;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub enum BackendKind {
    Keyring,
    Vault,
}

impl BackendKind {
    pub const ALL: [Self; 2] = [Self::Keyring, Self::Vault];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Keyring => "keyring",
            Self::Vault => "vault",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Where the choice came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub enum ChosenBy {
    Flag,
    Env,
    Setting,
    Default,
    /// A program embedding the console passed its backend ([`crate::App::open_with`]).
    Caller,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct SecretsChoice {
    pub backend: BackendKind,
    pub chosen_by: ChosenBy,
}

impl SecretsChoice {
    /// Resolves the choice: `flag` (the CLI's `--secrets`), then the environment, then the
    /// setting, then the keyring. A value that names no backend is an error, not a default.
    pub fn resolve(flag: Option<BackendKind>, data_dir: &Path) -> Result<Self, SecretsError> {
        let chosen = |backend, chosen_by| Ok(Self { backend, chosen_by });
        if let Some(backend) = flag {
            return chosen(backend, ChosenBy::Flag);
        }
        match std::env::var(SECRETS_ENV) {
            Ok(v) if !v.is_empty() => {
                return chosen(parse_choice(SECRETS_ENV, &v)?, ChosenBy::Env);
            }
            _ => {}
        }
        match read_setting(data_dir)? {
            Some(backend) => chosen(backend, ChosenBy::Setting),
            None => chosen(BackendKind::Keyring, ChosenBy::Default),
        }
    }

    /// The chosen backend; nothing is touched until a secret is needed.
    pub fn open(&self, data_dir: &Path) -> Arc<dyn SecretsBackend> {
        match self.backend {
            BackendKind::Keyring => Arc::new(KeyringBackend),
            BackendKind::Vault => Arc::new(VaultBackend::from_env(data_dir)),
        }
    }
}

fn parse_choice(field: &str, value: &str) -> Result<BackendKind, SecretsError> {
    BackendKind::parse(value).ok_or_else(|| SecretsError::Choice {
        field: field.to_string(),
        reason: format!("'{value}' is not a secrets backend; use keyring or vault"),
    })
}

/// The `secrets` setting, if the settings file has one.
fn read_setting(data_dir: &Path) -> Result<Option<BackendKind>, SecretsError> {
    let field = format!("{} (secrets)", data_dir.join(SETTINGS_FILE).display());
    let problem = |reason: String| SecretsError::Choice {
        field: field.clone(),
        reason,
    };
    match crate::settings::read_key(data_dir, "secrets").map_err(problem)? {
        None => Ok(None),
        Some(serde_json::Value::String(s)) => parse_choice(&field, &s).map(Some),
        Some(other) => Err(problem(format!(
            "{other} is not a secrets backend; use \"keyring\" or \"vault\""
        ))),
    }
}

/// Saves the `secrets` setting, keeping the file's other settings.
pub(crate) fn write_setting(data_dir: &Path, backend: BackendKind) -> Result<(), SecretsError> {
    crate::settings::write_key(data_dir, "secrets", backend.as_str().into()).map_err(|reason| {
        SecretsError::Choice {
            field: data_dir.join(SETTINGS_FILE).display().to_string(),
            reason,
        }
    })
}

//! Which secrets backend a console uses, and why: the `--secrets` flag, else `HANDOFF_SECRETS`,
//! else the `secrets` setting in `<data dir>/settings.json`, else the OS keyring. The choice is
//! explicit: a backend that fails is reported as failing, never swapped for the other.

use super::{KeyringBackend, SecretsBackend, SecretsError, VaultBackend};
use serde::Serialize;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// The environment variable that chooses the backend (below `--secrets`, above the setting).
pub const SECRETS_ENV: &str = "HANDOFF_SECRETS";
/// The data dir's settings file; `{"secrets": "vault"}` chooses the vault.
pub const SETTINGS_FILE: &str = "settings.json";
const MAX_SETTINGS_BYTES: u64 = 64 * 1024;

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
    let path = data_dir.join(SETTINGS_FILE);
    let field = format!("{} (secrets)", path.display());
    let problem = |reason: String| SecretsError::Choice {
        field: field.clone(),
        reason,
    };
    let mut text = String::new();
    match std::fs::File::open(&path) {
        Ok(f) => f
            .take(MAX_SETTINGS_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| problem(format!("cannot be read: {e}")))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(problem(format!("cannot be read: {e}"))),
    };
    if text.len() as u64 > MAX_SETTINGS_BYTES {
        return Err(problem(format!(
            "the file is larger than {MAX_SETTINGS_BYTES} bytes"
        )));
    }
    let settings: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| problem(format!("not valid JSON: {e}")))?;
    match settings.get("secrets") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => parse_choice(&field, s).map(Some),
        Some(other) => Err(problem(format!(
            "{other} is not a secrets backend; use \"keyring\" or \"vault\""
        ))),
    }
}

/// Saves the `secrets` setting, keeping the file's other settings.
pub(crate) fn write_setting(data_dir: &Path, backend: BackendKind) -> Result<(), SecretsError> {
    let path = data_dir.join(SETTINGS_FILE);
    let field = path.display().to_string();
    let problem = |reason: String| SecretsError::Choice {
        field: field.clone(),
        reason,
    };
    let mut settings = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text)
            .map_err(|e| problem(format!("not a JSON object: {e}")))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::Map::new(),
        Err(e) => return Err(problem(format!("cannot be read: {e}"))),
    };
    settings.insert("secrets".into(), backend.as_str().into());
    let text = serde_json::to_string_pretty(&settings).map_err(|e| problem(e.to_string()))?;
    let tmp = path.with_extension("json.tmp");
    crate::files::private_dir(data_dir)
        .and_then(|()| crate::files::write_private(&tmp, (text + "\n").as_bytes()))
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| problem(format!("cannot be written: {e}")))
}

//! Secrets: where credentials live (never in the store, logs or output) and the [`Secret`]
//! wrapper that keeps them out of `Debug`, `Display` and serialised output by construction.
//!
//! Backends implement [`SecretsBackend`]: the OS keyring (the default) and the encrypted-file
//! vault for headless machines. Which one is used is chosen explicitly ([`SecretsChoice`]) and
//! never switched behind the user's back.

mod choice;
mod keyring;
pub mod redact;
mod vault;

pub(crate) use self::choice::write_setting;
pub use self::choice::{BackendKind, ChosenBy, SECRETS_ENV, SETTINGS_FILE, SecretsChoice};
pub use self::keyring::KeyringBackend;
pub(crate) use self::vault::Kdf;
pub use self::vault::{MAX_VAULT_BYTES, PASSPHRASE_ENV, VAULT_FILE, VaultBackend};

use serde::{Serialize, Serializer};
use std::fmt;
use std::path::PathBuf;
use zeroize::Zeroize;

/// A secret value. The only way to read it is [`Secret::expose`]; it is wiped on drop.
#[derive(Clone)]
pub struct Secret<T: Zeroize>(T);

impl<T: Zeroize> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T: Zeroize> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T: Zeroize> Serialize for Secret<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error(
        "no secret stored for {what}; set it again (integration set-secret, or integration update with the credential)"
    )]
    Missing { what: String },
    #[error(
        "the OS keyring is not reachable ({0}); start a Secret Service (e.g. gnome-keyring), or choose the encrypted-file vault explicitly (--secrets vault, or HANDOFF_SECRETS=vault, with HANDOFF_VAULT_PASSPHRASE)"
    )]
    Unavailable(String),
    #[error("the OS keyring is locked ({0}); unlock it and try again")]
    Locked(String),
    #[error("the OS keyring failed: {0}")]
    Backend(String),
    #[error(
        "the secrets vault needs a passphrase: set HANDOFF_VAULT_PASSPHRASE (or choose the OS keyring with --secrets keyring)"
    )]
    PassphraseNotSet,
    #[error(
        "the secrets vault at {path} does not open with this passphrase: HANDOFF_VAULT_PASSPHRASE is not the one it was created with"
    )]
    WrongPassphrase { path: String },
    #[error(
        "the secrets vault at {path} is damaged or was tampered with ({reason}); restore it from a backup, or move it aside and set the secrets again"
    )]
    VaultDamaged { path: String, reason: String },
    #[error("the secrets vault at {path} cannot be used: {reason}")]
    VaultUnreadable { path: String, reason: String },
    #[error(
        "the secrets vault at {path} would grow past {limit} bytes; remove integrations that are no longer used"
    )]
    VaultFull { path: String, limit: usize },
    /// `--secrets`, `HANDOFF_SECRETS` or the setting names no backend (or cannot be read).
    #[error("{field}: {reason}")]
    Choice { field: String, reason: String },
}

/// What `secrets status` shows about a backend (beside which one it is and why).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct SecretsStatus {
    /// The backend answers and can give secrets now.
    pub available: bool,
    /// Why it is (not) available, in words.
    pub detail: String,
    /// The vault's file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// How many secrets the vault holds (the keyring cannot say without listing others').
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<usize>,
}

/// A key no integration uses: reading it touches the backend and nothing else.
pub const PROBE_KEY: &str = "health-check/probe";

/// A place to keep named secrets. Calls may block (D-Bus round trips): call from a blocking task.
pub trait SecretsBackend: Send + Sync {
    /// What the backend is, for status output.
    fn name(&self) -> &'static str;
    fn set(&self, key: &str, value: &Secret<String>) -> Result<(), SecretsError>;
    fn get(&self, key: &str) -> Result<Secret<String>, SecretsError>;
    /// Deleting a key that does not exist is not an error.
    fn delete(&self, key: &str) -> Result<(), SecretsError>;
    /// Whether the backend can give secrets now: by default a harmless read of
    /// [`PROBE_KEY`], where "no such entry" means it answered.
    fn status(&self) -> SecretsStatus {
        let (available, detail) = match self.get(PROBE_KEY) {
            Ok(_) | Err(SecretsError::Missing { .. }) => {
                (true, format!("the {} answers", self.name()))
            }
            Err(e) => (false, e.to_string()),
        };
        SecretsStatus {
            available,
            detail,
            path: None,
            entries: None,
        }
    }
}

impl From<SecretsError> for crate::error::AppError {
    fn from(e: SecretsError) -> Self {
        use SecretsError as S;
        // The passphrase and the choice are configuration the caller fixes (exit 2); a
        // keyring that is down or locked, or a vault that cannot be read or is damaged, is
        // the environment (exit 1).
        match e {
            S::Missing { .. } => {
                crate::error::AppError::new(crate::error::ErrorKind::NotFound, e.to_string())
            }
            S::PassphraseNotSet | S::WrongPassphrase { .. } => crate::error::AppError {
                field: Some(PASSPHRASE_ENV.to_string()),
                ..crate::error::AppError::new(crate::error::ErrorKind::Invalid, e.to_string())
            },
            S::Choice { field, reason } => crate::error::AppError::invalid(field, reason),
            S::VaultFull { .. } => {
                crate::error::AppError::new(crate::error::ErrorKind::Invalid, e.to_string())
            }
            S::Unavailable(_)
            | S::Locked(_)
            | S::VaultDamaged { .. }
            | S::VaultUnreadable { .. } => crate::error::AppError::unavailable(e.to_string()),
            S::Backend(_) => crate::error::AppError::internal(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints_its_value() {
        let s = Secret::new("hunter2".to_string());
        assert_eq!(format!("{s:?} {s}"), "*** ***");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"***\"");
        assert_eq!(s.expose(), "hunter2");
    }
}

//! The OS keyring backend: Secret Service on Linux (through the keyring crate's zbus store),
//! Keychain on macOS, Credential Manager on Windows. Entries are under the service
//! `handoff-console`, one per key.

use super::{Secret, SecretsBackend, SecretsError};

pub const SERVICE: &str = "handoff-console";

#[derive(Debug, Default)]
pub struct KeyringBackend;

fn map_err(e: keyring::Error, key: &str) -> SecretsError {
    use keyring::Error as E;
    match e {
        E::NoEntry => SecretsError::Missing {
            what: key.to_string(),
        },
        E::NoStorageAccess(inner) => SecretsError::Locked(inner.to_string()),
        E::NoDefaultStore => {
            SecretsError::Unavailable("no credential store could be opened".into())
        }
        E::PlatformFailure(inner) => SecretsError::Unavailable(inner.to_string()),
        other => SecretsError::Backend(other.to_string()),
    }
}

fn entry(key: &str) -> Result<keyring::Entry, SecretsError> {
    keyring::Entry::new(SERVICE, key).map_err(|e| map_err(e, key))
}

impl SecretsBackend for KeyringBackend {
    fn name(&self) -> &'static str {
        "keyring"
    }

    fn set(&self, key: &str, value: &Secret<String>) -> Result<(), SecretsError> {
        entry(key)?
            .set_password(value.expose())
            .map_err(|e| map_err(e, key))
    }

    fn get(&self, key: &str) -> Result<Secret<String>, SecretsError> {
        entry(key)?
            .get_password()
            .map(Secret::new)
            .map_err(|e| map_err(e, key))
    }

    fn delete(&self, key: &str) -> Result<(), SecretsError> {
        match entry(key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_err(e, key)),
        }
    }
}

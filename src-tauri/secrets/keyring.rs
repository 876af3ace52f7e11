//! The OS keyring backend: Secret Service on Linux (through the keyring crate's zbus store),
//! Keychain on macOS, Credential Manager on Windows. Entries are under the service
//! `handoff-console`, one per key.
//!
//! The keyring crate sets its store up once per process and keeps a failure for good, so a
//! long-running console (`serve`, the window, the worker) started before the Secret Service
//! would never reach it. On the Secret Service platforms the console makes the store itself:
//! a connection that cannot be made is not kept (the next call tries again), and one that
//! stops working (the service was restarted: its session is gone) is dropped and made again
//! once within the same call.

use super::{Secret, SecretsBackend, SecretsError};
use keyring_core::Error as KeyringError;

pub const SERVICE: &str = "handoff-console";

#[derive(Debug, Default)]
pub struct KeyringBackend;

fn map_err(e: KeyringError, key: &str) -> SecretsError {
    use KeyringError as E;
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

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
mod store {
    use super::{KeyringError, SERVICE};
    use keyring_core::Entry;
    use keyring_core::api::CredentialStoreApi;
    use std::sync::{Arc, Mutex};
    use zbus_secret_service_keyring_store::Store;

    /// The process's connection to the Secret Service, once one was made.
    static STORE: Mutex<Option<Arc<Store>>> = Mutex::new(None);

    fn cached() -> std::sync::MutexGuard<'static, Option<Arc<Store>>> {
        STORE.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The store, and whether it was made by this call.
    fn store() -> Result<(Arc<Store>, bool), KeyringError> {
        let mut slot = cached();
        if let Some(s) = slot.as_ref() {
            return Ok((Arc::clone(s), false));
        }
        // A failure is returned, not kept: the service may be up at the next call.
        let made = Store::new()?;
        *slot = Some(Arc::clone(&made));
        Ok((made, true))
    }

    /// Drops `store` (unless another call already replaced it).
    fn forget(store: &Arc<Store>) {
        let mut slot = cached();
        if slot.as_ref().is_some_and(|s| Arc::ptr_eq(s, store)) {
            *slot = None;
        }
    }

    /// The connection failed (the service is gone or was restarted), as opposed to an answer
    /// (no entry, locked): only then is a new connection worth making.
    fn connection_failed(e: &KeyringError) -> bool {
        matches!(e, KeyringError::PlatformFailure(_))
    }

    /// Runs `op` on the entry `key`, connecting again once when a connection made earlier has
    /// stopped working. Every operation here is safe to repeat (set, get, delete).
    pub(super) fn with_entry<T>(
        key: &str,
        op: impl Fn(&Entry) -> Result<T, KeyringError>,
    ) -> Result<T, KeyringError> {
        let attempt = |store: &Arc<Store>| {
            let result = store.build(SERVICE, key, None).and_then(|e| op(&e));
            if let Err(e) = &result
                && connection_failed(e)
            {
                forget(store);
            }
            result
        };
        let (first, fresh) = store()?;
        match attempt(&first) {
            Err(e) if connection_failed(&e) && !fresh => {
                tracing::info!("the Secret Service connection stopped working; connecting again");
                let (again, _) = store()?;
                attempt(&again)
            }
            other => other,
        }
    }
}

#[cfg(not(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
)))]
mod store {
    use super::{KeyringError, SERVICE};
    use keyring_core::Entry;

    /// Keychain and Credential Manager through the keyring crate's own set-up (opening them does
    /// not depend on a service that may start later).
    pub(super) fn with_entry<T>(
        key: &str,
        op: impl Fn(&Entry) -> Result<T, KeyringError>,
    ) -> Result<T, KeyringError> {
        let entry = keyring::Entry::new(SERVICE, key)?;
        op(&entry.inner)
    }
}

impl SecretsBackend for KeyringBackend {
    fn name(&self) -> &'static str {
        "keyring"
    }

    fn set(&self, key: &str, value: &Secret<String>) -> Result<(), SecretsError> {
        store::with_entry(key, |e| e.set_password(value.expose())).map_err(|e| map_err(e, key))
    }

    fn get(&self, key: &str) -> Result<Secret<String>, SecretsError> {
        store::with_entry(key, |e| e.get_password())
            .map(Secret::new)
            .map_err(|e| map_err(e, key))
    }

    fn delete(&self, key: &str) -> Result<(), SecretsError> {
        match store::with_entry(key, |e| e.delete_credential()) {
            Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
            Err(e) => Err(map_err(e, key)),
        }
    }
}

//! Secrets: where credentials live (never in the store, logs or output) and the [`Secret`]
//! wrapper that keeps them out of `Debug`, `Display` and serialised output by construction.
//!
//! Backends implement [`SecretsBackend`]. The OS keyring is the one there is today; the
//! encrypted-file vault for headless machines joins it behind the same trait.

mod keyring;

pub use self::keyring::KeyringBackend;

use serde::{Serialize, Serializer};
use std::fmt;
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
    #[error("no secret stored for {what}; set it again (integration update with the credential)")]
    Missing { what: String },
    #[error(
        "the OS keyring is not reachable ({0}); start a Secret Service (e.g. gnome-keyring) or run where one is available"
    )]
    Unavailable(String),
    #[error("the OS keyring is locked ({0}); unlock it and try again")]
    Locked(String),
    #[error("the OS keyring failed: {0}")]
    Backend(String),
}

/// A place to keep named secrets. Calls may block (D-Bus round trips): call from a blocking task.
pub trait SecretsBackend: Send + Sync {
    /// What the backend is, for status output.
    fn name(&self) -> &'static str;
    fn set(&self, key: &str, value: &Secret<String>) -> Result<(), SecretsError>;
    fn get(&self, key: &str) -> Result<Secret<String>, SecretsError>;
    /// Deleting a key that does not exist is not an error.
    fn delete(&self, key: &str) -> Result<(), SecretsError>;
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

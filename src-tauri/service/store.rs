//! Choosing the store and keeping the shared store's password: what runs before a store is
//! open (the password is needed to open one), so free functions over the data dir and the
//! secrets backend rather than methods of an [`App`](super::App).

use crate::error::AppError;
use crate::secrets::{BackendKind, Secret, SecretsChoice};
use crate::store::{StoreChoice, write_setting};
use serde::Serialize;
use std::path::Path;

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

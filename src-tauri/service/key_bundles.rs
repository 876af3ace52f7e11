//! `keys export` / `keys import`: moving the store's data keys between secrets backends (another
//! machine's console on a shared store, a store copied to another data dir) in a bundle sealed
//! by a passphrase (`crypto::bundle`). Import never replaces a different key of the same id.

use super::App;
use crate::audit::AuditRecord;
use crate::crypto::{self, DataKey, bundle};
use crate::error::AppError;
use crate::secrets::Secret;
use serde::Serialize;
use std::path::Path;

/// What `keys export` wrote.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeysExported {
    pub path: String,
    /// The ids of the keys in the bundle (the current one first).
    pub keys: Vec<String>,
    /// Keys the store names that this secrets backend does not hold (not in the bundle).
    pub missing: Vec<String>,
}

/// What `keys import` did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeysImported {
    /// Keys written to the secrets backend.
    pub added: Vec<String>,
    /// Keys it held already (the same key).
    pub already: Vec<String>,
}

fn bundle_error(field: &str, e: bundle::BundleError) -> AppError {
    AppError::invalid(field, e.to_string())
}

impl App {
    /// Writes every data key the store names (current and retired) that the secrets backend
    /// holds to a new file at `out`, sealed under `passphrase`.
    pub async fn export_data_keys(
        &self,
        out: &Path,
        passphrase: Secret<String>,
    ) -> Result<KeysExported, AppError> {
        let mut ids: Vec<String> = self.store.current_data_key().await?.into_iter().collect();
        ids.extend(
            self.store
                .retired_data_keys()
                .await?
                .into_iter()
                .map(|(id, _)| id),
        );
        let (mut keys, mut missing) = (Vec::new(), Vec::new());
        for id in ids {
            let name = crypto::backend_key(&id);
            match self.with_secrets(move |b| b.get(&name)).await {
                Ok(key) => keys.push((id, key)),
                Err(e) if e.kind == crate::ErrorKind::NotFound => missing.push(id),
                Err(e) => return Err(e),
            }
        }
        if keys.is_empty() {
            return Err(AppError::invalid(
                "keys",
                if missing.is_empty() {
                    "the store has no data key yet: nothing has been sealed".to_string()
                } else {
                    format!(
                        "this secrets backend ({}) holds none of the store's data keys ({})",
                        self.secrets.name(),
                        missing.join(", ")
                    )
                },
            ));
        }
        // Argon2id takes tens of milliseconds and 19 MiB: off the runtime's threads.
        let sealed = {
            let keys = keys.clone();
            tokio::task::spawn_blocking(move || bundle::seal(&keys, &passphrase))
                .await
                .map_err(AppError::internal)?
                .map_err(|e| bundle_error("passphrase", e))?
        };
        write_new(out, sealed.as_bytes())?;
        let ids: Vec<String> = keys.into_iter().map(|(id, _)| id).collect();
        let path = out.display().to_string();
        self.record_audit_after(AuditRecord::KeysExported {
            keys: ids.clone(),
            destination: path.clone(),
        })
        .await;
        Ok(KeysExported {
            path,
            keys: ids,
            missing,
        })
    }

    /// Adds the keys of the bundle at `file` (opened with `passphrase`) to the secrets backend.
    /// Nothing is written when any of them conflicts with a different key of the same id.
    pub async fn import_data_keys(
        &self,
        file: &Path,
        passphrase: Secret<String>,
    ) -> Result<KeysImported, AppError> {
        let text = read_bounded(file)?;
        let keys = tokio::task::spawn_blocking(move || bundle::open(&text, &passphrase))
            .await
            .map_err(AppError::internal)?
            .map_err(|e| match e {
                bundle::BundleError::Malformed(_) => bundle_error("file", e),
                _ => bundle_error("passphrase", e),
            })?;
        let (mut added, mut already, mut to_add) = (Vec::new(), Vec::new(), Vec::new());
        for (id, key) in keys {
            // A key of the wrong shape is refused before anything is written.
            DataKey::import(&id, &key).map_err(|e| AppError::invalid("file", e.to_string()))?;
            let name = crypto::backend_key(&id);
            match self.with_secrets(move |b| b.get(&name)).await {
                Ok(held) if held.expose() == key.expose() => already.push(id),
                Ok(_) => {
                    return Err(AppError::new(
                        crate::ErrorKind::Conflict,
                        format!(
                            "this secrets backend ({}) holds a different data key with the id \
                             {id}: it is never replaced, and nothing was imported",
                            self.secrets.name()
                        ),
                    ));
                }
                Err(e) if e.kind == crate::ErrorKind::NotFound => to_add.push((id, key)),
                Err(e) => return Err(e),
            }
        }
        for (id, key) in to_add {
            let name = crypto::backend_key(&id);
            self.with_secrets(move |b| b.set(&name, &key)).await?;
            added.push(id);
        }
        // A key that was missing may be the current one now held: look it up again.
        *self.sealing_cache.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.record_audit_after(AuditRecord::KeysImported {
            added: added.clone(),
            already: already.clone(),
        })
        .await;
        Ok(KeysImported { added, already })
    }
}

/// Writes `bytes` to a new file at `path`, readable by its owner only; an existing file is
/// never replaced.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), AppError> {
    use std::io::Write;
    let fail = |e: std::io::Error| AppError::invalid("--to", format!("{}: {e}", path.display()));
    let mut file = crate::files::private_options()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                AppError::invalid(
                    "--to",
                    format!(
                        "{} exists: a key bundle never replaces a file",
                        path.display()
                    ),
                )
            } else {
                fail(e)
            }
        })?;
    if let Err(e) = file.write_all(bytes).and_then(|()| file.sync_all()) {
        let _ = std::fs::remove_file(path);
        return Err(fail(e));
    }
    Ok(())
}

fn read_bounded(path: &Path) -> Result<String, AppError> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| {
            f.take(bundle::MAX_BUNDLE_BYTES as u64 + 1)
                .read_to_string(&mut text)
        })
        .map_err(|e| AppError::invalid("file", format!("cannot read {}: {e}", path.display())))?;
    Ok(text)
}

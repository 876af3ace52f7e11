//! The console's own parts: `store` (the store's path still names the file the console opened,
//! and it takes a write), `migrations` (the applied
//! ones are the ones this build embeds) and `secrets` (the secrets backend answers).
//! The intake listener joins these when it exists (it is not built yet).

use super::{HealthStatus, LocalCheck};
use crate::secrets::{PROBE_KEY, SecretsBackend, SecretsError};
use crate::store::{Dialect, Store, StoreError, on_backend};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

fn local(name: &str, status: HealthStatus, reason: Option<String>) -> LocalCheck {
    LocalCheck {
        name: name.to_string(),
        status,
        reason,
    }
}

/// `store` and `migrations`.
pub(crate) async fn check_store(store: &Store, timeout: Duration) -> Vec<LocalCheck> {
    let writable = match tokio::time::timeout(timeout, write_probe(store)).await {
        Ok(Ok(())) => local("store", HealthStatus::Healthy, None),
        // Its own words: it says what happened and what to do.
        Ok(Err(e @ StoreError::Replaced { .. })) => {
            local("store", HealthStatus::Error, Some(e.to_string()))
        }
        Ok(Err(e @ StoreError::Unavailable(_))) => local(
            "store",
            HealthStatus::Error,
            Some(format!(
                "the store at {} cannot be written: {e}",
                store.location()
            )),
        ),
        Ok(Err(e)) => local(
            "store",
            HealthStatus::Error,
            Some(format!(
                "the store at {} cannot be written: {e} — check the disk space and the data \
                 folder's permissions",
                store.location()
            )),
        ),
        Err(_) => local(
            "store",
            HealthStatus::Error,
            Some(format!(
                "the store did not take a write within {} ms: another process may hold it",
                timeout.as_millis()
            )),
        ),
    };
    let migrations = match tokio::time::timeout(timeout, migrations(store)).await {
        Ok(check) => check,
        Err(_) => local(
            "migrations",
            HealthStatus::Error,
            Some(format!(
                "the store did not answer within {} ms",
                timeout.as_millis()
            )),
        ),
    };
    vec![writable, migrations]
}

/// Takes the store's write lock and lets it go: writes would succeed (on the local store,
/// beginning one first checks that the store's file is still the one opened; on a shared one,
/// a transaction that writes a row it then takes back shows the server takes writes). The
/// transaction guard rolls back even when the timeout drops this half-way.
async fn write_probe(store: &Store) -> Result<(), StoreError> {
    on_backend!(store, db => {
        let mut tx = db.write.begin().await?;
        if db.dialect() == Dialect::Postgres {
            // A read-only server (a standby, a read-only transaction default) refuses this.
            sqlx::query("UPDATE stats_buckets SET lo = lo WHERE false")
                .execute(&mut *tx)
                .await?;
        }
        tx.rollback().await
    })
}

async fn migrations(store: &Store) -> LocalCheck {
    /// Version, checksum, success.
    type Applied = Vec<(i64, Vec<u8>, bool)>;
    let (applied, migrator): (Result<Applied, sqlx::Error>, _) = on_backend!(store, db => (
        sqlx::query_as("SELECT version, checksum, success FROM _sqlx_migrations")
            .fetch_all(&db.read)
            .await,
        db.migrator(),
    ));
    let applied: HashMap<i64, (Vec<u8>, bool)> = match applied {
        Ok(rows) => rows.into_iter().map(|(v, c, s)| (v, (c, s))).collect(),
        Err(e) => {
            return local(
                "migrations",
                HealthStatus::Error,
                Some(format!("the store's migration table cannot be read: {e}")),
            );
        }
    };
    let embedded: Vec<_> = migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .collect();
    let mut problems = Vec::new();
    for m in &embedded {
        match applied.get(&m.version) {
            None => problems.push(format!("{} ({}) is not applied", m.version, m.description)),
            Some((_, false)) => problems.push(format!("{} failed part-way", m.version)),
            Some((checksum, true)) if checksum.as_slice() != &*m.checksum => {
                problems.push(format!("{} was changed after it was applied", m.version))
            }
            Some(_) => {}
        }
    }
    if !problems.is_empty() {
        return local(
            "migrations",
            HealthStatus::Error,
            Some(format!(
                "the store's schema is not this version's: {} — restart the console (it migrates \
                 the store when it opens)",
                problems.join("; ")
            )),
        );
    }
    let newer = applied
        .keys()
        .filter(|v| !embedded.iter().any(|m| m.version == **v))
        .count();
    if newer > 0 {
        return local(
            "migrations",
            HealthStatus::Warning,
            Some(format!(
                "the store has {newer} migration(s) this version does not know: a newer console \
                 has used it"
            )),
        );
    }
    local(
        "migrations",
        HealthStatus::Healthy,
        Some(format!("{} applied", embedded.len())),
    )
}

/// `secrets`: a harmless read; "no such entry" means the backend answered.
pub(crate) async fn check_secrets(
    backend: Arc<dyn SecretsBackend>,
    timeout: Duration,
) -> LocalCheck {
    let name = backend.name();
    let read = tokio::task::spawn_blocking(move || backend.get(PROBE_KEY).map(drop));
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(Ok(()) | Err(SecretsError::Missing { .. }))) => local(
            "secrets",
            HealthStatus::Healthy,
            Some(format!("{name} answered")),
        ),
        Ok(Ok(Err(e))) => local("secrets", HealthStatus::Error, Some(e.to_string())),
        Ok(Err(e)) => local(
            "secrets",
            HealthStatus::Error,
            Some(format!("the {name} check stopped: {e}")),
        ),
        Err(_) => local(
            "secrets",
            HealthStatus::Error,
            Some(format!(
                "the {name} did not answer within {} ms — is it locked or waiting for a prompt?",
                timeout.as_millis()
            )),
        ),
    }
}

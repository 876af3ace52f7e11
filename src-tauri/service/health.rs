//! Health checks: every integration checked concurrently (each check under the per-check
//! timeout), the console's own parts beside them, and the results kept for the dashboard.

use super::App;
use crate::error::AppError;
use crate::health::{
    self, DEFAULT_TIMEOUT, HealthReport, HealthSnapshot, LastHealth, MAX_CONCURRENT,
    MAX_HISTORY_RUNS, TIMEOUT_RANGE_MS, worst,
};
use crate::ids::IntegrationId;
use crate::integrations::Integration;
use futures_util::StreamExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

impl App {
    /// Checks every integration (or the one named) and the console's own parts, keeps the
    /// results, and returns them. A failing check is part of the report, not an `Err`.
    /// `timeout` bounds each check (default [`DEFAULT_TIMEOUT`]).
    pub async fn health(
        &self,
        integration: Option<&str>,
        timeout: Option<Duration>,
    ) -> Result<HealthReport, AppError> {
        self.health_with_progress(integration, timeout, &|_, _| {})
            .await
    }

    /// [`App::health`], reporting progress as `(integrations checked, total)`.
    pub async fn health_with_progress(
        &self,
        integration: Option<&str>,
        timeout: Option<Duration>,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<HealthReport, AppError> {
        let timeout = timeout.unwrap_or(DEFAULT_TIMEOUT);
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        if !TIMEOUT_RANGE_MS.contains(&ms) {
            return Err(AppError::invalid(
                "timeoutMs",
                format!(
                    "{ms} ms is outside {}..={} ms",
                    TIMEOUT_RANGE_MS.start(),
                    TIMEOUT_RANGE_MS.end()
                ),
            ));
        }
        let list = match integration {
            Some(i) => vec![self.integration(i).await?],
            None => self.integrations(None).await?,
        };
        let checked_at = chrono::Utc::now();
        let total = list.len();
        let done = AtomicUsize::new(0);
        progress(0, total);
        // Unordered, so that one slow integration does not hold a slot after it: every check
        // starts as soon as one of the MAX_CONCURRENT slots is free. Sorted back afterwards.
        let done = &done;
        let integrations = async {
            // The futures are made first (not by a closure inside the stream) so that the
            // whole check can run in a spawned task: a closure over borrowed items in a stream
            // type defeats the compiler's proof that the task is Send.
            let checks: Vec<_> = list
                .iter()
                .enumerate()
                .map(|(n, i)| async move {
                    let result = self.check_one(i, timeout).await;
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                    (n, result)
                })
                .collect();
            let mut checked = futures_util::stream::iter(checks)
                .buffer_unordered(MAX_CONCURRENT)
                .collect::<Vec<_>>()
                .await;
            checked.sort_by_key(|(n, _)| *n);
            checked.into_iter().map(|(_, r)| r).collect::<Vec<_>>()
        };
        let store = health::check_store(&self.store, timeout);
        let secrets = health::check_secrets(Arc::clone(&self.secrets), timeout);
        // The intake listener's check joins these once the listener exists.
        let (integrations, mut local, secrets) = tokio::join!(integrations, store, secrets);
        local.push(secrets);
        let status = worst(
            integrations
                .iter()
                .map(|i| i.status)
                .chain(local.iter().map(|c| c.status)),
        );
        let report = HealthReport {
            status,
            checked_at,
            integrations,
            local,
        };
        // The checks' results stand even when they cannot be kept (the store check says why).
        if let Err(e) = self.store.record_health(&report, MAX_HISTORY_RUNS).await {
            tracing::warn!("could not keep the health results: {e}");
        }
        if integration.is_none() {
            let ids: Vec<IntegrationId> = list.iter().map(|i| i.id).collect();
            if let Err(e) = self.store.prune_health_except(&ids).await {
                tracing::warn!("could not prune old health results: {e}");
            }
        }
        Ok(report)
    }

    async fn check_one(&self, i: &Integration, timeout: Duration) -> health::IntegrationHealth {
        // Reading the credentials is bounded too: a locked keyring waiting on a prompt must not
        // hold up the run.
        match tokio::time::timeout(timeout, self.resolve(i)).await {
            Ok(Ok(resolved)) => health::check_integration(&resolved, &self.targets, timeout).await,
            Ok(Err(e)) => health::unresolved(i.id, &i.name, i.kind, e.message),
            Err(_) => health::unresolved(
                i.id,
                &i.name,
                i.kind,
                format!(
                    "the secrets backend did not answer within {} ms",
                    timeout.as_millis()
                ),
            ),
        }
    }

    /// The last-known state (each integration's latest result and the latest local checks),
    /// from the store: no target is contacted.
    pub async fn last_health(&self) -> Result<LastHealth, AppError> {
        Ok(self.store.last_health().await?)
    }

    /// An integration's kept results, newest first (`limit`: 1 to [`MAX_HISTORY_RUNS`]).
    pub async fn health_history(
        &self,
        integration: &str,
        limit: u32,
    ) -> Result<Vec<HealthSnapshot>, AppError> {
        if !(1..=MAX_HISTORY_RUNS).contains(&limit) {
            return Err(AppError::invalid(
                "limit",
                format!("must be between 1 and {MAX_HISTORY_RUNS}"),
            ));
        }
        let id = self.integration(integration).await?.id;
        Ok(self.store.health_history(id, limit).await?)
    }
}

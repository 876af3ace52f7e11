//! Health checks: every integration checked concurrently (each check under the per-check
//! timeout), the console's own parts beside them, and the results kept for the dashboard. What
//! recent deliveries say is read from the store on every run and on every read of the
//! last-known state, and the Integrations list's delivery summaries come from the same query.

use super::App;
use crate::error::AppError;
use crate::health::{
    self, DEFAULT_TIMEOUT, DeliverySummary, HealthReport, HealthSnapshot, IntegrationHealth,
    LastHealth, MAX_CONCURRENT, MAX_HISTORY_RUNS, TIMEOUT_RANGE_MS, worst,
};
use crate::ids::IntegrationId;
use crate::integrations::Integration;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// How many store reads the per-integration queries keep going at once (the read pool has 4
/// connections).
const READ_CONCURRENCY: usize = 8;

/// The longest window a delivery summary covers.
pub const MAX_DELIVERY_WINDOW: chrono::Duration = chrono::Duration::days(90);

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
        // A store that cannot be read (deleted under the console, say) still gets its report:
        // no integration to check, and the `store` check says why.
        let (list, unreadable) = match integration {
            Some(i) => (vec![self.integration(i).await?], false),
            None => match self.integrations(None).await {
                Ok(list) => (list, false),
                Err(e) if e.kind == crate::ErrorKind::Unavailable => {
                    tracing::warn!("health: the integrations could not be read: {e}");
                    (Vec::new(), true)
                }
                Err(e) => return Err(e),
            },
        };
        let checked_at = chrono::Utc::now();
        let total = list.len();
        let done = AtomicUsize::new(0);
        progress(0, total);
        // What the deliveries say, first: small local reads, a few at a time, so that they do
        // not queue for the read pool behind (and time out among) the probes of every
        // integration at once.
        let deliveries = self.deliveries_checks(&list, checked_at, timeout).await;
        // Unordered, so that one slow integration does not hold a slot after it: every check
        // starts as soon as one of the MAX_CONCURRENT slots is free. Sorted back afterwards.
        let done = &done;
        let integrations = async {
            // The futures are made first (not by a closure inside the stream) so that the
            // whole check can run in a spawned task: a closure over borrowed items in a stream
            // type defeats the compiler's proof that the task is Send.
            let checks: Vec<_> = list
                .iter()
                .zip(deliveries)
                .enumerate()
                .map(|(n, (i, deliveries))| async move {
                    let result = self.check_one(i, timeout, deliveries).await;
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
        let mut report = HealthReport {
            status,
            checked_at,
            integrations,
            local,
        };
        // The checks' results stand even when they cannot be kept (the store check says why).
        // Kept before `settle`: the store holds endToEnd's own status, which a later read caps
        // against fresh deliveries.
        if let Err(e) = self.store.record_health(&report, MAX_HISTORY_RUNS).await {
            tracing::warn!("could not keep the health results: {e}");
        }
        for i in &mut report.integrations {
            i.settle();
        }
        // An empty list read from a broken store is not "every integration was removed".
        if integration.is_none() && !unreadable {
            let ids: Vec<IntegrationId> = list.iter().map(|i| i.id).collect();
            if let Err(e) = self.store.prune_health_except(&ids).await {
                tracing::warn!("could not prune old health results: {e}");
            }
        }
        Ok(report)
    }

    async fn check_one(
        &self,
        i: &Integration,
        timeout: Duration,
        deliveries: health::Check,
    ) -> IntegrationHealth {
        // Reading the credentials is bounded too: a locked keyring waiting on a prompt must not
        // hold up the run.
        match tokio::time::timeout(timeout, self.resolve(i)).await {
            Ok(Ok(resolved)) => {
                health::check_integration(&resolved, &self.targets, timeout, deliveries).await
            }
            Ok(Err(e)) => health::unresolved(i.id, &i.name, i.kind, e.message, deliveries),
            Err(_) => health::unresolved(
                i.id,
                &i.name,
                i.kind,
                format!(
                    "the secrets backend did not answer within {} ms",
                    timeout.as_millis()
                ),
                deliveries,
            ),
        }
    }

    /// The `deliveries` check of each integration (in their order), from the store, each with
    /// its own settings and bounded by `timeout`.
    async fn deliveries_checks(
        &self,
        list: &[Integration],
        now: chrono::DateTime<chrono::Utc>,
        timeout: Duration,
    ) -> Vec<health::Check> {
        // The futures are made first, as in `health_with_progress`: a closure over borrowed
        // items inside the stream defeats the proof that a handler's future is Send.
        let reads: Vec<_> = list
            .iter()
            .map(|i| {
                let settings = i.config.health_settings();
                async move { health::deliveries(&self.store, i.id, &settings, now, timeout).await }
            })
            .collect();
        futures_util::stream::iter(reads)
            .buffered(READ_CONCURRENCY)
            .collect()
            .await
    }

    /// The last-known state (each integration's latest result and the latest local checks),
    /// from the store: no target is contacted. Each integration's `deliveries` check is read
    /// afresh (the store is local), so a target that started refusing handoffs since the last
    /// run shows it; `endToEnd` is capped again and the statuses recomputed. An integration
    /// never checked is listed with its `deliveries` check alone (`checkedAt` now).
    pub async fn last_health(&self) -> Result<LastHealth, AppError> {
        let mut known = self.store.last_health().await?;
        let list = self.integrations(None).await?;
        let now = chrono::Utc::now();
        let fresh = self.deliveries_checks(&list, now, DEFAULT_TIMEOUT).await;
        let mut at: HashMap<IntegrationId, usize> = known
            .integrations
            .iter()
            .enumerate()
            .map(|(n, s)| (s.integration.id, n))
            .collect();
        for (i, check) in list.iter().zip(fresh) {
            match at.remove(&i.id) {
                Some(n) => known.integrations[n].integration.replace_deliveries(check),
                None => known.integrations.push(HealthSnapshot {
                    checked_at: now,
                    integration: IntegrationHealth {
                        id: i.id,
                        name: i.name.clone(),
                        kind: i.kind,
                        status: check.status,
                        latency_ms: check.latency_ms,
                        checks: vec![check],
                    },
                }),
            }
        }
        // Results of integrations removed since (until a full run prunes them) are no one's
        // health any more: left out, so they neither show nor weigh on the overall status.
        let live: std::collections::HashSet<IntegrationId> = list.iter().map(|i| i.id).collect();
        known
            .integrations
            .retain(|s| live.contains(&s.integration.id));
        for s in &mut known.integrations {
            s.integration.settle();
        }
        // The store's order (by name), with the never-checked ones in their place.
        known.integrations.sort_by(|a, b| {
            let key = |s: &HealthSnapshot| s.integration.name.to_lowercase();
            key(a).cmp(&key(b)).then_with(|| {
                a.integration
                    .id
                    .to_string()
                    .cmp(&b.integration.id.to_string())
            })
        });
        let statuses = known
            .integrations
            .iter()
            .map(|s| s.integration.status)
            .chain(
                known
                    .local
                    .iter()
                    .flat_map(|l| l.checks.iter().map(|c| c.status)),
            );
        known.status = statuses.max();
        Ok(known)
    }

    /// Every integration's last delivery and its deliveries over the last `window` (the
    /// Integrations list's columns), in the integrations' order. Read from the store.
    pub async fn delivery_summaries(
        &self,
        window: chrono::Duration,
    ) -> Result<Vec<DeliverySummary>, AppError> {
        if window <= chrono::Duration::zero() || window > MAX_DELIVERY_WINDOW {
            return Err(AppError::invalid(
                "window",
                format!(
                    "must be more than 0 and at most {} days",
                    MAX_DELIVERY_WINDOW.num_days()
                ),
            ));
        }
        let since = (chrono::Utc::now() - window).timestamp_millis();
        let list = self.integrations(None).await?;
        let reads: Vec<_> = list
            .iter()
            .map(|i| self.store.delivery_summary(i.id, since))
            .collect();
        let summaries: Vec<_> = futures_util::stream::iter(reads)
            .buffered(READ_CONCURRENCY)
            .collect()
            .await;
        Ok(summaries.into_iter().collect::<Result<Vec<_>, _>>()?)
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
        let mut runs = self.store.health_history(id, limit).await?;
        // Capped against the other checks of the same run (what that run said).
        for r in &mut runs {
            r.integration.settle();
        }
        Ok(runs)
    }
}

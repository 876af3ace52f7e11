//! Sending handoffs, retrying them (one, in bulk, or when due), and reading their history.

use super::App;
use crate::attempts::{
    AttemptDetail, AttemptSummary, BeginAttempt, Claim, FinishAttempt, HandoffFilter,
    HandoffOrigin, HandoffRow, HistoryFilter, INDEX_BATCH, RetryFilter, Status, TakenBy, Trigger,
};
use crate::audit::{AuditObject, AuditRecord};
use crate::error::AppError;
use crate::ids::{AttemptId, HandoffId};
use crate::integrations::Integration;
use crate::masking::{EchoMask, mask_data};
use crate::retry::{self, NextStep};
use crate::store::{from_ms, now_ms};
use crate::targets::{Delivery, ErrorCategory, HandoffContext};
use crate::templating::{self, MAX_DATA_BYTES};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const MAX_SESSION_ID_LEN: usize = 200;
/// Bulk retries run this many handoffs at once, and so does the worker.
const BULK_CONCURRENCY: usize = 4;
/// How long the worker's reservation of a due handoff lasts before its attempt begins (which
/// takes a lease of its own, `lease`). It reserves only what it starts at once, so this is
/// ample; should the worker die in between, another takes the handoff after it.
const RESERVATION: Duration = Duration::from_secs(15);
/// How often a worker on a shared store folds past days' spread rollup rows into one and
/// vacuums the rollups ([`crate::stats::Folded`]); the first time this long after it starts.
const FOLD_EVERY: Duration = Duration::from_secs(3600);
const FOLD_FIRST: Duration = Duration::from_secs(60);
/// How often a worker on a local store indexes the attempts waiting for the search index.
const INDEX_EVERY: Duration = Duration::from_secs(1);

/// A handoff's session id (trimmed) and its data as stored (JSON text), or an `invalid` error
/// naming `session` or `data`.
pub(super) fn check_send_input<'a>(
    session_id: &'a str,
    data: &Value,
) -> Result<(&'a str, String), AppError> {
    let session_id = session_id.trim();
    if session_id.is_empty()
        || session_id.chars().count() > MAX_SESSION_ID_LEN
        || session_id.chars().any(char::is_control)
    {
        return Err(AppError::invalid(
            "session",
            format!("must be 1 to {MAX_SESSION_ID_LEN} printable characters"),
        ));
    }
    if !data.is_object() {
        return Err(AppError::invalid(
            "data",
            "must be a JSON object of collected field values",
        ));
    }
    let encoded = data.to_string();
    if encoded.len() > MAX_DATA_BYTES {
        return Err(AppError::invalid(
            "data",
            format!("is {} bytes; the limit is {MAX_DATA_BYTES}", encoded.len()),
        ));
    }
    Ok((session_id, encoded))
}

/// What `send` and `retry` report.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct HandoffResult {
    pub success: bool,
    pub attempt_id: AttemptId,
    pub handoff_id: HandoffId,
    pub attempt_number: u32,
    pub submission_id: Option<String>,
    pub status_code: Option<u16>,
    pub category: Option<ErrorCategory>,
    pub retryable: bool,
    pub message: String,
    pub duration_ms: u64,
    /// The handoff's state after this attempt.
    pub handoff_status: Status,
    /// When the automatic retry is due, if one was scheduled.
    pub next_retry_at: Option<DateTime<Utc>>,
    /// Set when the attempt ran but its outcome could not be recorded (a full disk, say):
    /// `success` and the rest say what happened; the store still holds the handoff as begun
    /// (`handoffStatus` is then `pending`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub record_error: Option<AppError>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct SkippedRetry {
    pub handoff_id: HandoffId,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct BulkRetry {
    /// Handoffs that failed for good and match the filter (the ones retried).
    pub matched: usize,
    /// Failed attempts matching the filter whose handoff was delivered since: skipped, as
    /// nothing is left to deliver (not a failure).
    #[cfg_attr(test, ts(type = "number"))]
    pub already_delivered: u64,
    pub dry_run: bool,
    pub results: Vec<HandoffResult>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedRetry>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct WorkerPass {
    pub ran: usize,
    pub succeeded: usize,
    pub rescheduled: usize,
    pub failed: usize,
    pub skipped: usize,
}

/// One attempt to run.
struct AttemptPlan<'a> {
    integration: &'a Integration,
    handoff_id: HandoffId,
    session_id: &'a str,
    data: &'a Value,
    /// The data as stored with a new handoff (serialised once, by `send`).
    data_text: Option<String>,
    claim: Claim,
    trigger: Trigger,
    automatic: bool,
    /// Whether a retryable failure schedules an automatic retry.
    reschedule: bool,
    previous: Option<AttemptId>,
    /// A configuration test: an API test goes over a new, timed connection; a database target
    /// reads its row back before committing (recorded tests are the ones that commit).
    test: bool,
    /// A new handoff made from an inbox message: the message and the mapping that took it.
    taken_by: Option<TakenBy<'a>>,
    /// A new handoff made from a message being accepted: the message is written with it, in
    /// its first commit.
    accepting: Option<super::inbox::Accepting>,
}

/// Who makes a new handoff.
pub(super) enum MadeBy<'a> {
    /// A caller of [`App::send`], with its trigger.
    Caller(Trigger),
    /// An inbox message (trigger `webhook`), with the mapping that took it when one did,
    /// recorded on the message in the handoff's first commit.
    Inbox(Option<TakenBy<'a>>),
    /// A message being accepted (trigger `webhook`), mapped before its answer: added to the
    /// inbox in the handoff's first commit, which answers the listener.
    Accepting(Box<super::inbox::Accepting>),
}

/// How long an attempt may hold its handoff before the worker assumes its process died: the
/// target's timeouts bound the attempt, plus a margin for the store writes around it.
fn lease(integration: &Integration) -> Duration {
    delivery_budget(integration) + LEASE_MARGIN
}

/// What a lease adds to the delivery budget: the store writes around the delivery.
pub const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// How long one delivery may take in all; past it the attempt ends as a `timeout`, so that an
/// attempt never outlives its lease (which would let the worker start a second one).
/// A database delivery may read the columns, open a connection, insert and commit, and do it
/// again after reloading a changed schema.
pub(super) fn delivery_budget(integration: &Integration) -> Duration {
    let c = &integration.config;
    match (&c.api, &c.database) {
        (Some(api), _) => api.timeout() + api.connect_timeout(),
        (None, Some(db)) => db.connect_timeout() * 2 + db.statement_timeout() * 3,
        (None, None) => Duration::ZERO,
    }
}

/// What an interrupted configuration test's attempt says once the worker closes it.
const INTERRUPTED_TEST: &str = "interrupted: the configuration test stopped before it finished \
(the target may or may not have received it); tests are never retried";

/// How long the worker leaves a due handoff alone after it could not be tried (e.g. the
/// keyring is locked), so one stuck handoff neither spins the worker nor starves the others.
const POSTPONE: Duration = Duration::from_secs(60);

impl App {
    /// Delivers one session's collected data to an integration, recording the attempt before
    /// returning. A failed delivery is an `Ok` result with `success: false`.
    pub async fn send(
        &self,
        integration: &str,
        session_id: &str,
        data: Value,
        trigger: Trigger,
    ) -> Result<HandoffResult, AppError> {
        let (session_id, encoded) = check_send_input(session_id, &data)?;
        let integration = self.integration(integration).await?;
        self.send_new(
            &integration,
            HandoffId::new(),
            session_id,
            &data,
            encoded,
            MadeBy::Caller(trigger),
        )
        .await
    }

    /// Makes the handoff `handoff_id` (its data already checked by [`check_send_input`]) and
    /// runs its first attempt. A handoff with that id already made is a `conflict`.
    pub(super) async fn send_new(
        &self,
        integration: &Integration,
        handoff_id: HandoffId,
        session_id: &str,
        data: &Value,
        encoded: String,
        made_by: MadeBy<'_>,
    ) -> Result<HandoffResult, AppError> {
        let (trigger, taken_by, accepting) = match made_by {
            MadeBy::Caller(trigger) => (trigger, None, None),
            MadeBy::Inbox(taken_by) => (Trigger::Webhook, taken_by, None),
            MadeBy::Accepting(accepting) => (Trigger::Webhook, None, Some(*accepting)),
        };
        self.run_attempt(AttemptPlan {
            integration,
            handoff_id,
            session_id,
            data,
            data_text: Some(encoded),
            claim: Claim::New,
            trigger,
            automatic: false,
            reschedule: true,
            previous: None,
            test: false,
            taken_by,
            accepting,
        })
        .await
    }

    /// Sends a configuration test's data as a handoff of its own, recorded with trigger `test`
    /// and never retried automatically. A database target reads the row back and commits it.
    pub(super) async fn send_test(
        &self,
        integration: &Integration,
        session_id: &str,
        data: &Value,
    ) -> Result<(HandoffResult, Delivery), AppError> {
        self.run_attempt_with_delivery(AttemptPlan {
            integration,
            handoff_id: HandoffId::new(),
            session_id,
            data,
            data_text: Some(data.to_string()),
            claim: Claim::New,
            trigger: Trigger::Test,
            automatic: false,
            reschedule: false,
            previous: None,
            test: true,
            taken_by: None,
            accepting: None,
        })
        .await
    }

    /// Re-sends an attempt's handoff with its integration's current config: same handoff id,
    /// a new attempt linked to the given one. Manual retries are not rescheduled.
    pub async fn retry_attempt(&self, attempt_id: AttemptId) -> Result<HandoffResult, AppError> {
        let attempt = self
            .store
            .attempt(attempt_id)
            .await?
            .ok_or_else(|| AppError::not_found("attempt", &attempt_id.to_string()))?;
        let result = self
            .retry_handoff(attempt.summary.handoff_id, Some(attempt_id))
            .await?;
        let s = &attempt.summary;
        self.record_audit_after(AuditRecord::RetrySingle {
            integration: AuditObject::integration(s.integration_id, &s.integration_name),
            retried_attempt_id: attempt_id,
            handoff_id: result.handoff_id,
            attempt_id: result.attempt_id,
            attempt_number: result.attempt_number,
            success: result.success,
            outcome: result.handoff_status.as_str(),
            category: result.category.map(ErrorCategory::as_str),
        })
        .await;
        Ok(result)
    }

    async fn retry_handoff(
        &self,
        handoff_id: HandoffId,
        previous: Option<AttemptId>,
    ) -> Result<HandoffResult, AppError> {
        let handoff = self
            .store
            .handoff(handoff_id)
            .await?
            .ok_or_else(|| AppError::not_found("handoff", &handoff_id.to_string()))?;
        if handoff.summary.status == Status::Succeeded {
            return Err(AppError::conflict(format!(
                "handoff {handoff_id} was delivered already (submission {}); nothing to retry",
                handoff
                    .summary
                    .submission_id
                    .as_deref()
                    .unwrap_or("without id")
            )));
        }
        let integration = self
            .store
            .integration(handoff.summary.integration_id)
            .await?
            .ok_or_else(|| {
                AppError::not_found(
                    "integration",
                    &format!("{} (removed)", handoff.summary.integration_id),
                )
            })?;
        let data = self.open_data(&handoff).await?;
        self.run_attempt(AttemptPlan {
            integration: &integration,
            handoff_id,
            session_id: &handoff.summary.session_id,
            data: &data,
            data_text: None,
            claim: Claim::Manual,
            trigger: Trigger::Retry,
            automatic: false,
            // A manual retry is one-off, unless the handoff was still scheduled: then its
            // automatic retries go on.
            reschedule: handoff.summary.status == Status::Pending,
            previous: previous.or(handoff.summary.last_attempt_id),
            test: false,
            taken_by: None,
            accepting: None,
        })
        .await
    }

    /// Retries every failed handoff matching `filter` (or only counts them with `dry_run`),
    /// reporting progress as `(done, total)`.
    pub async fn retry_failed(
        &self,
        filter: &RetryFilter,
        dry_run: bool,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<BulkRetry, AppError> {
        let ids = self.store.failed_handoffs(filter, now_ms()).await?;
        let matched = ids.len();
        let already_delivered = self.store.failed_attempts_since_delivered(filter).await?;
        if dry_run {
            return Ok(BulkRetry {
                matched,
                already_delivered,
                dry_run,
                results: Vec::new(),
                skipped: Vec::new(),
            });
        }
        let mut results = Vec::new();
        let mut skipped = Vec::new();
        let mut done = 0;
        progress(0, matched);
        let mut runs = futures_util::stream::iter(ids)
            .map(|id| async move { (id, self.retry_handoff(id, None).await) })
            .buffer_unordered(BULK_CONCURRENCY);
        while let Some((handoff_id, outcome)) = runs.next().await {
            match outcome {
                Ok(r) => results.push(r),
                Err(e) => skipped.push(SkippedRetry {
                    handoff_id,
                    reason: e.message,
                }),
            }
            done += 1;
            progress(done, matched);
        }
        self.audit_bulk_retry(filter, matched, &results, skipped.len())
            .await;
        Ok(BulkRetry {
            matched,
            already_delivered,
            dry_run,
            results,
            skipped,
        })
    }

    /// Records a bulk retry that ran (a dry run changes nothing and is not recorded).
    async fn audit_bulk_retry(
        &self,
        filter: &RetryFilter,
        matched: usize,
        results: &[HandoffResult],
        skipped: usize,
    ) {
        let integration = match filter.integration {
            Some(id) => {
                // The name as it is now; a removed integration's entry keeps only its id.
                let name = match self.store.integration(id).await {
                    Ok(Some(i)) => Some(i.name),
                    _ => None,
                };
                Some(AuditObject {
                    name,
                    ..AuditObject::integration(id, "")
                })
            }
            None => None,
        };
        let filter = serde_json::json!({
            "integrationId": filter.integration,
            "trigger": filter.trigger,
            "category": filter.category,
            "since": filter.since_ms.map(from_ms),
            "until": filter.until_ms.map(from_ms),
        });
        self.record_audit_after(AuditRecord::RetryBulk {
            integration,
            filter,
            matched,
            retried: results.len(),
            succeeded: results.iter().filter(|r| r.success).count(),
            skipped,
        })
        .await;
    }

    /// Runs every automatic retry that is due now (and every attempt whose process died), once.
    pub async fn run_due_retries(&self) -> Result<WorkerPass, AppError> {
        self.run_due_retries_until(&AtomicBool::new(false)).await
    }

    /// As [`Self::run_due_retries`], reserving no more once `stop` is set (attempts already
    /// under way finish and are recorded).
    ///
    /// The worker reserves what it is about to run (`Store::lease_due_handoffs`), topping up
    /// once half of its slots are free, so workers on a shared store split the due handoffs
    /// between them instead of racing for the same ones. The attempts under way go on while it
    /// reserves (they are polled together): an attempt's open transaction must never wait for
    /// this worker's own next statement.
    async fn run_due_retries_until(&self, stop: &AtomicBool) -> Result<WorkerPass, AppError> {
        enum Work {
            Reserved(Result<Vec<HandoffId>, crate::store::StoreError>),
            Ran(Result<Option<HandoffResult>, AppError>),
        }
        // Due as of the pass's start: a handoff rescheduled during the pass waits for the next.
        let now = now_ms();
        let mut pass = WorkerPass::default();
        let mut work = futures_util::stream::FuturesUnordered::<
            futures_util::future::BoxFuture<'_, Work>,
        >::new();
        let (mut attempts, mut reserving, mut drained) = (0, false, false);
        let mut failure = None;
        loop {
            if !drained
                && !reserving
                && !stop.load(Ordering::Relaxed)
                && attempts <= BULK_CONCURRENCY / 2
            {
                let free = (BULK_CONCURRENCY - attempts) as u32;
                let until = now_ms() + RESERVATION.as_millis() as i64;
                reserving = true;
                work.push(Box::pin(async move {
                    Work::Reserved(
                        self.store
                            .lease_due_handoffs(&self.worker_name, now, until, free)
                            .await,
                    )
                }));
            }
            let Some(done) = work.next().await else {
                // A pass that could not even reserve is a failed pass.
                return match failure {
                    Some(e) if pass.ran + pass.skipped == 0 => Err(e),
                    _ => Ok(pass),
                };
            };
            match done {
                Work::Reserved(Ok(ids)) => {
                    reserving = false;
                    drained = ids.is_empty();
                    attempts += ids.len();
                    for id in ids {
                        work.push(Box::pin(async move { Work::Ran(self.run_due(id).await) }));
                    }
                }
                // The attempts under way still finish and are recorded; the pass ends then.
                Work::Reserved(Err(e)) => {
                    reserving = false;
                    drained = true;
                    tracing::warn!("could not reserve due retries: {e}");
                    failure = Some(AppError::from(e));
                }
                Work::Ran(outcome) => {
                    attempts -= 1;
                    match outcome {
                        Ok(Some(r)) => {
                            pass.ran += 1;
                            match r.handoff_status {
                                Status::Succeeded => pass.succeeded += 1,
                                Status::Pending => pass.rescheduled += 1,
                                Status::Failed => pass.failed += 1,
                            }
                        }
                        Ok(None) => pass.skipped += 1,
                        Err(e) => {
                            tracing::warn!("a due retry could not run: {e}");
                            pass.skipped += 1;
                        }
                    }
                }
            }
        }
    }

    async fn run_due(&self, handoff_id: HandoffId) -> Result<Option<HandoffResult>, AppError> {
        let Some(handoff) = self.store.handoff(handoff_id).await? else {
            return Ok(None);
        };
        // A configuration test is never retried: one whose process died is closed, not re-sent.
        if handoff.origin == HandoffOrigin::Test {
            tracing::info!(handoff_id = %handoff_id, "an interrupted configuration test is closed, not retried");
            self.store
                .abandon_handoff(handoff_id, ErrorCategory::Network, INTERRUPTED_TEST)
                .await?;
            return Ok(None);
        }
        let Some(integration) = self
            .store
            .integration(handoff.summary.integration_id)
            .await?
        else {
            tracing::warn!(handoff_id = %handoff_id, "integration removed; the handoff stays failed");
            self.store
                .abandon_handoff(
                    handoff_id,
                    ErrorCategory::Configuration,
                    "the integration was removed",
                )
                .await?;
            return Ok(None);
        };
        // Without its data key (another machine, a deleted key) the data cannot be resent: the
        // retry waits, as it does for a locked keyring.
        let data = match self.open_data(&handoff).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(handoff_id = %handoff_id, "retry postponed: {e}");
                self.store
                    .postpone_handoff(
                        handoff_id,
                        now_ms() + POSTPONE.as_millis() as i64,
                        &self.worker_name,
                    )
                    .await?;
                return Ok(None);
            }
        };
        let result = self
            .run_attempt(AttemptPlan {
                integration: &integration,
                handoff_id,
                session_id: &handoff.summary.session_id,
                data: &data,
                data_text: None,
                claim: Claim::Due,
                trigger: Trigger::Retry,
                automatic: true,
                reschedule: true,
                previous: handoff.summary.last_attempt_id,
                test: false,
                taken_by: None,
                accepting: None,
            })
            .await;
        match result {
            Ok(r) => Ok(Some(r)),
            // Another worker claimed it first.
            Err(e) if e.kind == crate::ErrorKind::Conflict => Ok(None),
            Err(e) => {
                tracing::warn!(handoff_id = %handoff_id, "retry postponed: {e}");
                self.store
                    .postpone_handoff(
                        handoff_id,
                        now_ms() + POSTPONE.as_millis() as i64,
                        &self.worker_name,
                    )
                    .await?;
                Ok(None)
            }
        }
    }

    /// Runs due retries until `shutdown` resolves, waking when the next one is due (and at
    /// least every `poll` for retries other processes schedule).
    pub async fn run_worker(
        &self,
        poll: Duration,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<WorkerPass, AppError> {
        tokio::pin!(shutdown);
        let stop = AtomicBool::new(false);
        let mut stopping = false;
        let mut total = WorkerPass::default();
        // The last fold: when it started, and its task (aborted when the worker returns: a
        // fold's open transaction rolls back).
        struct AbortOnDrop(tokio::task::AbortHandle);
        impl Drop for AbortOnDrop {
            fn drop(&mut self) {
                self.0.abort();
            }
        }
        let started = std::time::Instant::now();
        let mut fold: Option<(std::time::Instant, AbortOnDrop)> = None;
        // A local store's search index is filled here, off the hot path: every second, the
        // attempts its triggers queued (`attempts::search`).
        let _indexing = (!self.store.is_shared()).then(|| {
            let store = self.store.clone();
            AbortOnDrop(
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(INDEX_EVERY).await;
                        loop {
                            match store.index_history_search(INDEX_BATCH).await {
                                Ok(n) if n == u64::from(INDEX_BATCH) => continue,
                                Ok(_) => break,
                                Err(e) => {
                                    tracing::warn!("could not index the history for search: {e}");
                                    break;
                                }
                            }
                        }
                    }
                })
                .abort_handle(),
            )
        });
        loop {
            let fold_due = match &fold {
                None => started.elapsed() >= FOLD_FIRST,
                Some((at, task)) => task.0.is_finished() && at.elapsed() >= FOLD_EVERY,
            };
            if self.store.is_shared() && !stopping && fold_due {
                // Beside the retries, not before them: the first fold of a long history takes
                // a while.
                let store = self.store.clone();
                let task = tokio::spawn(async move {
                    let before_day = now_ms().div_euclid(crate::stats::DAY_MS) - 1;
                    match store.fold_rollup_spread(before_day).await {
                        Ok(f) if f.rows > 0 || f.skipped > 0 => tracing::info!(
                            days = f.days,
                            rows = f.rows,
                            left_for_later = f.skipped,
                            "folded past days' spread statistics rows"
                        ),
                        Ok(_) => {}
                        Err(e) => tracing::warn!("could not fold past days' statistics rows: {e}"),
                    }
                    if let Err(e) = store.vacuum_rollups().await {
                        tracing::warn!("could not vacuum the statistics rollups: {e}");
                    }
                });
                fold = Some((std::time::Instant::now(), AbortOnDrop(task.abort_handle())));
            }
            // Messages a stopped process accepted but did not make into handoffs.
            // Boxed: its future (mapping, then a whole attempt) is deep, and the worker's is
            // nested in `serve`'s.
            if !stopping && let Err(e) = Box::pin(self.resume_intake()).await {
                tracing::warn!("could not take up unfinished intake messages: {e}");
            }
            // On shutdown, the pass under way finishes its attempts but starts no new batch.
            let run = self.run_due_retries_until(&stop);
            tokio::pin!(run);
            let outcome = if stopping {
                run.await
            } else {
                tokio::select! {
                    outcome = &mut run => outcome,
                    _ = &mut shutdown => {
                        stopping = true;
                        stop.store(true, Ordering::Relaxed);
                        run.await
                    }
                }
            };
            // A failed pass (e.g. the store briefly unavailable) is logged; the worker goes on.
            let pass = match outcome {
                Ok(pass) => pass,
                Err(e) => {
                    tracing::warn!("worker pass failed: {e}");
                    WorkerPass::default()
                }
            };
            if pass.ran > 0 {
                tracing::info!(
                    ran = pass.ran,
                    succeeded = pass.succeeded,
                    rescheduled = pass.rescheduled,
                    failed = pass.failed,
                    "worker pass"
                );
            }
            total.ran += pass.ran;
            total.succeeded += pass.succeeded;
            total.rescheduled += pass.rescheduled;
            total.failed += pass.failed;
            total.skipped += pass.skipped;
            let poll_ms = i64::try_from(poll.as_millis()).unwrap_or(i64::MAX);
            let wait = match self.store.next_due_at().await {
                Ok(Some(at)) => Duration::from_millis((at - now_ms()).clamp(0, poll_ms) as u64),
                Ok(None) => poll,
                Err(e) => {
                    tracing::warn!("cannot read the retry schedule: {e}");
                    poll
                }
            };
            if stopping {
                return Ok(total);
            }
            tokio::select! {
                _ = &mut shutdown => return Ok(total),
                _ = tokio::time::sleep(wait.max(Duration::from_millis(25))) => {}
            }
        }
    }

    async fn run_attempt(&self, plan: AttemptPlan<'_>) -> Result<HandoffResult, AppError> {
        self.run_attempt_with_delivery(plan).await.map(|(r, _)| r)
    }

    /// Runs and records one attempt; also returns the delivery (for a configuration test's
    /// analysis).
    #[tracing::instrument(skip_all, fields(handoff_id = %plan.handoff_id, integration = %plan.integration.id, trigger = plan.trigger.as_str(), attempt, outcome, category, duration_ms))]
    async fn run_attempt_with_delivery(
        &self,
        mut plan: AttemptPlan<'_>,
    ) -> Result<(HandoffResult, Delivery), AppError> {
        let integration = plan.integration;
        // Secrets first: a locked or unreachable keyring is the console's problem, not the
        // target's, so it claims nothing and records no attempt.
        let resolved = self.resolve(integration).await?;
        // A new handoff's data is stored sealed, with a masked copy for display; the data key
        // is the console's too, so a failure to get it records nothing either.
        let (sealed, masked) = match plan.data_text.as_deref() {
            Some(text) => {
                let masked = match plan.data {
                    Value::Object(m) => Value::Object(mask_data(&integration.config.fields, m)),
                    _ => Value::Object(Default::default()),
                };
                (
                    Some(self.seal_data(plan.handoff_id, text).await?),
                    Some(masked.to_string()),
                )
            }
            None => (None, None),
        };
        let attempt_id = AttemptId::new();
        let started = now_ms();
        let begin = BeginAttempt {
            attempt_id,
            handoff_id: plan.handoff_id,
            integration_id: integration.id,
            integration_name: &integration.name,
            session_id: plan.session_id,
            trigger: plan.trigger,
            automatic: plan.automatic,
            previous_attempt_id: plan.previous,
            claim: plan.claim,
            data: sealed.as_deref(),
            data_masked: masked.as_deref(),
            started_at: started,
            lease_until: started + lease(integration).as_millis() as i64,
            owner: &self.worker_name,
            taken_by: plan.taken_by,
        };
        let begun = match plan.accepting.take() {
            None => self.store.begin_attempt(&begin).await?,
            Some(accepting) => accepting.write_with(&self.store, &begin).await?,
        };
        let Some(attempt_number) = begun else {
            return Err(AppError::conflict(format!(
                "handoff {} is being delivered right now, or was delivered already",
                plan.handoff_id
            )));
        };
        let span = tracing::Span::current();
        span.record("attempt", attempt_number);
        let clock = std::time::Instant::now();

        let checked = templating::check_data(&integration.config.fields, plan.data);
        let delivery = match &checked {
            // Each problem names its field and what is wrong, never the value.
            Err(problems) => Delivery::refused(
                ErrorCategory::Validation,
                problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            Ok(checked) => {
                let ctx = HandoffContext {
                    handoff_id: plan.handoff_id,
                    session_id: plan.session_id,
                    timestamp: chrono::Utc::now()
                        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                };
                let budget = delivery_budget(integration);
                let deliver = async {
                    if plan.test {
                        self.targets
                            .deliver_test(&resolved, &ctx, checked, true)
                            .await
                    } else {
                        self.targets.deliver(&resolved, &ctx, checked).await
                    }
                };
                match tokio::time::timeout(budget, deliver).await {
                    Ok(delivery) => delivery,
                    Err(_) => Delivery::refused(
                        ErrorCategory::Timeout,
                        format!(
                            "gave up after {} ms, the delivery's time budget",
                            budget.as_millis()
                        ),
                    ),
                }
            }
        };
        let duration_ms = clock.elapsed().as_millis() as u64;
        let step = retry::next_step(
            &integration.config.retry,
            attempt_number,
            &delivery,
            plan.reschedule,
            &mut rand::rng(),
        );
        let finished = now_ms();
        let next_attempt_at = match step {
            NextStep::RetryIn(delay) => Some(finished + delay.as_millis() as i64),
            _ => None,
        };
        let status = if delivery.succeeded() {
            Status::Succeeded
        } else {
            Status::Failed
        };
        // The record keeps no collected value (the raw data stays with the handoff, sealed, for
        // retries): the request is the one the target built with each field's mask in its
        // place; what the target said back (the response, its words quoted in the message) is
        // searched for the values as collected, as checked and as converted for the target;
        // the console's own words are kept as they are.
        let fields = &integration.config.fields;
        let mut echo = EchoMask::new(fields, plan.data);
        if let Ok(checked) = &checked {
            echo = echo.with_data(fields, &Value::Object(checked.clone()));
        }
        let echo = echo.with_converted(&delivery.converted);
        let request = delivery.recorded_request.to_string();
        let message = delivery.recorded_message(|quoted| echo.text(quoted));
        let excerpt = delivery.response_excerpt.as_deref().map(|e| echo.text(e));
        // An id is kept as the target gave it, unless it is itself a collected value.
        let submission_id = delivery
            .submission_id
            .as_deref()
            .map(|id| echo.whole(id).unwrap_or(id).to_string());
        let recorded = self
            .store
            .finish_attempt(&FinishAttempt {
                attempt_id,
                handoff_id: plan.handoff_id,
                trigger: plan.trigger,
                status,
                category: delivery.failure,
                status_code: delivery.status_code,
                message: &message,
                submission_id: submission_id.as_deref(),
                request: &request,
                response_excerpt: excerpt.as_deref(),
                finished_at: finished,
                duration_ms: duration_ms as i64,
                next_attempt_at,
                handoff_status: step.handoff_status(),
            })
            .await;
        // The delivery happened whatever the store says now: the caller still learns the
        // handoff and its outcome, with why it is not recorded.
        let record_error = recorded.err().map(|e| {
            // A deleted or replaced store took the handoff's record with it; otherwise the
            // store still holds the handoff as begun, and the worker takes it up again.
            let then = if matches!(e, crate::store::StoreError::Replaced { .. }) {
                "The handoff's record is in the deleted or replaced file"
            } else {
                "The store still holds the handoff as begun: once the store can be written and \
                 the attempt's lease has run out, the worker sends it again under the same \
                 handoff id"
            };
            let e = AppError::from(e);
            tracing::error!(handoff_id = %plan.handoff_id, "the attempt's outcome was not recorded: {e}");
            AppError {
                message: format!(
                    "this attempt's outcome was not recorded: {}. {then}",
                    e.message
                ),
                ..e
            }
        });
        let (handoff_status, next_attempt_at) = match record_error {
            None => (step.handoff_status(), next_attempt_at),
            Some(_) => (Status::Pending, None),
        };
        span.record("outcome", status.as_str());
        span.record("category", delivery.failure.map(ErrorCategory::as_str));
        span.record("duration_ms", duration_ms);
        tracing::info!("attempt finished");
        let result = HandoffResult {
            success: delivery.succeeded(),
            attempt_id,
            handoff_id: plan.handoff_id,
            attempt_number,
            submission_id,
            status_code: delivery.status_code,
            category: delivery.failure,
            retryable: delivery.failure.is_some_and(ErrorCategory::retryable),
            message,
            duration_ms,
            handoff_status,
            next_retry_at: next_attempt_at.map(from_ms),
            record_error,
        };
        Ok((result, delivery))
    }

    /// Attempts, newest first.
    pub async fn history(&self, filter: &HistoryFilter) -> Result<Vec<AttemptSummary>, AppError> {
        Ok(self.store.history(filter).await?)
    }

    /// Handoffs (configuration tests left out), newest first unless `filter` sorts
    /// otherwise.
    pub async fn handoffs(&self, filter: &HandoffFilter) -> Result<Vec<HandoffRow>, AppError> {
        Ok(self.store.handoffs(filter).await?)
    }

    /// Everything recorded about one attempt, with its handoff's retry chain.
    pub async fn attempt(
        &self,
        id: AttemptId,
    ) -> Result<(AttemptDetail, Vec<AttemptSummary>), AppError> {
        let detail = self
            .store
            .attempt(id)
            .await?
            .ok_or_else(|| AppError::not_found("attempt", &id.to_string()))?;
        let chain = self.store.attempts_of(detail.summary.handoff_id).await?;
        Ok((detail, chain))
    }
}

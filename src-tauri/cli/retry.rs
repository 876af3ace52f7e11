//! Retries: `retry` (one attempt's handoff, or every failed one matching a filter) and
//! `worker` (the automatic retries that are due).

use super::output::{Output, print_json, progress_reporter, say};
use super::send::handoff_exit;
use super::{EXIT_FAILED, flag_names};
use crate::error::AppError;
use crate::ids::AttemptId;
use crate::service::requests::RetryRequest;
use crate::service::{App, BulkRetry, WorkerPass};
use crate::targets::ErrorCategory;
use clap::Args;
use std::time::Duration;

#[derive(Debug, Args)]
pub(super) struct RetryArgs {
    /// The attempt whose handoff to retry.
    #[arg(required_unless_present = "failed", conflicts_with = "failed")]
    attempt: Option<AttemptId>,
    /// Retry every failed handoff matching the filters.
    #[arg(long)]
    failed: bool,
    #[arg(long, value_name = "ID|NAME", requires = "failed")]
    integration: Option<String>,
    #[arg(long, value_enum, requires = "failed")]
    category: Option<ErrorCategory>,
    /// RFC 3339, a date, or an age such as 30m, 2h, 7d.
    #[arg(long, value_name = "T", requires = "failed")]
    since: Option<String>,
    #[arg(long, value_name = "T", requires = "failed")]
    until: Option<String>,
    /// Only say how many handoffs match.
    #[arg(long, requires = "failed")]
    dry_run: bool,
}

#[derive(Debug, Args)]
pub(super) struct WorkerArgs {
    /// Run every retry that is due now, then exit.
    #[arg(long)]
    once: bool,
    /// How often to look for retries scheduled by other processes.
    #[arg(long, default_value_t = 1000, value_name = "MS", value_parser = clap::value_parser!(u64).range(50..=3_600_000))]
    poll_ms: u64,
}

pub(super) async fn retry(app: &App, args: RetryArgs, out: &Output) -> Result<u8, AppError> {
    if let Some(id) = args.attempt {
        let result = app.retry_attempt(id).await?;
        out.handoff(&result);
        return Ok(handoff_exit(&result));
    }
    let request = RetryRequest {
        failed: args.failed,
        integration: args.integration,
        category: args.category,
        since: args.since,
        until: args.until,
        dry_run: args.dry_run,
        ..Default::default()
    };
    // Run here rather than as a job (as for the UI), with its progress on the terminal.
    let filter = app
        .bulk_retry_filter(&request)
        .await
        .map_err(flag_names(&["since", "until"]))?;
    let progress = progress_reporter("retrying", 1);
    let bulk = app.retry_failed(&filter, args.dry_run, &progress).await?;
    out.bulk(&bulk);
    // Attempts whose handoff was delivered since are skipped, not failed: only a retried
    // handoff that is still undelivered (or could not be retried) fails this.
    let all_ok = bulk.results.iter().all(|r| handoff_exit(r) == 0) && bulk.skipped.is_empty();
    Ok(if all_ok { 0 } else { EXIT_FAILED })
}

pub(super) async fn worker(app: &App, args: WorkerArgs, out: &Output) -> Result<u8, AppError> {
    let pass = if args.once {
        app.run_due_retries().await?
    } else {
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        app.run_worker(Duration::from_millis(args.poll_ms.max(50)), shutdown)
            .await?
    };
    out.worker(&pass);
    Ok(0)
}

impl Output {
    pub(super) fn bulk(&self, b: &BulkRetry) {
        if self.is_json() {
            return print_json(b);
        }
        let delivered_since = || {
            if b.already_delivered > 0 {
                say!(
                    "skipped {} failed attempt(s) whose handoff was delivered since",
                    b.already_delivered
                );
            }
        };
        if b.dry_run {
            say!(
                "{} failed handoff(s) match; nothing was re-sent (--dry-run)",
                b.matched
            );
            return delivered_since();
        }
        let ok = b.results.iter().filter(|r| r.success).count();
        say!(
            "{} matched: {ok} delivered, {} failed again, {} skipped",
            b.matched,
            b.results.len() - ok,
            b.skipped.len()
        );
        delivered_since();
        for r in b.results.iter().filter(|r| !r.success) {
            say!("  {}  {}", r.handoff_id, r.message);
        }
        for r in b.results.iter() {
            if let Some(e) = &r.record_error {
                say!("  {}  not recorded: {}", r.handoff_id, e.message);
            }
        }
        for s in &b.skipped {
            say!("  {}  skipped: {}", s.handoff_id, s.reason);
        }
    }

    pub(super) fn worker(&self, p: &WorkerPass) {
        if self.is_json() {
            return print_json(p);
        }
        say!(
            "{} retried: {} delivered, {} rescheduled, {} failed for good, {} skipped",
            p.ran,
            p.succeeded,
            p.rescheduled,
            p.failed,
            p.skipped
        );
    }
}

//! What the store recorded: `history` (attempts), `handoffs`, `show-attempt` and `reveal` (a
//! handoff's collected data).

use super::flag_names;
use super::output::{Output, local, print_json, say};
use crate::attempts::{AttemptDetail, AttemptSummary, HandoffRow, HandoffState, Status, Trigger};
use crate::error::AppError;
use crate::ids::{AttemptId, HandoffId};
use crate::service::App;
use crate::service::requests::{HandoffsQuery, HistoryQuery};
use crate::targets::ErrorCategory;
use clap::Args;
use serde_json::json;

#[derive(Debug, Args)]
pub(super) struct HistoryArgs {
    #[arg(long, value_enum)]
    status: Option<Status>,
    #[arg(long, value_name = "ID|NAME")]
    integration: Option<String>,
    #[arg(long, value_name = "SID")]
    session: Option<String>,
    #[arg(long, value_enum)]
    trigger: Option<Trigger>,
    #[arg(long, value_enum)]
    category: Option<ErrorCategory>,
    /// RFC 3339, a date, or an age such as 30m, 2h, 7d.
    #[arg(long, value_name = "T")]
    since: Option<String>,
    #[arg(long, value_name = "T")]
    until: Option<String>,
    #[arg(long, default_value_t = 50)]
    limit: u32,
}

#[derive(Debug, Args)]
pub(super) struct HandoffsArgs {
    /// delivered; undelivered (failed for good, or waiting for a scheduled retry); pending (an
    /// attempt is under way).
    #[arg(long, value_enum)]
    status: Option<HandoffState>,
    #[arg(long, value_name = "ID|NAME")]
    integration: Option<String>,
    #[arg(long, value_name = "SID")]
    session: Option<String>,
    #[arg(long, default_value_t = 50)]
    limit: u32,
}

#[derive(Debug, Args)]
pub(super) struct ShowAttemptArgs {
    id: AttemptId,
}

#[derive(Debug, Args)]
pub(super) struct RevealArgs {
    #[arg(value_name = "HANDOFF_ID")]
    handoff: HandoffId,
}

pub(super) async fn history(app: &App, args: HistoryArgs, out: &Output) -> Result<u8, AppError> {
    let query = HistoryQuery {
        status: args.status,
        integration: args.integration,
        session: args.session,
        trigger: args.trigger,
        category: args.category,
        since: args.since,
        until: args.until,
        limit: Some(args.limit),
        ..Default::default()
    };
    let attempts = app
        .history_query(&query)
        .await
        .map_err(flag_names(&["since", "until", "limit", "session"]))?;
    out.history(&attempts);
    Ok(0)
}

pub(super) async fn handoffs(app: &App, args: HandoffsArgs, out: &Output) -> Result<u8, AppError> {
    let query = HandoffsQuery {
        status: args.status,
        integration: args.integration,
        session: args.session,
        limit: Some(args.limit),
        ..Default::default()
    };
    let rows = app
        .handoffs_query(&query)
        .await
        .map_err(flag_names(&["limit", "session"]))?;
    out.handoffs(&rows);
    Ok(0)
}

pub(super) async fn show_attempt(
    app: &App,
    args: ShowAttemptArgs,
    out: &Output,
) -> Result<u8, AppError> {
    let (detail, chain) = app.attempt(args.id).await?;
    out.attempt(&detail, &chain);
    Ok(0)
}

pub(super) async fn reveal(app: &App, args: RevealArgs, out: &Output) -> Result<u8, AppError> {
    let data = app.reveal(args.handoff).await?;
    out.revealed(args.handoff, &data);
    Ok(0)
}

impl Output {
    pub(super) fn history(&self, list: &[AttemptSummary]) {
        if self.is_json() {
            let rows: Vec<_> = list
                .iter()
                .map(|a| {
                    json!({
                        "attemptId": a.attempt_id, "handoffId": a.handoff_id, "integrationId": a.integration_id,
                        "integrationName": a.integration_name, "sessionId": a.session_id, "trigger": a.trigger,
                        "automatic": a.automatic, "attemptNumber": a.attempt_number, "status": a.status,
                        "category": a.category, "retryable": a.retryable, "statusCode": a.status_code,
                        "startedAt": a.started_at, "durationMs": a.duration_ms, "message": a.message,
                        "nextRetryAt": a.next_retry_at,
                    })
                })
                .collect();
            return print_json(&rows);
        }
        if list.is_empty() {
            return say!("no attempts match");
        }
        say!(
            "{:<19}  {:<9}  {:<14}  {:<7}  {:>6}  {:<24}  {:<36}  MESSAGE",
            "STARTED",
            "STATUS",
            "CATEGORY",
            "TRIGGER",
            "MS",
            "INTEGRATION",
            "ATTEMPT"
        );
        for a in list {
            say!(
                "{:<19}  {:<9}  {:<14}  {:<7}  {:>6}  {:<24}  {:<36}  {}",
                local(a.started_at),
                a.status.as_str(),
                a.category.map(|c| c.as_str()).unwrap_or("-"),
                a.trigger.as_str(),
                a.duration_ms.map(|d| d.to_string()).unwrap_or_default(),
                a.integration_name.chars().take(24).collect::<String>(),
                a.attempt_id,
                a.message.chars().take(100).collect::<String>(),
            );
        }
    }

    pub(super) fn handoffs(&self, list: &[HandoffRow]) {
        if self.is_json() {
            return print_json(&list);
        }
        if list.is_empty() {
            return say!("no handoffs match");
        }
        say!(
            "{:<19}  {:<11}  {:>5}  {:<14}  {:>4}  {:<24}  {:<24}  {:<36}  LAST MESSAGE",
            "UPDATED",
            "STATUS",
            "TRIES",
            "LAST CATEGORY",
            "CODE",
            "INTEGRATION",
            "SESSION",
            "HANDOFF"
        );
        for h in list {
            let line = format!(
                "{:<19}  {:<11}  {:>5}  {:<14}  {:>4}  {:<24}  {:<24}  {:<36}  {}",
                local(h.updated_at),
                h.status.as_str(),
                h.attempts,
                h.last_category.map(|c| c.as_str()).unwrap_or("-"),
                h.last_status_code
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "-".into()),
                h.integration_name.chars().take(24).collect::<String>(),
                h.session_id.chars().take(24).collect::<String>(),
                h.handoff_id,
                h.last_message.chars().take(100).collect::<String>(),
            );
            say!("{}", line.trim_end());
            if let Some(at) = h.next_retry_at {
                say!("{:<19}  next retry {}", "", local(at));
            }
        }
    }

    pub(super) fn attempt(&self, detail: &AttemptDetail, chain: &[AttemptSummary]) {
        print_json(&json!({ "attempt": detail, "retryChain": chain }));
    }

    pub(super) fn revealed(&self, handoff: HandoffId, data: &serde_json::Value) {
        if self.is_json() {
            return print_json(&json!({ "handoffId": handoff, "data": data }));
        }
        say!("handoff {handoff} (this reveal is recorded in the audit trail):");
        say!("{}", serde_json::to_string_pretty(data).unwrap_or_default());
    }
}

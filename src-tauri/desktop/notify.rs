//! Desktop notifications for handoffs that ended up failed for good: an attempt that failed
//! with no automatic retry scheduled (not retryable, or its retries used up). The store is
//! polled every few seconds for failures of attempts started since the window opened (one
//! indexed query, newest first, at most [`BATCH`] rows); each handoff is announced once. A
//! missing notification daemon only loses the notification (the plugin sends it in the
//! background and drops its error).

use crate::attempts::{AttemptSummary, HistoryFilter, Status, Trigger};
use crate::ids::HandoffId;
use crate::service::App;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tauri::AppHandle;
use tauri_plugin_notification::NotificationExt;

pub const POLL: Duration = Duration::from_secs(5);
const BATCH: u32 = 50;
/// Announced handoffs remembered; beyond this the oldest knowledge is dropped (a long-running
/// window does not grow without bound).
const REMEMBER: usize = 10_000;

/// Which of `rows` are newly failed for good: failed, nothing scheduled, not yet announced.
/// Configuration tests (trigger `test`) are the user's own experiments: not announced.
pub fn newly_failed<'a>(
    rows: &'a [AttemptSummary],
    announced: &mut HashSet<HandoffId>,
) -> Vec<&'a AttemptSummary> {
    if announced.len() > REMEMBER {
        announced.clear();
    }
    rows.iter()
        .filter(|r| r.status == Status::Failed && r.next_retry_at.is_none())
        .filter(|r| r.trigger != Trigger::Test)
        .filter(|r| announced.insert(r.handoff_id))
        .collect()
}

/// The notification's text: which integration and why, never the collected data.
pub fn message(r: &AttemptSummary) -> (String, String) {
    let why = r.category.map_or("failed", |c| c.as_str());
    (
        "Handoff failed".to_string(),
        format!(
            "{}: {why} after {} attempt{} (session {}); no automatic retry is left. Retry it \
             from History.",
            r.integration_name,
            r.attempt_number,
            if r.attempt_number == 1 { "" } else { "s" },
            r.session_id
        ),
    )
}

/// At most this many failures of one poll are announced one by one; more make one summary
/// (an outage must not flood the desktop with notifications).
const ONE_BY_ONE: usize = 3;

/// One notification for many failures: how many, and which integrations.
pub fn summary(rows: &[&AttemptSummary]) -> (String, String) {
    let mut names: Vec<&str> = rows.iter().map(|r| r.integration_name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let shown = names.iter().take(3).copied().collect::<Vec<_>>().join(", ");
    let more = if names.len() > 3 { ", …" } else { "" };
    (
        format!("{} handoffs failed", rows.len()),
        format!(
            "{shown}{more}: no automatic retry is left for them. Retry them from History (Retry all failed)."
        ),
    )
}

/// Watches until `stop` turns true.
pub async fn watch(app: Arc<App>, handle: AppHandle, mut stop: tokio::sync::watch::Receiver<bool>) {
    let since_ms = chrono::Utc::now().timestamp_millis();
    let mut announced = HashSet::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let filter = HistoryFilter {
            status: Some(Status::Failed),
            since_ms: Some(since_ms),
            limit: Some(BATCH),
            ..Default::default()
        };
        let rows = match app.history(&filter).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!("failure notifications: cannot read the history: {e}");
                continue;
            }
        };
        let failed = newly_failed(&rows, &mut announced);
        let notes = if failed.len() > ONE_BY_ONE {
            tracing::info!(count = failed.len(), "notifying handoffs failed for good");
            vec![summary(&failed)]
        } else {
            failed
                .iter()
                .map(|r| {
                    tracing::info!(handoff = %r.handoff_id, "notifying a handoff failed for good");
                    message(r)
                })
                .collect()
        };
        for (title, body) in notes {
            if let Err(e) = handle
                .notification()
                .builder()
                .title(title)
                .body(body)
                .show()
            {
                tracing::warn!("failure notifications: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_failures_make_one_summary_naming_the_integrations() {
        let rows: Vec<AttemptSummary> = (0..5)
            .map(|n| {
                let mut a = attempt(HandoffId::new(), Status::Failed, false, 1);
                a.integration_name = format!("EMR {}", n % 2);
                a
            })
            .collect();
        let refs: Vec<&AttemptSummary> = rows.iter().collect();
        let (title, body) = summary(&refs);
        assert_eq!(title, "5 handoffs failed");
        assert!(body.starts_with("EMR 0, EMR 1:"), "{body}");
        assert!(!body.contains("Ann"), "{body}");
    }
    use crate::targets::ErrorCategory;

    fn attempt(handoff: HandoffId, status: Status, retry_due: bool, n: u32) -> AttemptSummary {
        AttemptSummary {
            attempt_id: Default::default(),
            handoff_id: handoff,
            integration_id: Default::default(),
            integration_name: "Clinic EMR".into(),
            session_id: "s-1".into(),
            trigger: if n > 1 { Trigger::Retry } else { Trigger::Live },
            automatic: n > 1,
            attempt_number: n,
            status,
            category: (status == Status::Failed).then_some(ErrorCategory::Network),
            retryable: true,
            status_code: None,
            started_at: chrono::Utc::now(),
            finished_at: None,
            duration_ms: None,
            message: "connection refused".into(),
            next_retry_at: retry_due.then(chrono::Utc::now),
            handoff_state: match status {
                Status::Succeeded => crate::attempts::HandoffState::Delivered,
                Status::Failed => crate::attempts::HandoffState::Undelivered,
                Status::Pending => crate::attempts::HandoffState::Pending,
            },
        }
    }

    #[test]
    fn only_failures_with_no_retry_left_are_announced_once() {
        let (a, b, c) = (
            HandoffId::default(),
            HandoffId::default(),
            HandoffId::default(),
        );
        let mut announced = HashSet::new();
        let rows = vec![
            attempt(a, Status::Failed, true, 1), // a retry is scheduled: not yet
            attempt(b, Status::Failed, false, 5), // retries used up
            attempt(c, Status::Succeeded, false, 1),
        ];
        let first: Vec<_> = newly_failed(&rows, &mut announced)
            .iter()
            .map(|r| r.handoff_id)
            .collect();
        assert_eq!(first, vec![b]);
        // The next poll sees b again (and a's retry failing for good): only a is new.
        let rows = vec![attempt(a, Status::Failed, false, 2), rows[1].clone()];
        let second: Vec<_> = newly_failed(&rows, &mut announced)
            .iter()
            .map(|r| r.handoff_id)
            .collect();
        assert_eq!(second, vec![a]);
    }

    #[test]
    fn configuration_tests_are_not_announced() {
        let mut row = attempt(HandoffId::default(), Status::Failed, false, 1);
        row.trigger = Trigger::Test;
        assert!(newly_failed(&[row], &mut HashSet::new()).is_empty());
    }

    #[test]
    fn the_message_names_the_integration_and_category_not_the_data() {
        let row = attempt(HandoffId::default(), Status::Failed, false, 5);
        let (title, body) = message(&row);
        assert_eq!(title, "Handoff failed");
        assert!(
            body.starts_with("Clinic EMR: network after 5 attempts"),
            "{body}"
        );
        assert!(!body.contains("connection refused"), "{body}");
    }
}

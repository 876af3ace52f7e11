//! `send`: one session's collected data to an integration; how a handoff's result is printed
//! (also by `retry`), and its exit code.

use super::output::{Output, local, print_json, say};
use super::{EXIT_FAILED, exit_code, read_json_data};
use crate::error::AppError;
use crate::service::requests::SendRequest;
use crate::service::{App, HandoffResult};
use clap::Args;

#[derive(Debug, Args)]
pub(super) struct SendArgs {
    #[arg(long, value_name = "ID|NAME")]
    integration: String,
    #[arg(long, value_name = "SID")]
    session: String,
    /// A JSON file of collected field values, or - for stdin.
    #[arg(long, value_name = "DATA.json|-")]
    data: String,
}

pub(super) async fn run(app: &App, args: SendArgs, out: &Output) -> Result<u8, AppError> {
    let request = SendRequest {
        integration: args.integration,
        session_id: args.session,
        data: read_json_data(&args.data)?,
    };
    let result = app.send_request(request).await?;
    out.handoff(&result);
    Ok(handoff_exit(&result))
}

/// A handoff's exit code: 0 when it was delivered and recorded; 1 when it failed, or when its
/// outcome could not be recorded (the store's error, as for `unavailable`).
pub(super) fn handoff_exit(r: &HandoffResult) -> u8 {
    match &r.record_error {
        Some(e) => exit_code(e),
        None if r.success => 0,
        None => EXIT_FAILED,
    }
}

impl Output {
    pub(super) fn handoff(&self, r: &HandoffResult) {
        if self.is_json() {
            return print_json(r);
        }
        if r.success {
            say!("delivered: {} ({} ms)", r.message, r.duration_ms);
        } else {
            let category = r.category.map(|c| c.as_str()).unwrap_or("unknown");
            let retry = if r.retryable {
                "retryable"
            } else {
                "not retryable"
            };
            say!(
                "failed [{category}, {retry}]: {} ({} ms)",
                r.message,
                r.duration_ms
            );
            if let Some(at) = r.next_retry_at {
                say!("automatic retry scheduled for {}", local(at));
            }
        }
        say!(
            "attempt {} (#{}), handoff {}",
            r.attempt_id,
            r.attempt_number,
            r.handoff_id
        );
        if let Some(e) = &r.record_error {
            say!("not recorded: {}", e.message);
        }
    }
}

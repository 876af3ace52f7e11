//! `export`: the attempt history to a self-contained file that `--history-file` opens.

use super::flag_names;
use super::output::{Output, print_json, progress_reporter, say};
use crate::error::AppError;
use crate::export::ExportSummary;
use crate::service::App;
use crate::service::requests::ExportRequest;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub(super) struct ExportArgs {
    /// The file to create (it must not exist).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[arg(long, value_name = "ID|NAME")]
    integration: Option<String>,
    /// RFC 3339, a date, or an age such as 30m, 2h, 7d (attempts started then or later).
    #[arg(long, value_name = "T")]
    since: Option<String>,
    #[arg(long, value_name = "T")]
    until: Option<String>,
}

pub(super) async fn run(app: &App, args: ExportArgs, out: &Output) -> Result<u8, AppError> {
    let request = ExportRequest {
        integration: args.integration,
        since: args.since,
        until: args.until,
    };
    // Written here, to the file given, rather than as a job into the exports folder (as for
    // the UI), with its progress on the terminal.
    let filter = app
        .export_filter(&request)
        .await
        .map_err(flag_names(&["since", "until"]))?;
    let progress = progress_reporter("exporting handoff", 1);
    let report = |done: u64, total: u64| progress(done as usize, total as usize);
    let summary = app.export_history(&args.out, &filter, &report).await?;
    out.export(&summary);
    Ok(0)
}

impl Output {
    pub(super) fn export(&self, e: &ExportSummary) {
        if self.is_json() {
            return print_json(e);
        }
        say!(
            "exported {} attempts of {} handoffs ({} integrations, {} bytes) to {}",
            e.attempts,
            e.handoffs,
            e.integrations,
            e.bytes,
            e.path.display()
        );
        say!(
            "open it anywhere: handoff-console --history-file {} history|handoffs|stats|show-attempt",
            e.path.display()
        );
    }
}

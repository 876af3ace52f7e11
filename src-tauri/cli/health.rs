//! `health`: checks of every integration (or one) and of the console's own parts, or the
//! last-known results (`--last`).

use super::output::{Output, local, print_json, progress_reporter, say};
use super::{EXIT_FAILED, flag_names};
use crate::error::AppError;
use crate::health::{
    Check, DELIVERIES, HealthReport, HealthStatus, IntegrationHealth, LastHealth, LocalCheck,
};
use crate::service::App;
use crate::service::requests::{HealthRunRequest, health_timeout};
use clap::Args;

#[derive(Debug, Args)]
pub(super) struct HealthArgs {
    #[arg(long, value_name = "ID|NAME", conflicts_with = "last")]
    integration: Option<String>,
    /// The most each check may take.
    #[arg(
        long,
        default_value_t = 5000,
        value_name = "MS",
        conflicts_with = "last"
    )]
    timeout_ms: u64,
    /// Show the last-known results from the store instead of checking (works offline).
    #[arg(long)]
    last: bool,
}

pub(super) async fn run(app: &App, args: HealthArgs, out: &Output) -> Result<u8, AppError> {
    if args.last {
        let known = app.last_health().await?;
        out.last_health(&known);
        return Ok(exit(known.status));
    }
    let request = HealthRunRequest {
        integration: args.integration,
        timeout_ms: Some(args.timeout_ms),
    };
    // Run here rather than as a job (as for the UI), with its progress on the terminal.
    let timeout = health_timeout(&request).map_err(flag_names(&["timeoutMs"]))?;
    let progress = progress_reporter("checking", 2);
    let report = app
        .health_with_progress(request.integration.as_deref(), Some(timeout), &progress)
        .await?;
    out.health(&report);
    Ok(exit(Some(report.status)))
}

/// 1 when any check is in error.
fn exit(status: Option<HealthStatus>) -> u8 {
    if status == Some(HealthStatus::Error) {
        EXIT_FAILED
    } else {
        0
    }
}

impl Output {
    pub(super) fn health(&self, r: &HealthReport) {
        if self.is_json() {
            return print_json(r);
        }
        say!(
            "{} (checked {})",
            r.status.as_str().to_uppercase(),
            local(r.checked_at)
        );
        for i in problems_first(&r.integrations, |i| (i.status, i.name.as_str())) {
            say!(
                "\n{} [{}] {} ({} ms)",
                i.name,
                i.kind.as_str(),
                i.status.as_str(),
                i.latency_ms
            );
            print_checks(&i.checks);
        }
        say!("\nthis console");
        print_local(&r.local);
    }

    pub(super) fn last_health(&self, h: &LastHealth) {
        if self.is_json() {
            return print_json(h);
        }
        if h.status.is_none() {
            return say!("no health results kept yet (run `health`)");
        }
        // Never probed: only its deliveries were read (just now), so without a problem in them
        // it is not known to be healthy; listed after the problems, before the healthy ones.
        let probed = |i: &IntegrationHealth| i.checks.iter().any(|c| c.name != DELIVERIES);
        let list = problems_first(&h.integrations, |s| {
            let i = &s.integration;
            let not_checked = i.status == HealthStatus::Healthy && !probed(i);
            ((i.status, not_checked), i.name.as_str())
        });
        for s in list {
            let i = &s.integration;
            let (status, when) = match (probed(i), i.status) {
                (true, status) => (status.as_str(), format!("checked {}", local(s.checked_at))),
                (false, HealthStatus::Healthy) => ("not checked", NEVER_PROBED.to_string()),
                (false, status) => (status.as_str(), NEVER_PROBED.to_string()),
            };
            say!("\n{} [{}] {status} ({when})", i.name, i.kind.as_str());
            print_checks(&i.checks);
        }
        if let Some(l) = &h.local {
            say!("\nthis console (checked {})", local(l.checked_at));
            print_local(&l.checks);
        }
    }
}

/// What `--last` says of an integration whose target no run has probed yet.
const NEVER_PROBED: &str = "never probed: its recent deliveries only";

/// Integrations as the text output lists them: the worst first by `key`'s rank (errors, then
/// warnings, then healthy ones), each group by name (case-insensitive). `--json` keeps the order
/// it was given.
fn problems_first<T, R: Ord>(items: &[T], key: impl Fn(&T) -> (R, &str)) -> Vec<&T> {
    let mut sorted: Vec<&T> = items.iter().collect();
    sorted.sort_by(|a, b| {
        let (sa, na) = key(a);
        let (sb, nb) = key(b);
        sb.cmp(&sa)
            .then_with(|| na.to_lowercase().cmp(&nb.to_lowercase()))
    });
    sorted
}

fn print_checks(checks: &[Check]) {
    for c in checks {
        let line = format!(
            "  {:<16} {:<8} {:>6} ms  {}",
            c.name,
            c.status.as_str(),
            c.latency_ms,
            c.reason.as_deref().unwrap_or("")
        );
        say!("{}", line.trim_end());
    }
}

fn print_local(checks: &[LocalCheck]) {
    for c in checks {
        let line = format!(
            "  {:<16} {:<8}  {}",
            c.name,
            c.status.as_str(),
            c.reason.as_deref().unwrap_or("")
        );
        say!("{}", line.trim_end());
    }
}

#[cfg(test)]
mod tests {
    use crate::health::HealthStatus::{Error, Healthy, Warning};

    #[test]
    fn problems_are_listed_first_then_by_name() {
        let items = [
            (Healthy, "alpha"),
            (Error, "zulu"),
            (Warning, "Mike"),
            (Error, "bravo"),
            (Healthy, "Charlie"),
            (Warning, "echo"),
        ];
        let order: Vec<&str> = super::problems_first(&items, |i| (i.0, i.1))
            .into_iter()
            .map(|i| i.1)
            .collect();
        assert_eq!(order, ["bravo", "zulu", "echo", "Mike", "alpha", "Charlie"]);
    }

    /// `--last`'s ranks: an integration not checked (never probed, no problem in its
    /// deliveries) comes after the problems and before the healthy ones.
    #[test]
    fn not_checked_comes_between_the_problems_and_the_healthy() {
        let items = [
            ((Healthy, false), "alpha"),
            ((Healthy, true), "delta"),
            ((Warning, false), "Mike"),
            ((Healthy, true), "bravo"),
            ((Error, false), "zulu"),
        ];
        let order: Vec<&str> = super::problems_first(&items, |i| (i.0, i.1))
            .into_iter()
            .map(|i| i.1)
            .collect();
        assert_eq!(order, ["zulu", "Mike", "bravo", "delta", "alpha"]);
    }
}

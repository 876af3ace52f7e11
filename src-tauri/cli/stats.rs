//! `stats`: statistics over attempts and handoffs.

use super::flag_names;
use super::output::{Output, print_json, say};
use crate::attempts::Trigger;
use crate::error::AppError;
use crate::service::App;
use crate::service::requests::StatsQuery;
use crate::stats::{SeriesBucket, Stats};
use clap::Args;

#[derive(Debug, Args)]
pub(super) struct StatsArgs {
    #[arg(long, value_name = "ID|NAME")]
    integration: Option<String>,
    #[arg(long, value_name = "SID")]
    session: Option<String>,
    /// Attempts of this trigger; handoffs of this origin (live, webhook), retried at least
    /// once (retry), or none (test: configuration tests are not handoffs).
    #[arg(long, value_enum)]
    trigger: Option<Trigger>,
    /// RFC 3339, a date, or an age such as 30m, 2h, 7d (inclusive; attempts by start, handoffs
    /// by creation).
    #[arg(long, value_name = "T")]
    since: Option<String>,
    /// As --since (exclusive).
    #[arg(long, value_name = "T")]
    until: Option<String>,
    /// The time series' bucket width.
    #[arg(long, value_enum, default_value = "day")]
    bucket: SeriesBucket,
    /// Compute from every attempt with exact percentiles (slow on a large history) instead of
    /// from the rollups (percentiles within 1%).
    #[arg(long)]
    exact: bool,
}

pub(super) async fn run(app: &App, args: StatsArgs, out: &Output) -> Result<u8, AppError> {
    let query = StatsQuery {
        integration: args.integration,
        session: args.session,
        trigger: args.trigger,
        since: args.since,
        until: args.until,
        bucket: Some(args.bucket),
    };
    // `--exact` is the CLI's alone: the query is the UI's, the choice of computation is not.
    let stats = async {
        let filter = app.stats_filter(&query).await?;
        app.stats(&filter, args.exact).await
    };
    out.stats(&stats.await.map_err(flag_names(&["since", "until"]))?);
    Ok(0)
}

impl Output {
    pub(super) fn stats(&self, s: &Stats) {
        if self.is_json() {
            return print_json(s);
        }
        let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v} ms"));
        let rate = s
            .success_rate
            .map_or("-".to_string(), |r| format!("{:.1}%", r * 100.0));
        say!(
            "{} attempts: {} succeeded, {} failed, {} pending; success rate {rate}",
            s.total,
            s.succeeded,
            s.failed,
            s.pending
        );
        let h = &s.handoffs;
        say!(
            "{} handoffs: {} delivered, {} undelivered, {} pending",
            h.total,
            h.delivered,
            h.undelivered,
            h.pending
        );
        say!(
            "duration: avg {}, p50 {}, p95 {}, p99 {}{}",
            ms(s.avg_ms),
            ms(s.p50_ms),
            ms(s.p95_ms),
            ms(s.p99_ms),
            if s.exact { " (exact)" } else { "" }
        );
        let failures: Vec<String> = s
            .failures_by_category
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        if !failures.is_empty() {
            say!("failures: {}", failures.join(", "));
        }
        if !s.top_errors.is_empty() {
            say!("top errors:");
            for e in &s.top_errors {
                let category = e.category.map_or("-", |c| c.as_str());
                say!("  {:>7}  {category:<14}  {}", e.count, e.message);
            }
        }
        let busy: Vec<_> = s.series.iter().filter(|p| p.total > 0).collect();
        if !busy.is_empty() {
            say!("per {} (UTC; empty buckets left out):", s.bucket.as_str());
            for p in busy {
                say!(
                    "  {}  {:>7} total  {:>7} ok  {:>7} failed  {:>7} pending",
                    p.start.format("%Y-%m-%d %H:%M"),
                    p.total,
                    p.succeeded,
                    p.failed,
                    p.pending
                );
            }
        }
    }
}

//! Reading statistics: from the rollups for whole days and hours, from `attempts` for the rest
//! (see [`pieces`]). Values are always bound; the only SQL assembled at run time is the choice
//! among fixed fragments.
//! The same statements serve both back ends: sums are cast back to BIGINT (PostgreSQL's
//! `sum(bigint)` is NUMERIC), conditional counts use `FILTER (WHERE …)`.

use super::{Counts, DAY_MS, HandoffCounts, StatsFilter, Tally};
use crate::attempts::{HandoffState, Trigger};
use crate::category::ErrorCategory;
use crate::store::{Store, StoreError, now_ms, on_backend};
use futures_util::TryStreamExt;
use futures_util::future::try_join_all;
use sqlx::{Database, Encode, QueryBuilder, Type};
use std::collections::BTreeMap;

/// The most points a time series may have (a week of minutes, 416 days of hours).
pub const MAX_SERIES_POINTS: i64 = 10_000;
/// Error groups read from the rollups per query, before merging with the edges' and picking
/// the top ones. A group outside the whole days' top 500 reaches the top ten only if the
/// edges hold more of its failures than the 500th group has in all the whole days; the
/// benchmark and the tests compare top errors with the exact ones.
const ERROR_GROUPS: i64 = 500;

const CATEGORY_SUMS: &str = "CAST(sum(network) AS BIGINT), CAST(sum(timeout) AS BIGINT), \
     CAST(sum(authentication) AS BIGINT), CAST(sum(configuration) AS BIGINT), \
     CAST(sum(validation) AS BIGINT), CAST(sum(server) AS BIGINT)";

#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error(
        "the series would have {points} {bucket} buckets; the most is {MAX_SERIES_POINTS}: \
         narrow the time window or use a coarser bucket"
    )]
    TooManyPoints { points: i64, bucket: &'static str },
    #[error("the window's end must be after its start")]
    EmptyWindow,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for StatsError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::from(e))
    }
}

/// Which rollup rows to read: every day, the whole days `[first, end)`, or the whole hours
/// `[first, end)` (UTC days and hours since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    All,
    Days(i64, i64),
    Hours(i64, i64),
}

impl Span {
    /// The tables' suffix and their time column.
    fn unit(self) -> (&'static str, &'static str) {
        match self {
            Span::All | Span::Days(..) => ("daily", "day"),
            Span::Hours(..) => ("hourly", "hour"),
        }
    }

    /// The day a row counts in for the daily series.
    fn day_of_row(self) -> &'static str {
        match self {
            Span::All | Span::Days(..) => "day",
            Span::Hours(..) => "hour / 24",
        }
    }
}

/// A piece of a time window: rollup rows, or the attempts (handoffs) in `[since, until)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    Rollups(Span),
    Rows(i64, i64),
}

const HOUR_MS: i64 = 3_600_000;

/// Splits a window into what the rollups answer and what must be counted from the rows: whole
/// days from the daily rollups; with `hourly`, the whole hours of the partial days at its edges
/// from the hourly ones; the rest (at most two partial hours, or two partial days without
/// `hourly`) from the rows. `None` for a window open at both ends (every day).
fn pieces(since: Option<i64>, until: Option<i64>, hourly: bool) -> Option<Vec<Piece>> {
    if since.is_none() && until.is_none() {
        return None;
    }
    let mut out = Vec::new();
    let mut edge = |a: i64, b: i64| {
        if a >= b {
            return;
        }
        let (first, end) = (ceil_div(a, HOUR_MS), b.div_euclid(HOUR_MS));
        if !hourly || first >= end {
            out.push(Piece::Rows(a, b));
            return;
        }
        if a < first * HOUR_MS {
            out.push(Piece::Rows(a, first * HOUR_MS));
        }
        out.push(Piece::Rollups(Span::Hours(first, end)));
        if end * HOUR_MS < b {
            out.push(Piece::Rows(end * HOUR_MS, b));
        }
    };
    match whole_days(since, until) {
        Some((first, end)) => {
            if let Some(s) = since {
                edge(s, first * DAY_MS);
            }
            if let Some(u) = until {
                edge(end * DAY_MS, u);
            }
            out.push(Piece::Rollups(Span::Days(first, end)));
        }
        // Both ends are given here (an open end always leaves whole days).
        None => edge(since.unwrap_or(i64::MIN), until.unwrap_or(i64::MAX)),
    }
    Some(out)
}

fn ceil_div(a: i64, b: i64) -> i64 {
    a.div_euclid(b) + i64::from(a.rem_euclid(b) != 0)
}

/// ` AND integration_id = ? AND trigger = ?` as the filter asks (rollups and attempts alike).
fn push_keys<DB: Database>(qb: &mut QueryBuilder<DB>, f: &StatsFilter)
where
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> &'static str: Encode<'t, DB> + Type<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    if let Some(i) = f.integration {
        qb.push(" AND integration_id = ").push_bind(i.to_string());
    }
    if let Some(t) = f.trigger {
        qb.push(" AND trigger = ").push_bind(t.as_str());
    }
}

fn push_span<DB: Database>(qb: &mut QueryBuilder<DB>, span: Span)
where
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> &'static str: Encode<'t, DB> + Type<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    let (first, end) = match span {
        Span::All => return,
        Span::Days(first, end) | Span::Hours(first, end) => (first, end),
    };
    let column = span.unit().1;
    if first > i64::MIN {
        qb.push(format!(" AND {column} >= ")).push_bind(first);
    }
    if end < i64::MAX {
        qb.push(format!(" AND {column} < ")).push_bind(end);
    }
}

/// The attempts filter: keys, session, and `[since, until)`.
fn push_attempts<DB: Database>(
    qb: &mut QueryBuilder<DB>,
    f: &StatsFilter,
    since: Option<i64>,
    until: Option<i64>,
) where
    for<'t> String: Encode<'t, DB> + Type<DB>,
    for<'t> &'static str: Encode<'t, DB> + Type<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    push_keys(qb, f);
    if let Some(s) = &f.session {
        qb.push(" AND session_id = ").push_bind(s.clone());
    }
    if let Some(s) = since {
        qb.push(" AND started_at >= ").push_bind(s);
    }
    if let Some(u) = until {
        qb.push(" AND started_at < ").push_bind(u);
    }
}

fn category_index(category: Option<&str>) -> Option<usize> {
    let c = ErrorCategory::parse(category?)?;
    ErrorCategory::ALL.iter().position(|x| *x == c)
}

impl Store {
    /// Statistics from the rollups (and the attempts at a window's edges): fast on any
    /// history; percentiles within 1% of exact.
    pub async fn stats(&self, f: &StatsFilter) -> Result<super::Stats, StatsError> {
        check_window(f)?;
        let day_series = f.bucket == super::SeriesBucket::Day;
        if !day_series {
            check_points(f, series_span(f, None))?;
        }
        let attempts = async {
            if f.session.is_some() {
                // A session has a handful of attempts, found by their index; rollups don't key
                // it.
                self.tally_attempts(f, f.since_ms, f.until_ms, false, day_series)
                    .await
            } else {
                self.rollups_and_edges(f, day_series).await
            }
        };
        let series = async {
            if day_series {
                Ok(None)
            } else if f.bucket == super::SeriesBucket::Hour
                && f.session.is_none()
                && self.has_hourly_rollups()
            {
                self.hourly_series(f).await.map(Some)
            } else {
                let (_, series) = self
                    .counts_from_attempts(f, f.since_ms, f.until_ms, true)
                    .await?;
                Ok(Some(series))
            }
        };
        // The attempts' figures, the series and the handoffs' counts at once, on connections of
        // their own.
        let (mut tally, series, handoffs) =
            tokio::try_join!(attempts, series, self.handoff_counts(f, false))?;
        if let Some(series) = series {
            tally.series = series;
        }
        let span = self.span(f, &tally)?;
        let mut stats = tally.into_stats(f, false, span);
        stats.handoffs = handoffs;
        Ok(stats)
    }

    /// Statistics computed from every matching attempt, with exact percentiles. Slow on a
    /// large history (it reads every attempt); the reference for [`Store::stats`].
    pub async fn stats_exact(&self, f: &StatsFilter) -> Result<super::Stats, StatsError> {
        check_window(f)?;
        check_points(f, series_span(f, None))?;
        let tally = self
            .tally_attempts(f, f.since_ms, f.until_ms, true, true)
            .await?;
        let span = self.span(f, &tally)?;
        let mut stats = tally.into_stats(f, true, span);
        stats.handoffs = self.handoff_counts(f, true).await?;
        Ok(stats)
    }

    /// The handoffs `f` selects, by state: whole days from the rollups (`stats_handoffs_daily`),
    /// the partial days at a window's edges and a session's handoffs from `handoffs` itself;
    /// everything from `handoffs` when `exact`. (Part of [`Store::stats`]; alone for the
    /// benchmark.)
    pub async fn handoff_counts(
        &self,
        f: &StatsFilter,
        exact: bool,
    ) -> Result<HandoffCounts, StatsError> {
        if f.trigger == Some(Trigger::Test) {
            // Configuration tests are never handoffs.
            return Ok(HandoffCounts::default());
        }
        if exact || f.session.is_some() {
            return self.handoffs_from_rows(f, f.since_ms, f.until_ms).await;
        }
        let pieces = pieces(f.since_ms, f.until_ms, self.has_hourly_rollups())
            .unwrap_or_else(|| vec![Piece::Rollups(Span::All)]);
        let parts = try_join_all(pieces.into_iter().map(|piece| async move {
            match piece {
                Piece::Rollups(span) => self.handoffs_from_rollups(f, span).await,
                Piece::Rows(s, u) => self.handoffs_from_rows(f, Some(s), Some(u)).await,
            }
        }))
        .await?;
        let mut counts = HandoffCounts::default();
        for part in &parts {
            counts.merge(part);
        }
        Ok(counts)
    }

    /// Handoffs created in `span` (whole days or hours), from the rollups.
    async fn handoffs_from_rollups(
        &self,
        f: &StatsFilter,
        span: Span,
    ) -> Result<HandoffCounts, StatsError> {
        let (suffix, _) = span.unit();
        let rows: Vec<(String, i64)> = on_backend!(self, db => {
            let mut qb = QueryBuilder::new(format!(
                "SELECT state, CAST(sum(n) AS BIGINT) FROM stats_handoffs_{suffix} \
                 WHERE origin <> 'test'"
            ));
            push_handoff_trigger(&mut qb, f, true);
            if let Some(i) = f.integration {
                qb.push(" AND integration_id = ").push_bind(i.to_string());
            }
            push_span(&mut qb, span);
            qb.push(" GROUP BY state");
            qb.build_query_as().fetch_all(&db.read).await
        })?;
        let mut counts = HandoffCounts::default();
        for (state, n) in rows {
            counts.add(&state, n.max(0) as u64);
        }
        Ok(counts)
    }

    /// Handoffs created in `[since, until)`, counted from the handoffs themselves.
    async fn handoffs_from_rows(
        &self,
        f: &StatsFilter,
        since: Option<i64>,
        until: Option<i64>,
    ) -> Result<HandoffCounts, StatsError> {
        let rows: Vec<(String, i64)> = on_backend!(self, db => {
            let mut qb = QueryBuilder::new(format!(
                "SELECT {} AS state, count(*) FROM handoffs h WHERE h.origin <> 'test'",
                HandoffState::SQL
            ));
            push_handoff_trigger(&mut qb, f, false);
            if let Some(i) = f.integration {
                qb.push(" AND h.integration_id = ").push_bind(i.to_string());
            }
            if let Some(s) = &f.session {
                qb.push(" AND h.session_id = ").push_bind(s.clone());
            }
            if let Some(s) = since {
                qb.push(" AND h.created_at >= ").push_bind(s);
            }
            if let Some(u) = until {
                qb.push(" AND h.created_at < ").push_bind(u);
            }
            qb.push(" GROUP BY 1");
            qb.build_query_as().fetch_all(&db.read).await
        })?;
        let mut counts = HandoffCounts::default();
        for (state, n) in rows {
            counts.add(&state, n.max(0) as u64);
        }
        Ok(counts)
    }

    async fn rollups_and_edges(&self, f: &StatsFilter, series: bool) -> Result<Tally, StatsError> {
        // Whole days (and hours) inside the window come from the rollups; the rest from the
        // attempts.
        let Some(pieces) = pieces(f.since_ms, f.until_ms, self.has_hourly_rollups()) else {
            return self.rollups(f, Span::All, series).await;
        };
        // Each piece on a connection of its own, at once.
        let parts = try_join_all(pieces.into_iter().map(|piece| async move {
            match piece {
                Piece::Rollups(span) => self.rollups(f, span, series).await,
                Piece::Rows(s, u) => {
                    self.tally_attempts(f, Some(s), Some(u), false, series)
                        .await
                }
            }
        }))
        .await?;
        let mut tally = Tally::default();
        for part in parts {
            tally.merge(part);
        }
        Ok(tally)
    }

    /// Whether the hourly rollups are there (all but history files exported before them).
    fn has_hourly_rollups(&self) -> bool {
        on_backend!(self, db => db.has_hourly_rollups())
    }

    /// Whether the duration rollups over all integrations are there (all but history files
    /// exported before them).
    fn has_all_durations(&self) -> bool {
        on_backend!(self, db => db.has_all_durations())
    }

    /// Counts per `key` (an SQL expression over the rollup's time column: the day, or the hour)
    /// of whole days or hours from the count rollups.
    async fn rollup_counts(
        &self,
        f: &StatsFilter,
        span: Span,
        key: &str,
    ) -> Result<BTreeMap<i64, Counts>, StatsError> {
        /// Key, total, succeeded, failed, pending, timed, duration sum, then the categories.
        type CountRow = (
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
            i64,
        );
        let table = match span {
            Span::All | Span::Days(..) => "stats_daily",
            Span::Hours(..) => "stats_hourly",
        };
        let rows: Vec<CountRow> = on_backend!(self, db => {
            let mut qb = QueryBuilder::new(format!(
                "SELECT {key} AS k, CAST(sum(total) AS BIGINT), CAST(sum(succeeded) AS BIGINT), \
                 CAST(sum(failed) AS BIGINT), CAST(sum(pending) AS BIGINT), \
                 CAST(sum(timed) AS BIGINT), CAST(sum(duration_sum) AS BIGINT), \
                 {CATEGORY_SUMS} FROM {table} WHERE 1 = 1"
            ));
            push_keys(&mut qb, f);
            push_span(&mut qb, span);
            qb.push(" GROUP BY k");
            qb.build_query_as().fetch_all(&db.read).await
        })?;
        let n = |v: i64| v.max(0) as u64;
        Ok(rows
            .into_iter()
            .map(
                |(
                    k,
                    total,
                    succeeded,
                    failed,
                    pending,
                    timed,
                    duration_sum,
                    c0,
                    c1,
                    c2,
                    c3,
                    c4,
                    c5,
                )| {
                    let counts = Counts {
                        total: n(total),
                        succeeded: n(succeeded),
                        failed: n(failed),
                        pending: n(pending),
                        timed: n(timed),
                        duration_sum,
                        by_category: [n(c0), n(c1), n(c2), n(c3), n(c4), n(c5)],
                    };
                    (k, counts)
                },
            )
            .collect())
    }

    /// Counts, durations and errors of whole days or hours from the rollups (with a daily
    /// series when `series`).
    async fn rollups(
        &self,
        f: &StatsFilter,
        span: Span,
        series: bool,
    ) -> Result<Tally, StatsError> {
        let mut tally = Tally::default();

        /// Category, message, failures.
        type ErrorRow = (String, String, i64);
        // Three independent reads, each on a connection of its own.
        let by_day = self.rollup_counts(f, span, span.day_of_row());
        // A window over all integrations reads its durations from the rollups kept over all
        // integrations: a row per trigger and bucket, not one per integration as well.
        let all_durations =
            f.integration.is_none() && span != Span::All && self.has_all_durations();
        let others = async {
            on_backend!(self, db => {
                // All time has tables of its own.
                let table = |name: &str| match span {
                    Span::All => name.to_string(),
                    Span::Days(..) | Span::Hours(..) => format!("{name}_{}", span.unit().0),
                };
                let durations = async {
                    let mut durations = table("stats_durations");
                    if all_durations {
                        durations.push_str("_all");
                    }
                    let mut qb = QueryBuilder::new(format!(
                        "SELECT bucket, CAST(sum(n) AS BIGINT) FROM {durations} WHERE 1 = 1"
                    ));
                    push_keys(&mut qb, f);
                    push_span(&mut qb, span);
                    qb.push(" GROUP BY bucket");
                    qb.build_query_as::<(i64, i64)>().fetch_all(&db.read).await
                };
                let errors = async {
                    let mut qb = QueryBuilder::new(format!(
                        "SELECT category, message, CAST(sum(n) AS BIGINT) AS c FROM {} WHERE 1 = 1",
                        table("stats_errors")
                    ));
                    push_keys(&mut qb, f);
                    push_span(&mut qb, span);
                    qb.push(" GROUP BY category, message HAVING sum(n) > 0 ORDER BY c DESC LIMIT ")
                        .push_bind(ERROR_GROUPS);
                    qb.build_query_as::<ErrorRow>().fetch_all(&db.read).await
                };
                tokio::try_join!(durations, errors)
            })
            .map_err(StatsError::from)
        };
        let (days, (durations, rows)) = tokio::try_join!(by_day, others)?;
        for (day, c) in days {
            tally.counts.merge(&c);
            if series && c.total > 0 {
                tally.series.insert(day, c);
            }
        }
        for (bucket, n) in durations {
            if bucket >= 0 && n > 0 {
                tally.durations.add(bucket as usize, n as u64);
            }
        }
        for (category, message, n) in rows {
            tally.errors.insert((category, message), n as u64);
        }
        Ok(tally)
    }

    /// An hourly series: the whole hours of the window from the hourly rollups, the partial
    /// hours at its edges (at most two) from the attempts.
    async fn hourly_series(&self, f: &StatsFilter) -> Result<BTreeMap<i64, Counts>, StatsError> {
        let first = f.since_ms.map_or(i64::MIN, |s| ceil_div(s, HOUR_MS));
        let end = f.until_ms.map_or(i64::MAX, |u| u.div_euclid(HOUR_MS));
        if first >= end {
            return Ok(self
                .counts_from_attempts(f, f.since_ms, f.until_ms, true)
                .await?
                .1);
        }
        // The partial hour before the first whole one and after the last (an open end has none).
        let edge = |since: Option<i64>, until: Option<i64>| async move {
            match (since, until) {
                (Some(s), Some(u)) if s < u => Ok(self
                    .counts_from_attempts(f, Some(s), Some(u), true)
                    .await?
                    .1),
                _ => Ok::<_, StatsError>(BTreeMap::new()),
            }
        };
        let whole = async {
            let hours = self
                .rollup_counts(f, Span::Hours(first, end), "hour")
                .await?;
            Ok(hours.into_iter().filter(|(_, c)| c.total > 0).collect())
        };
        let (mut series, before, after): (BTreeMap<i64, Counts>, _, _) = tokio::try_join!(
            whole,
            edge(
                f.since_ms,
                f.since_ms.map(|_| first.saturating_mul(HOUR_MS))
            ),
            edge(f.until_ms.map(|_| end.saturating_mul(HOUR_MS)), f.until_ms),
        )?;
        for (hour, c) in before.into_iter().chain(after) {
            series.entry(hour).or_default().merge(&c);
        }
        Ok(series)
    }

    /// Everything about the attempts in `[since, until)`, read from the attempts themselves.
    /// With `series`, also counts per series bucket.
    async fn tally_attempts(
        &self,
        f: &StatsFilter,
        since: Option<i64>,
        until: Option<i64>,
        exact: bool,
        series: bool,
    ) -> Result<Tally, StatsError> {
        let mut tally = Tally::default();
        let (counts, by_bucket) = self.counts_from_attempts(f, since, until, series).await?;
        tally.counts = counts;
        tally.series = by_bucket;

        let rows: Vec<(String, String, i64)> = on_backend!(self, db => {
            // Streamed: an exact tally reads every matching attempt's duration.
            let mut qb = QueryBuilder::new("SELECT duration_ms FROM attempts WHERE 1 = 1");
            push_attempts(&mut qb, f, since, until);
            qb.push(" AND status <> 'pending' AND duration_ms IS NOT NULL");
            let mut rows = qb.build_query_scalar::<i64>().fetch(&db.read);
            while let Some(ms) = rows.try_next().await? {
                if exact {
                    tally.exact_durations.push(ms);
                } else {
                    tally.durations.record(ms);
                }
            }
            drop(rows);

            let mut qb = QueryBuilder::new(
                "SELECT coalesce(category, ''), substr(message, 1, 200), count(*) FROM attempts \
                 WHERE status = 'failed'",
            );
            push_attempts(&mut qb, f, since, until);
            qb.push(" GROUP BY 1, 2");
            qb.build_query_as().fetch_all(&db.read).await?
        });
        for (category, message, n) in rows {
            *tally.errors.entry((category, message)).or_default() += n.max(0) as u64;
        }
        Ok(tally)
    }

    /// The counts of the attempts in `[since, until)`, and with `series` per series bucket.
    async fn counts_from_attempts(
        &self,
        f: &StatsFilter,
        since: Option<i64>,
        until: Option<i64>,
        series: bool,
    ) -> Result<(Counts, BTreeMap<i64, Counts>), StatsError> {
        /// Series bucket, status, category, count, timed count, duration sum.
        type Row = (i64, String, Option<String>, i64, i64, i64);
        let rows: Vec<Row> = on_backend!(self, db => {
            let mut qb = QueryBuilder::new("SELECT ");
            if series {
                qb.push("started_at / ").push_bind(f.bucket.ms());
            } else {
                qb.push("CAST(0 AS BIGINT)");
            }
            qb.push(
                " AS b, status, category, count(*), \
                 count(*) FILTER (WHERE status <> 'pending' AND duration_ms IS NOT NULL), \
                 CAST(coalesce(sum(CASE WHEN status <> 'pending' THEN duration_ms END), 0) \
                      AS BIGINT) \
                 FROM attempts WHERE 1 = 1",
            );
            push_attempts(&mut qb, f, since, until);
            qb.push(" GROUP BY b, status, category");
            qb.build_query_as().fetch_all(&db.read).await
        })?;
        let mut total = Counts::default();
        let mut by_bucket = BTreeMap::new();
        for (b, status, category, n, timed, duration_sum) in rows {
            let n = n.max(0) as u64;
            let mut c = Counts {
                total: n,
                timed: timed.max(0) as u64,
                duration_sum,
                ..Counts::default()
            };
            match status.as_str() {
                "succeeded" => c.succeeded = n,
                "failed" => {
                    c.failed = n;
                    if let Some(i) = category_index(category.as_deref()) {
                        c.by_category[i] = n;
                    }
                }
                _ => c.pending = n,
            }
            total.merge(&c);
            if series {
                by_bucket.entry(b).or_insert_with(Counts::default).merge(&c);
            }
        }
        Ok((total, by_bucket))
    }

    /// The series' first and last bucket: the window's, or the data's where it is open.
    fn span(&self, f: &StatsFilter, tally: &Tally) -> Result<Option<(i64, i64)>, StatsError> {
        let data = tally
            .series
            .first_key_value()
            .zip(tally.series.last_key_value())
            .map(|((a, _), (b, _))| (*a, *b));
        let span = series_span(f, data);
        check_points(f, span)?;
        Ok(span.filter(|(a, b)| a <= b))
    }
}

/// The whole UTC days `[first, end)` inside `[since, until)` (`i64::MIN`/`MAX` where it is
/// open), or `None` when it holds no whole day.
fn whole_days(since: Option<i64>, until: Option<i64>) -> Option<(i64, i64)> {
    let first = since.map_or(i64::MIN, |s| ceil_div(s, DAY_MS));
    let end = until.map_or(i64::MAX, |u| u.div_euclid(DAY_MS));
    (first < end).then_some((first, end))
}

/// The handoff condition of `f.trigger`, over the rollups or over `handoffs h` (the list's rule;
/// `test` selects nothing and is answered before any query).
fn push_handoff_trigger<DB: Database>(qb: &mut QueryBuilder<DB>, f: &StatsFilter, rollups: bool) {
    if f.trigger == Some(Trigger::Test) {
        return;
    }
    if rollups {
        crate::attempts::push_handoff_trigger(qb, f.trigger, "origin", "retried");
    } else {
        crate::attempts::push_handoff_trigger(qb, f.trigger, "h.origin", "h.attempts > 1");
    }
}

/// The first and last series bucket (inclusive): the window's ends, else the data's; an open
/// end after a given start is now.
fn series_span(f: &StatsFilter, data: Option<(i64, i64)>) -> Option<(i64, i64)> {
    let width = f.bucket.ms();
    let first = f
        .since_ms
        .map(|s| s.div_euclid(width))
        .or(data.map(|d| d.0));
    let last = f
        .until_ms
        .map(|u| (u - 1).div_euclid(width))
        .or(f.since_ms.map(|_| now_ms().div_euclid(width)))
        .or(data.map(|d| d.1));
    first.zip(last)
}

/// Refuses a series that would have more than [`MAX_SERIES_POINTS`] points.
fn check_points(f: &StatsFilter, span: Option<(i64, i64)>) -> Result<(), StatsError> {
    if let Some((first, last)) = span {
        let points = last.saturating_sub(first).saturating_add(1);
        if points > MAX_SERIES_POINTS {
            return Err(StatsError::TooManyPoints {
                points,
                bucket: f.bucket.as_str(),
            });
        }
    }
    Ok(())
}

fn check_window(f: &StatsFilter) -> Result<(), StatsError> {
    if let (Some(s), Some(u)) = (f.since_ms, f.until_ms)
        && u <= s
    {
        return Err(StatsError::EmptyWindow);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = HOUR_MS;
    const D: i64 = DAY_MS;

    #[test]
    fn a_window_is_split_into_whole_days_whole_hours_and_partial_hours() {
        let d0 = 20_000 * D;
        // From 05:30 on day 0 to 02:15 on day 3: hours 06–23 of day 0, days 1 and 2, hours
        // 00–01 of day 3, and the two partial hours from the rows.
        let p = pieces(
            Some(d0 + 5 * H + H / 2),
            Some(d0 + 3 * D + 2 * H + H / 4),
            true,
        )
        .unwrap();
        assert_eq!(
            p,
            vec![
                Piece::Rows(d0 + 5 * H + H / 2, d0 + 6 * H),
                Piece::Rollups(Span::Hours(d0 / H + 6, d0 / H + 24)),
                Piece::Rollups(Span::Hours((d0 + 3 * D) / H, (d0 + 3 * D) / H + 2)),
                Piece::Rows(d0 + 3 * D + 2 * H, d0 + 3 * D + 2 * H + H / 4),
                Piece::Rollups(Span::Days(d0 / D + 1, d0 / D + 3)),
            ]
        );
        // Without the hourly rollups (an old history file) the partial days are read.
        let p = pieces(Some(d0 + 5 * H + H / 2), Some(d0 + 3 * D + 2 * H), false).unwrap();
        assert_eq!(
            p,
            vec![
                Piece::Rows(d0 + 5 * H + H / 2, d0 + D),
                Piece::Rows(d0 + 3 * D, d0 + 3 * D + 2 * H),
                Piece::Rollups(Span::Days(d0 / D + 1, d0 / D + 3)),
            ]
        );
        // Whole hours and days: nothing from the rows.
        let p = pieces(Some(d0 + 7 * H), None, true).unwrap();
        assert_eq!(
            p,
            vec![
                Piece::Rollups(Span::Hours(d0 / H + 7, d0 / H + 24)),
                Piece::Rollups(Span::Days(d0 / D + 1, i64::MAX)),
            ]
        );
        // Inside one day: its whole hours and the partial ones; inside one hour: the rows.
        let p = pieces(Some(d0 + H / 2), Some(d0 + 3 * H), true).unwrap();
        assert_eq!(
            p,
            vec![
                Piece::Rows(d0 + H / 2, d0 + H),
                Piece::Rollups(Span::Hours(d0 / H + 1, d0 / H + 3)),
            ]
        );
        let p = pieces(Some(d0 + H / 4), Some(d0 + H / 2), true).unwrap();
        assert_eq!(p, vec![Piece::Rows(d0 + H / 4, d0 + H / 2)]);
        // Open at both ends: every day.
        assert_eq!(pieces(None, None, true), None);
        // Open at the start: every day up to the end's, then its whole and partial hours.
        let p = pieces(None, Some(d0 + H + 1), true).unwrap();
        assert_eq!(
            p,
            vec![
                Piece::Rollups(Span::Hours(d0 / H, d0 / H + 1)),
                Piece::Rows(d0 + H, d0 + H + 1),
                Piece::Rollups(Span::Days(i64::MIN, d0 / D)),
            ]
        );
    }
}

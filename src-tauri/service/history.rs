//! The Stats panel's history: pages of attempts (and of handoffs) with their total count, one
//! attempt with its retry chain and masked data, and CSV exports of the history matching a filter. Everything
//! here shows masked data only; the raw data takes `App::reveal` (audited).

use super::App;
use super::requests::{HandoffsQuery, HistoryQuery};
use crate::attempts::{
    AttemptDetail, AttemptPage, AttemptSummary, HandoffFilter, HandoffPage, HandoffState,
    HistoryFilter, HistorySort, SortKey, SortOrder, TextMatches,
};
use crate::error::AppError;
use crate::ids::{AttemptId, HandoffId};
use crate::stats::StatsFilter;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// The most rows one history page holds.
pub const MAX_PAGE_ROWS: u32 = 1_000;
/// The most rows a streamed CSV export (`GET /api/v1/attempts.csv`) writes.
pub const MAX_CSV_ROWS: u64 = 1_000_000;
/// The most rows a CSV export returned as one text (the desktop's command) holds.
pub const MAX_CSV_TEXT_ROWS: u64 = 100_000;
/// A history page this deep or deeper (and any page of a text search, whose matches are
/// collected once for both) is counted first and read from whichever end is nearer.
const REVERSED_FROM: u64 = 10_000;
/// Rows read from the store per step of an export.
const CSV_CHUNK: u32 = 2_000;

/// How a page counted first (see [`REVERSED_FROM`]) is read.
#[derive(Debug, PartialEq, Eq)]
enum DeepPage {
    PastTheEnd,
    /// In the list's order (the page is in its first half).
    FromTheStart,
    /// In the other order, from `offset` (counted from the end), `limit` rows, then turned
    /// round: the last page may be short.
    FromTheEnd {
        offset: u64,
        limit: u32,
    },
}

impl DeepPage {
    fn of(offset: u64, total: u64, limit: u32) -> Self {
        if offset >= total {
            Self::PastTheEnd
        } else if offset > total / 2 {
            let take = u64::from(limit).min(total - offset);
            Self::FromTheEnd {
                offset: total - offset - take,
                limit: take as u32,
            }
        } else {
            Self::FromTheStart
        }
    }
}

/// One attempt as the detail drawer shows it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct AttemptView {
    pub attempt: AttemptDetail,
    /// Every attempt of the handoff, oldest first.
    pub retry_chain: Vec<AttemptSummary>,
    /// The handoff's collected data, masked (`None` for handoffs recorded before masked copies
    /// were kept). The raw data is only shown by a reveal.
    #[cfg_attr(test, ts(type = "Record<string, unknown> | null"))]
    pub masked_data: Option<Value>,
}

/// The CSV's columns, in order.
pub const CSV_COLUMNS: [&str; 17] = [
    "attemptId",
    "handoffId",
    "startedAt",
    "finishedAt",
    "durationMs",
    "integration",
    "integrationId",
    "sessionId",
    "trigger",
    "automatic",
    "attemptNumber",
    "status",
    "category",
    "statusCode",
    "retryable",
    "message",
    "maskedData",
];

impl App {
    /// One page of the history matching `q` and how many attempts match in all.
    pub async fn history_page_query(&self, q: &HistoryQuery) -> Result<AttemptPage, AppError> {
        let limit = q.limit.unwrap_or(100);
        if !(1..=MAX_PAGE_ROWS).contains(&limit) {
            return Err(AppError::invalid(
                "limit",
                format!("must be 1 to {MAX_PAGE_ROWS}"),
            ));
        }
        let filter = self.history_filter(q, limit).await?;
        let offset = filter.offset.unwrap_or(0);
        // A search's matches are collected once, for the count and the page.
        let mut matches = self.store.text_matches(filter.text.as_deref()).await?;
        if matches.is_none() && offset < REVERSED_FROM {
            let (rows, total) = tokio::try_join!(
                self.store.history(&filter),
                self.store.history_count(&filter)
            )?;
            return Ok(AttemptPage {
                rows,
                total,
                offset,
            });
        }
        // Counted first, so that a page in the second half (deep pages: an offset skips index
        // entries one by one, 40 ms for a million) is read from the end, in the other order.
        let total = self
            .store
            .history_count_with_matches(&filter, matches.as_mut())
            .await?;
        let rows = match DeepPage::of(offset, total, limit) {
            DeepPage::PastTheEnd => Vec::new(),
            DeepPage::FromTheEnd { offset, limit } => {
                let sort = filter.sort.unwrap_or(HistorySort {
                    key: SortKey::StartedAt,
                    descending: true,
                });
                let mut rows = self
                    .store
                    .history_with_matches(
                        &HistoryFilter {
                            sort: Some(HistorySort {
                                descending: !sort.descending,
                                ..sort
                            }),
                            offset: Some(offset),
                            limit: Some(limit),
                            ..filter
                        },
                        matches.as_mut(),
                    )
                    .await?;
                rows.reverse();
                rows
            }
            DeepPage::FromTheStart => {
                self.store
                    .history_with_matches(&filter, matches.as_mut())
                    .await?
            }
        };
        Ok(AttemptPage {
            rows,
            total,
            offset,
        })
    }

    /// One page of the handoff list matching `q` and how many handoffs match in all.
    pub async fn handoffs_page_query(&self, q: &HandoffsQuery) -> Result<HandoffPage, AppError> {
        let limit = q.limit.unwrap_or(100);
        if !(1..=MAX_PAGE_ROWS).contains(&limit) {
            return Err(AppError::invalid(
                "limit",
                format!("must be 1 to {MAX_PAGE_ROWS}"),
            ));
        }
        let filter = self.handoff_filter(q, limit).await?;
        let offset = filter.offset.unwrap_or(0);
        let mut matches = self.store.text_matches(filter.text.as_deref()).await?;
        if matches.is_none() && offset < REVERSED_FROM {
            let (rows, total) = tokio::try_join!(
                async { Ok::<_, AppError>(self.store.handoffs(&filter).await?) },
                self.handoff_total(&filter, None)
            )?;
            return Ok(HandoffPage {
                rows,
                total,
                offset,
            });
        }
        // Counted first (from the rollups, unless text or a category filters it), so that a
        // page in the second half is read from the end in the other order, as the attempt list
        // is (every sort ends in the rowid, so the two orders are exact mirrors).
        let total = self.handoff_total(&filter, matches.as_mut()).await?;
        let rows = match DeepPage::of(offset, total, limit) {
            DeepPage::PastTheEnd => Vec::new(),
            DeepPage::FromTheEnd { offset, limit } => {
                let mut rows = self
                    .store
                    .handoffs_with_matches(
                        &HandoffFilter {
                            order: match filter.order {
                                SortOrder::Asc => SortOrder::Desc,
                                SortOrder::Desc => SortOrder::Asc,
                            },
                            offset: Some(offset),
                            limit: Some(limit),
                            ..filter
                        },
                        matches.as_mut(),
                    )
                    .await?;
                rows.reverse();
                rows
            }
            DeepPage::FromTheStart => {
                self.store
                    .handoffs_with_matches(&filter, matches.as_mut())
                    .await?
            }
        };
        Ok(HandoffPage {
            rows,
            total,
            offset,
        })
    }

    /// How many handoffs match `f`: from the statistics' handoff counts (rollups, milliseconds
    /// on a million handoffs, and the same figure the cards show) when its filters are theirs;
    /// counted from the handoffs (among `matches`, for a search) when it also filters by
    /// category or text.
    async fn handoff_total(
        &self,
        f: &HandoffFilter,
        matches: Option<&mut TextMatches>,
    ) -> Result<u64, AppError> {
        if f.category.is_some() || f.text.is_some() {
            return Ok(self.store.handoff_count_with_matches(f, matches).await?);
        }
        let counts = self
            .store
            .handoff_counts(
                &StatsFilter {
                    integration: f.integration,
                    session: f.session.clone(),
                    since_ms: f.since_ms,
                    until_ms: f.until_ms,
                    trigger: f.trigger,
                    ..StatsFilter::default()
                },
                false,
            )
            .await?;
        Ok(match f.state {
            None => counts.total,
            Some(HandoffState::Delivered) => counts.delivered,
            Some(HandoffState::Undelivered) => counts.undelivered,
            Some(HandoffState::Pending) => counts.pending,
        })
    }

    /// One attempt, its handoff's retry chain and its masked data.
    pub async fn attempt_view(&self, id: AttemptId) -> Result<AttemptView, AppError> {
        let (attempt, retry_chain) = self.attempt(id).await?;
        let masked_data = self
            .store
            .handoff(attempt.summary.handoff_id)
            .await?
            .and_then(|h| h.masked);
        Ok(AttemptView {
            attempt,
            retry_chain,
            masked_data,
        })
    }

    /// The export's filter and how many rows it will write (at most `max_rows`).
    pub async fn history_csv_plan(
        &self,
        q: &HistoryQuery,
        max_rows: u64,
    ) -> Result<(CsvExport, u64), AppError> {
        if q.offset.is_some() || q.limit.is_some() {
            let field = if q.offset.is_some() {
                "offset"
            } else {
                "limit"
            };
            return Err(AppError::invalid(
                field,
                "an export writes every matching attempt (up to its bound); leave it out",
            ));
        }
        let mut filter = self.history_filter(q, CSV_CHUNK).await?;
        let total = self.store.history_count(&filter).await?;
        // Keyset paging, newest first: an offset would re-read every skipped row per chunk.
        filter.sort = None;
        Ok((
            CsvExport {
                filter,
                left: max_rows.min(total),
                header_written: false,
            },
            total,
        ))
    }

    /// The CSV text of the history matching `q`, at most [`MAX_CSV_TEXT_ROWS`] rows.
    pub async fn history_csv_query(&self, q: &HistoryQuery) -> Result<String, AppError> {
        let (mut export, _) = self.history_csv_plan(q, MAX_CSV_TEXT_ROWS).await?;
        let mut out = String::new();
        while let Some(chunk) = export.next_chunk(self).await? {
            out.push_str(&chunk);
        }
        Ok(out)
    }
}

/// An export under way: each [`CsvExport::next_chunk`] reads the next rows from the store.
pub struct CsvExport {
    filter: HistoryFilter,
    left: u64,
    header_written: bool,
}

impl CsvExport {
    /// The next piece of CSV text (the header first), or `None` when done.
    pub async fn next_chunk(&mut self, app: &App) -> Result<Option<String>, AppError> {
        let mut out = String::new();
        if !self.header_written {
            self.header_written = true;
            out.push_str(&CSV_COLUMNS.join(","));
            out.push_str("\r\n");
        }
        if self.left == 0 {
            return Ok((!out.is_empty()).then_some(out));
        }
        self.filter.limit = Some(CSV_CHUNK.min(self.left as u32).max(1));
        let rows = app.store.history(&self.filter).await?;
        if rows.is_empty() {
            self.left = 0;
            return Ok((!out.is_empty()).then_some(out));
        }
        let handoffs: Vec<HandoffId> = rows.iter().map(|r| r.handoff_id).collect();
        let masked = app.store.masked_data(&handoffs).await?;
        for row in &rows {
            write_csv_row(&mut out, row, &masked);
        }
        self.left = self.left.saturating_sub(rows.len() as u64);
        let last = rows.last().expect("not empty");
        self.filter.cursor = Some((last.started_at.timestamp_millis(), last.attempt_id));
        Ok(Some(out))
    }
}

fn write_csv_row(out: &mut String, r: &AttemptSummary, masked: &HashMap<HandoffId, Value>) {
    let opt = |v: Option<String>| v.unwrap_or_default();
    let cells = [
        r.attempt_id.to_string(),
        r.handoff_id.to_string(),
        r.started_at.to_rfc3339(),
        opt(r.finished_at.map(|t| t.to_rfc3339())),
        opt(r.duration_ms.map(|d| d.to_string())),
        r.integration_name.clone(),
        r.integration_id.to_string(),
        r.session_id.clone(),
        r.trigger.as_str().to_string(),
        r.automatic.to_string(),
        r.attempt_number.to_string(),
        r.status.as_str().to_string(),
        opt(r.category.map(|c| c.as_str().to_string())),
        opt(r.status_code.map(|c| c.to_string())),
        r.retryable.to_string(),
        r.message.clone(),
        opt(masked.get(&r.handoff_id).map(Value::to_string)),
    ];
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_csv_cell(out, cell);
    }
    out.push_str("\r\n");
}

/// One CSV cell: a cell a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`,
/// a tab or a carriage return) gets a leading `'`; a cell with a comma, quote or line break is
/// quoted, its quotes doubled (RFC 4180).
pub fn push_csv_cell(out: &mut String, cell: &str) {
    let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = formula || cell.contains([',', '"', '\n', '\r']);
    if quote {
        out.push('"');
    }
    if formula {
        out.push('\'');
    }
    for c in cell.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quote {
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::push_csv_cell;

    fn cell(s: &str) -> String {
        let mut out = String::new();
        push_csv_cell(&mut out, s);
        out
    }

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(cell("=1+1"), "\"'=1+1\"");
        assert_eq!(cell("+41"), "\"'+41\"");
        assert_eq!(cell("-2"), "\"'-2\"");
        assert_eq!(cell("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(cell(""), "");
    }
}

//! Text search over the history: the condition that picks the attempts whose session id,
//! integration name, message or handoff's masked values contain a piece of text
//! (case-insensitive), for the attempt list and for the handoff list (on its last attempt).
//!
//! Served by the `history_search` index (migrations/20270106120000_history_search.sql): on
//! SQLite an FTS5 table with the trigram tokenizer, filled off the hot path (its triggers queue
//! the attempts to index in `history_search_queue`, [`Store::index_history_search`] indexes them
//! in batches, and a search tests the queue's few attempts by the same rule, on their rows; a
//! page collects the matches once, see [`TextMatches`], or, for text many attempts hold, counts
//! them from the index and tests the rows of a page near a list's start by the rule); on
//! PostgreSQL a table with a pg_trgm GIN index, kept by triggers. A trigram index finds text of three characters or more; shorter
//! text is looked for row by row (on SQLite by the same rules, over the same four texts), which
//! reads every attempt.

use crate::store::postgres::Shared;
use crate::store::{Backend, Local, Store, StoreError, TextSearch};
use sqlx::pool::PoolConnection;
use sqlx::{Connection, Database, Encode, Postgres, QueryBuilder, Sqlite, SqliteConnection, Type};

/// Text this long (in characters) or longer is found from the index.
pub const MIN_INDEXED_CHARS: usize = 3;

/// From this many matches on (SQLite), a list is read in its sort's order, keeping the rows
/// among the matches, until its page is full: at a million attempts, text in 5 % of them fills
/// a page from 2,000 index entries, where reading each match's row to sort them all reads
/// 50,000 rows. Below it, the matches' rows are read and sorted.
const IN_ORDER_FROM: u64 = 5_000;

/// A page of a text at least [`IN_ORDER_FROM`] attempts hold is read in its list's order with
/// each row tested by the rule (on its own texts, 16-18 µs a row at a million attempts)
/// when that tests at most this many rows, by the text's density; deeper, or rarer text, the
/// matches are collected. "CONSULT" in 20 % of a million attempts fills a page of 100 from
/// about 500 rows (9 ms), where collecting its 200,000 matches costs 50 ms more than
/// counting them.
const RULE_ROWS: u64 = 2_000;

/// Text is *dense* (see [`TextMatches`]) when its first [`IN_ORDER_FROM`] matches lie among
/// this many times as many attempts (one attempt in ten holds it, about): a first page of it is
/// then cheaper to find by the rule than by collecting its matches. Rarer text is collected in
/// full at once: its count from the index, then its matches collected for the page, would read
/// its doclists twice.
const DENSE_SPAN: u64 = 10;

/// Attempts indexed per transaction: about 10 ms of the store's write lock each on a small
/// store (~100 ms at a million attempts, where FTS5 merges its segments on commit).
pub const INDEX_BATCH: u32 = 1_000;

/// The attempts a text search matches (SQLite with the index), collected once: the index's
/// matches and the queue's attempts that hold the text by the rule, in a TEMP table on a read
/// connection that this holds, so that a page, its count and the choice of plan all read the
/// table instead of the index again (reading the text's doclists is most of a search's cost).
/// Queries that take it run on its connection, one after another.
///
/// The index's matches are collected up to [`IN_ORDER_FROM`] at first: text fewer attempts
/// hold is then complete, in one pass over its doclists. Text many more hold is *dense*
/// ([`DENSE_SPAN`]): a count of it alone reads the index (without writing 200,000 rowids into a
/// table first, which cost as much again), a page near a list's start tests its rows by the
/// rule ([`RULE_ROWS`]), and anything else collects the rest first
/// ([`TextMatches::complete`]). Text between the two is collected in full at once, its index
/// read on past the first matches in the same pass ([`Collect::First`]).
pub struct TextMatches {
    conn: PoolConnection<Sqlite>,
    text: String,
    /// Whether the table holds every match.
    complete: bool,
    /// How many attempts hold the text: collected, or counted from the index once asked.
    attempts: Option<u64>,
    /// How many listed handoffs' last attempt holds it, once counted from the index (dense).
    handoffs: Option<u64>,
    /// The attempts' highest rowid when collected: at least as many as either list holds.
    max_rowid: u64,
}

impl TextMatches {
    /// The connection their table is on, for a query to run among them.
    pub(super) fn connection(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }

    /// Whether the table holds every match (see [`TextMatches::complete`]).
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// How many attempts hold the text, if collected or counted already.
    pub(super) fn known_attempt_count(&self) -> Option<u64> {
        self.attempts
    }

    /// How many listed handoffs' last attempt holds it, if counted already (dense text).
    pub(super) fn known_handoff_count(&self) -> Option<u64> {
        self.handoffs
    }

    /// How many attempts hold the text. A dense text's are counted from the index and the
    /// queue in one statement (one snapshot), once.
    pub async fn attempt_count(&mut self) -> Result<u64, StoreError> {
        if let Some(n) = self.attempts {
            return Ok(n);
        }
        let n = self.count_dense(false).await?;
        self.attempts = Some(n);
        Ok(n)
    }

    /// How many listed handoffs' last attempt holds the text, counted from the index (dense
    /// text only: the matches less those in `history_not_last`, one lookup a match, no row
    /// read), once.
    pub(super) async fn dense_handoff_count(&mut self) -> Result<u64, StoreError> {
        if let Some(n) = self.handoffs {
            return Ok(n);
        }
        let n = self.count_dense(true).await?;
        self.handoffs = Some(n);
        Ok(n)
    }

    async fn count_dense(&mut self, last_only: bool) -> Result<u64, StoreError> {
        let not_last = if last_only {
            " AND rowid NOT IN (SELECT attempt_rowid FROM history_not_last)"
        } else {
            ""
        };
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT (SELECT count(*) FROM history_search WHERE history_search MATCH ",
        );
        q.push_bind(fts5_phrase(&self.text));
        q.push(format!(
            "{not_last}) + (SELECT count(*) FROM attempts WHERE rowid IN \
             (SELECT attempt_rowid FROM history_search_queue){not_last} AND "
        ));
        push_like_rule(&mut q, &self.text, "attempts");
        q.push(")");
        let n: i64 = q.build_query_scalar().fetch_one(&mut *self.conn).await?;
        Ok(n.max(0) as u64)
    }

    /// Collects every match, when only the first [`IN_ORDER_FROM`] of the index's were: for a
    /// count with other conditions, or a page too deep to test its rows by the rule.
    pub(super) async fn complete(&mut self) -> Result<(), StoreError> {
        if self.complete {
            return Ok(());
        }
        let (n, _) = collect(&mut self.conn, &self.text, Collect::All).await?;
        self.attempts = Some(n);
        self.complete = true;
        Ok(())
    }

    /// How a page ending `end` rows into its list finds the text: among the matches (collected
    /// in full first, if they were not), or, for a dense text, by testing the list's rows in
    /// order by the rule when that reads at most [`RULE_ROWS`] of them; `counted` is how many
    /// of the list's rows hold the text, if known.
    pub(super) async fn page_lookup(
        &mut self,
        end: u64,
        counted: Option<u64>,
    ) -> Result<TextLookup, StoreError> {
        if !self.complete {
            if let Some(n) = counted.filter(|&n| n > 0)
                && end.saturating_mul(self.max_rowid) / n <= RULE_ROWS
            {
                return Ok(TextLookup::RuleInOrder);
            }
            self.complete().await?;
        }
        Ok(TextLookup::Matches {
            in_order: self.in_order(),
        })
    }

    /// Whether a list is read in its sort's order, testing each row (see [`IN_ORDER_FROM`]).
    fn in_order(&self) -> bool {
        !self.complete || self.attempts.is_some_and(|n| n >= IN_ORDER_FROM)
    }
}

impl std::fmt::Debug for TextMatches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextMatches")
            .field("complete", &self.complete)
            .field("attempts", &self.attempts)
            .field("handoffs", &self.handoffs)
            .finish_non_exhaustive()
    }
}

/// How many of the index's matches [`collect`] takes.
#[derive(Clone, Copy)]
enum Collect {
    /// Every one.
    All,
    /// The first `limit`, and the rest too when those reach past `sparse_beyond` attempts
    /// (text that is not dense: its rest is wanted next, and read on in the same pass over
    /// the index costs less than collecting again).
    First { limit: u64, sparse_beyond: u64 },
}

/// Collects the attempts holding `text` into the connection's `history_matches` (replacing what
/// it held), in one read snapshot: the index's matches (as `take` says) and every queued
/// attempt holding it by the rule. Returns how many it collected and, when it took only the
/// first of the index's, the highest rowid among them (how far into the attempts they reach).
async fn collect(
    conn: &mut SqliteConnection,
    text: &str,
    take: Collect,
) -> Result<(u64, Option<u64>), StoreError> {
    // The table stays on the connection (its rows are replaced by the next search there):
    // made once, it does not change the schema the connection's statements were prepared on.
    sqlx::query(
        "CREATE TEMP TABLE IF NOT EXISTS history_matches (attempt_rowid INTEGER PRIMARY KEY)",
    )
    .execute(&mut *conn)
    .await?;
    // One snapshot for the index and the queue: an attempt the indexer moves from one to the
    // other in between is neither missed nor counted twice.
    let mut tx = conn.begin().await?;
    sqlx::query("DELETE FROM temp.history_matches")
        .execute(&mut *tx)
        .await?;
    // The index yields rowids in ascending order: the table is appended to.
    let mut q = QueryBuilder::<Sqlite>::new(
        "INSERT INTO temp.history_matches (attempt_rowid) \
         SELECT rowid FROM history_search WHERE history_search MATCH ",
    );
    q.push_bind(fts5_phrase(text));
    if let Collect::First { limit, .. } = take {
        q.push(" LIMIT ")
            .push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
    }
    let mut indexed = q.build().execute(&mut *tx).await?.rows_affected();
    let mut sample_span = None;
    if let Collect::First {
        limit,
        sparse_beyond,
    } = take
        && indexed >= limit
    {
        let span: i64 = sqlx::query_scalar("SELECT max(attempt_rowid) FROM temp.history_matches")
            .fetch_one(&mut *tx)
            .await?;
        if span.max(0) as u64 > sparse_beyond {
            // The rest: the matches past the first `limit` are those past their last rowid
            // (the index's order), which it seeks to.
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO temp.history_matches (attempt_rowid) \
                 SELECT rowid FROM history_search WHERE history_search MATCH ",
            );
            q.push_bind(fts5_phrase(text))
                .push(" AND rowid > ")
                .push_bind(span);
            indexed += q.build().execute(&mut *tx).await?.rows_affected();
        } else {
            sample_span = Some(span.max(0) as u64);
        }
    }
    let mut q = QueryBuilder::<Sqlite>::new(
        "INSERT OR IGNORE INTO temp.history_matches (attempt_rowid) SELECT rowid \
         FROM attempts WHERE rowid IN (SELECT attempt_rowid FROM history_search_queue) AND ",
    );
    push_like_rule(&mut q, text, "attempts");
    let queued = q.build().execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    Ok((indexed + queued, sample_span))
}

/// How a query finds the attempts holding its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TextLookup {
    /// Among the [`TextMatches`] collected on the query's connection; `in_order` keeps SQLite
    /// from reading the list from the matches: it reads the list's own index, in order, and
    /// tests each row against them.
    Matches { in_order: bool },
    /// Each attempt's row tested by the rule (SQLite: text under three characters, or a
    /// history file without the index).
    Rule,
    /// The list read in its order, each row tested by the rule: a dense text's page near the
    /// list's start (SQLite, [`RULE_ROWS`]).
    RuleInOrder,
    /// PostgreSQL's trigram table.
    Trigram,
}

impl TextLookup {
    /// How a query finds its text, given the matches collected in full if any (see
    /// [`TextMatches::complete`], [`TextMatches::page_lookup`]).
    pub(super) fn of(search: TextSearch, matches: Option<&TextMatches>) -> Self {
        match (search, matches) {
            (TextSearch::Trigram, _) => Self::Trigram,
            (_, Some(m)) => Self::Matches {
                in_order: m.in_order(),
            },
            _ => Self::Rule,
        }
    }
}

/// A read connection for one query: the [`TextMatches`]' own (their TEMP table lives on it),
/// or one from the back end's read pool.
pub(super) enum ReadConn<'m, DB: Database> {
    Pooled(PoolConnection<DB>),
    Held(&'m mut PoolConnection<DB>),
}

impl<DB: Database> std::ops::Deref for ReadConn<'_, DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &Self::Target {
        match self {
            Self::Pooled(c) => c,
            Self::Held(c) => c,
        }
    }
}

impl<DB: Database> std::ops::DerefMut for ReadConn<'_, DB> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Self::Pooled(c) => c,
            Self::Held(c) => c,
        }
    }
}

/// Each back end's read connection for a query that may run among [`TextMatches`] (collected
/// on SQLite only: PostgreSQL's planner serves the trigram index itself).
pub(super) trait Reader {
    type DB: Database;
    async fn reader<'m>(
        &self,
        matches: Option<&'m mut TextMatches>,
    ) -> Result<ReadConn<'m, Self::DB>, StoreError>;
}

impl Reader for Local {
    type DB = Sqlite;
    async fn reader<'m>(
        &self,
        matches: Option<&'m mut TextMatches>,
    ) -> Result<ReadConn<'m, Sqlite>, StoreError> {
        Ok(match matches {
            Some(m) => ReadConn::Held(&mut m.conn),
            None => ReadConn::Pooled(self.read.acquire().await?),
        })
    }
}

impl Reader for Shared {
    type DB = Postgres;
    async fn reader<'m>(
        &self,
        _: Option<&'m mut TextMatches>,
    ) -> Result<ReadConn<'m, Postgres>, StoreError> {
        Ok(ReadConn::Pooled(self.read.acquire().await?))
    }
}

impl Store {
    /// Indexes up to `batch` of the finished attempts waiting in the search queue (SQLite; an
    /// attempt still under way waits for its finish, which writes its message), in one
    /// transaction; returns how many. Nothing to do on PostgreSQL, whose triggers index at once,
    /// nor on a history file opened read-only.
    pub async fn index_history_search(&self, batch: u32) -> Result<u64, StoreError> {
        let Backend::Sqlite(local) = self.backend() else {
            return Ok(0);
        };
        if local.text_search() != TextSearch::Fts5 || local.is_read_only() {
            return Ok(0);
        }
        let mut tx = local.write.begin().await?;
        let rowids: Vec<i64> = sqlx::query_scalar(
            "SELECT q.attempt_rowid FROM history_search_queue q \
             JOIN attempts a ON a.rowid = q.attempt_rowid \
             WHERE a.status <> 'pending' ORDER BY q.attempt_rowid LIMIT $1",
        )
        .bind(i64::from(batch))
        .fetch_all(&mut *tx)
        .await?;
        if rowids.is_empty() {
            tx.rollback().await?;
            return Ok(0);
        }
        let list = serde_json::Value::from(rowids.clone()).to_string();
        sqlx::query(
            "INSERT INTO history_search (rowid, text) SELECT attempt_rowid, text \
             FROM history_search_source WHERE attempt_rowid IN (SELECT value FROM json_each($1))",
        )
        .bind(&list)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM history_search_queue \
             WHERE attempt_rowid IN (SELECT value FROM json_each($1))",
        )
        .bind(&list)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rowids.len() as u64)
    }

    /// The attempts holding `text`, collected once for the queries of one page (see
    /// [`TextMatches`]). `None` where there is nothing to collect: no text, text under three
    /// characters (no trigram to look up), a history file without the index, PostgreSQL.
    pub async fn text_matches(
        &self,
        text: Option<&str>,
    ) -> Result<Option<TextMatches>, StoreError> {
        let (Backend::Sqlite(local), Some(text)) = (self.backend(), text) else {
            return Ok(None);
        };
        if local.text_search() != TextSearch::Fts5 || text.chars().count() < MIN_INDEXED_CHARS {
            return Ok(None);
        }
        let mut conn = local.read.acquire().await?;
        let max_rowid: i64 = sqlx::query_scalar("SELECT coalesce(max(rowid), 0) FROM attempts")
            .fetch_one(&mut *conn)
            .await?;
        let first = Collect::First {
            limit: IN_ORDER_FROM,
            sparse_beyond: IN_ORDER_FROM * DENSE_SPAN,
        };
        let (collected, sample_span) = collect(&mut conn, text, first).await?;
        Ok(Some(TextMatches {
            conn,
            text: text.to_owned(),
            complete: sample_span.is_none(),
            attempts: sample_span.is_none().then_some(collected),
            handoffs: None,
            max_rowid: max_rowid.max(0) as u64,
        }))
    }
}

impl Store {
    /// `given`, or else the matches of `text` collected now and kept in `own` (a query called
    /// without a page's matches collects its own).
    pub(super) async fn given_or_text_matches<'m>(
        &self,
        text: Option<&str>,
        given: Option<&'m mut TextMatches>,
        own: &'m mut Option<TextMatches>,
    ) -> Result<Option<&'m mut TextMatches>, StoreError> {
        if given.is_some() {
            return Ok(given);
        }
        *own = self.text_matches(text).await?;
        Ok(own.as_mut())
    }
}

/// Pushes ` AND (…)`: the attempt `alias` (a table alias, e.g. `a`, or the table's name) holds
/// `text`, found as `lookup` says. Nothing is pushed for empty text.
pub(super) fn push_text_condition<DB: Database>(
    q: &mut QueryBuilder<DB>,
    text: &str,
    alias: &str,
    lookup: TextLookup,
) where
    for<'t> String: Encode<'t, DB> + Type<DB>,
{
    if text.is_empty() {
        return;
    }
    match lookup {
        TextLookup::Matches { in_order } => {
            // `+` makes a rowid test an expression, which no index serves.
            let plus = if in_order { "+" } else { "" };
            q.push(format!(
                " AND {plus}{alias}.rowid IN (SELECT attempt_rowid FROM temp.history_matches)"
            ));
        }
        TextLookup::Rule | TextLookup::RuleInOrder => {
            q.push(" AND ");
            push_like_rule(q, text, alias);
        }
        TextLookup::Trigram => {
            // The trigram index serves ILIKE; with fewer than three characters PostgreSQL
            // reads the table instead, by the same rule.
            q.push(format!(
                " AND {alias}.id IN (SELECT attempt_id FROM history_search WHERE text ILIKE "
            ))
            .push_bind(format!("%{}%", like_escape(text)))
            .push(" ESCAPE '\\')");
        }
    }
}

/// Pushes `(…)`: the attempt `alias` holds `text` by the index's rule, tested on its row: `LIKE`
/// over its session id, integration name and message, and over its handoff's masked values.
pub(super) fn push_like_rule<DB: Database>(q: &mut QueryBuilder<DB>, text: &str, alias: &str)
where
    for<'t> String: Encode<'t, DB> + Type<DB>,
{
    let pattern = format!("%{}%", like_escape(text));
    q.push(format!("({alias}.session_id LIKE "))
        .push_bind(pattern.clone())
        .push(format!(" ESCAPE '\\' OR {alias}.integration_name LIKE "))
        .push_bind(pattern.clone())
        .push(format!(" ESCAPE '\\' OR {alias}.message LIKE "))
        .push_bind(pattern.clone())
        .push(format!(
            " ESCAPE '\\' OR EXISTS (SELECT 1 FROM handoffs sh, json_tree(CASE WHEN \
             json_valid(sh.data_masked) THEN sh.data_masked END) j WHERE sh.id = \
             {alias}.handoff_id AND j.type NOT IN ('object', 'array', 'null') AND (CASE \
             j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE j.value END) LIKE "
        ))
        .push_bind(pattern)
        .push(" ESCAPE '\\'))");
}

/// `text` as one FTS5 phrase: the trigram tokenizer matches it as a substring of the indexed
/// text, folding case. Inside a phrase only `"` is special (doubled).
pub(super) fn fts5_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// `text` with LIKE's wildcards (and its escape character) escaped, to be matched literally.
pub(super) fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

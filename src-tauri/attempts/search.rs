//! Text search over the history: the condition that picks the attempts whose session id,
//! integration name, message or handoff's masked values contain a piece of text
//! (case-insensitive), for the attempt list and for the handoff list (on its last attempt).
//!
//! Served by the `history_search` index (migrations/20270106120000_history_search.sql): on
//! SQLite an FTS5 table with the trigram tokenizer, filled off the hot path (its triggers queue
//! the attempts to index in `history_search_queue`, [`Store::index_history_search`] indexes them
//! in batches, and a search tests the queue's few attempts by the same rule, on their rows); on
//! PostgreSQL a table with a pg_trgm GIN index, kept by triggers. A trigram index finds text of
//! three characters or more; shorter text is looked for row by row (on SQLite by the same rules,
//! over the same four texts), which reads every attempt.

use crate::store::{Backend, Store, StoreError, TextSearch};
use sqlx::{Database, Encode, QueryBuilder, Type};

/// Text this long (in characters) or longer is found from the index.
pub const MIN_INDEXED_CHARS: usize = 3;

/// From this many matches on (SQLite), a list is read in its sort's order, keeping the rows
/// among the matches (collected once), until its page is full: at a million attempts, text in
/// 5 % of them fills a page from 2,000 index entries, where reading each match's row to sort
/// them all reads 50,000 rows. Below it, the matches' rows are read and sorted.
const IN_ORDER_FROM: i64 = 5_000;

/// Attempts indexed per transaction: about 10 ms of the store's write lock each.
pub const INDEX_BATCH: u32 = 1_000;

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

    /// Whether a list searched for `text` is read in its sort's order (see [`IN_ORDER_FROM`]):
    /// the index's matches are counted up to that many. PostgreSQL's planner makes this choice
    /// itself, from the trigram index's statistics.
    pub(super) async fn search_in_order(&self, text: Option<&str>) -> Result<bool, StoreError> {
        let (Backend::Sqlite(local), Some(text)) = (self.backend(), text) else {
            return Ok(false);
        };
        if local.text_search() != TextSearch::Fts5 || text.chars().count() < MIN_INDEXED_CHARS {
            return Ok(false);
        }
        let matches: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT rowid FROM history_search \
             WHERE history_search MATCH $1 LIMIT $2)",
        )
        .bind(fts5_phrase(text))
        .bind(IN_ORDER_FROM)
        .fetch_one(&local.read)
        .await?;
        Ok(matches >= IN_ORDER_FROM)
    }
}

/// Pushes ` AND (…)`: the attempt `alias` (a table alias, e.g. `a`, or the table's name) holds
/// `text`. Nothing is pushed for empty text. `in_order` (from [`Store::search_in_order`])
/// keeps SQLite from reading the list from the matches: it reads the list's own index, in
/// order, and tests each row against the matches.
pub(super) fn push_text_condition<DB: Database>(
    q: &mut QueryBuilder<DB>,
    text: &str,
    alias: &str,
    search: TextSearch,
    in_order: bool,
) where
    for<'t> String: Encode<'t, DB> + Type<DB>,
{
    if text.is_empty() {
        return;
    }
    match search {
        TextSearch::Fts5 if text.chars().count() >= MIN_INDEXED_CHARS => {
            // The index's matches, and the queue's attempts (not indexed yet) tested by the
            // rule. `+` makes a rowid test an expression, which no index serves.
            let plus = if in_order { "+" } else { "" };
            q.push(format!(
                " AND ({plus}{alias}.rowid IN (SELECT rowid FROM history_search WHERE \
                 history_search MATCH "
            ))
            .push_bind(fts5_phrase(text))
            .push(format!(
                ") OR ({plus}{alias}.rowid IN (SELECT attempt_rowid FROM history_search_queue) AND "
            ));
            push_like_rule(q, text, alias);
            q.push("))");
        }
        TextSearch::Fts5 | TextSearch::Scan => {
            q.push(" AND ");
            push_like_rule(q, text, alias);
        }
        TextSearch::Trigram => {
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

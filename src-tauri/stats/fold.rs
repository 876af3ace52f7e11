//! Folding a past day's spread rollup rows into one (PostgreSQL only), in the daily rollups and
//! in the hourly ones (one row per key and hour).
//!
//! On a shared store each daily rollup key is spread over up to 8 rows (`spread`, migration
//! `..._rollup_spread.sql`) so that concurrent workers rarely wait on one row. That only matters
//! while a day is being written; afterwards the spread makes every read of that day up to 8×
//! longer than it need be (a 7-day window over ten million attempts read 4.2 million duration
//! rows). So the worker folds each day older than yesterday into `spread = 0`, once in a while.
//!
//! Folding is safe beside writers: one statement per table and day deletes the day's spread
//! rows and adds their sums to the day's row 0. It never makes a writer wait long: spread rows a
//! writer holds are skipped, and a row 0 held past 200 ms leaves the day for the next fold. A late write to a folded day (an attempt that
//! finishes after midnight, a handoff delivered days later) makes its spread row again, and
//! reads sum over every row of a key, so totals never change. Two instances folding at once
//! cannot count a row twice: the second one's `DELETE` skips rows the first one deleted.
//! The SQLite store keeps one row per key and has nothing to fold.
//!
//! The same worker then vacuums the rollup tables ([`Store::vacuum_rollups`]), so that they stay
//! near their live size whatever the server's autovacuum settings.

use crate::store::{Backend, Store, StoreError};

/// A daily or hourly rollup table: its time column (`day` or `hour`), its key columns (besides
/// that and `spread`) and its counters. Every column is one or the other: a column added to a
/// rollup must be added here, or a fold would drop its spread rows' values (the test compares
/// every figure before and after a fold).
struct Rollup {
    table: &'static str,
    unit: Unit,
    keys: &'static str,
    counters: &'static [&'static str],
}

#[derive(Clone, Copy)]
enum Unit {
    Day,
    Hour,
}

impl Unit {
    fn column(self) -> &'static str {
        match self {
            Unit::Day => "day",
            Unit::Hour => "hour",
        }
    }

    fn per_day(self) -> i64 {
        match self {
            Unit::Day => 1,
            Unit::Hour => 24,
        }
    }
}

const COUNTS: &[&str] = &[
    "total",
    "succeeded",
    "failed",
    "pending",
    "timed",
    "duration_sum",
    "network",
    "timeout",
    "authentication",
    "configuration",
    "validation",
    "server",
];

const ROLLUPS: [Rollup; 10] = [
    Rollup {
        table: "stats_daily",
        unit: Unit::Day,
        keys: "integration_id, trigger",
        counters: COUNTS,
    },
    Rollup {
        table: "stats_durations_daily",
        unit: Unit::Day,
        keys: "integration_id, trigger, bucket",
        counters: &["n"],
    },
    Rollup {
        table: "stats_durations_daily_all",
        unit: Unit::Day,
        keys: "trigger, bucket",
        counters: &["n"],
    },
    Rollup {
        table: "stats_errors_daily",
        unit: Unit::Day,
        keys: "integration_id, trigger, category, message",
        counters: &["n"],
    },
    Rollup {
        table: "stats_handoffs_daily",
        unit: Unit::Day,
        keys: "integration_id, origin, retried, state",
        counters: &["n"],
    },
    Rollup {
        table: "stats_hourly",
        unit: Unit::Hour,
        keys: "integration_id, trigger",
        counters: COUNTS,
    },
    Rollup {
        table: "stats_durations_hourly",
        unit: Unit::Hour,
        keys: "integration_id, trigger, bucket",
        counters: &["n"],
    },
    Rollup {
        table: "stats_durations_hourly_all",
        unit: Unit::Hour,
        keys: "trigger, bucket",
        counters: &["n"],
    },
    Rollup {
        table: "stats_errors_hourly",
        unit: Unit::Hour,
        keys: "integration_id, trigger, category, message",
        counters: &["n"],
    },
    Rollup {
        table: "stats_handoffs_hourly",
        unit: Unit::Hour,
        keys: "integration_id, origin, retried, state",
        counters: &["n"],
    },
];

impl Rollup {
    /// Moves one day's spread rows into their rows at spread 0 (`$1`, `$2`: the day's first and
    /// past-the-end value of the time column) and answers how many it moved. Fixed text: the
    /// names come from [`ROLLUPS`].
    fn fold_sql(&self) -> String {
        let Rollup {
            table,
            unit,
            keys,
            counters,
        } = self;
        let at = unit.column();
        let sums = counters
            .iter()
            .map(|c| format!("CAST(sum({c}) AS BIGINT)"))
            .collect::<Vec<_>>()
            .join(", ");
        let adds = counters
            .iter()
            .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let columns = counters.join(", ");
        format!(
            "WITH moved AS (DELETE FROM {table} WHERE ctid IN \
                                (SELECT ctid FROM {table} WHERE {at} >= $1 AND {at} < $2 \
                                 AND spread <> 0 FOR UPDATE SKIP LOCKED) \
                            RETURNING {at}, {keys}, {columns}), \
                  merged AS (INSERT INTO {table} ({at}, {keys}, {columns}, spread) \
                             SELECT {at}, {keys}, {sums}, 0 FROM moved GROUP BY {at}, {keys} \
                             ON CONFLICT ({at}, {keys}, spread) DO UPDATE SET {adds} \
                             RETURNING 1) \
             SELECT count(*) FROM moved"
        )
    }
}

/// What one fold did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Folded {
    /// (table, day) pairs that had spread rows.
    pub days: u64,
    /// Spread rows removed (their counts now in the rows at spread 0).
    pub rows: u64,
    /// (table, day) pairs left for the next fold because a writer held their rows.
    pub skipped: u64,
}

/// How long a fold waits for a row a writer holds before it leaves that day for the next fold.
/// Well under PostgreSQL's `deadlock_timeout` (1 s): should a fold and a writer ever wait on
/// each other, the fold is the one that gives up, never the console's write.
const FOLD_LOCK_TIMEOUT: &str = "SET LOCAL lock_timeout = '200ms'";

impl Store {
    /// Folds the spread rows of every day before `before_day` (days since the epoch, UTC) into
    /// one row per key; a day at a time, each in its own transaction. Nothing on SQLite.
    pub async fn fold_rollup_spread(&self, before_day: i64) -> Result<Folded, StoreError> {
        let Backend::Postgres(db) = self.backend() else {
            return Ok(Folded::default());
        };
        let mut folded = Folded::default();
        for rollup in &ROLLUPS {
            // The days with anything to fold (the time column leads every key).
            let (at, per_day) = (rollup.unit.column(), rollup.unit.per_day());
            let days: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT {at} / {per_day} AS d FROM {} WHERE {at} < $1 AND spread <> 0 \
                 GROUP BY 1 ORDER BY 1",
                rollup.table
            )))
            .bind(before_day.saturating_mul(per_day))
            .fetch_all(&db.read)
            .await?;
            let sql = rollup.fold_sql();
            for day in days {
                let mut tx = db.write.begin().await?;
                sqlx::query(FOLD_LOCK_TIMEOUT).execute(&mut *tx).await?;
                // Spread rows a writer holds are skipped (they fold next time); the rows at
                // spread 0 are waited for, up to the lock timeout.
                let moved = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(day * per_day)
                    .bind((day + 1) * per_day)
                    .fetch_one(&mut *tx)
                    .await;
                match moved {
                    Ok(moved) => {
                        tx.commit().await?;
                        folded.days += 1;
                        folded.rows += moved as u64;
                    }
                    Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => {
                        tx.rollback().await?;
                        folded.skipped += 1;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(folded)
    }

    /// `VACUUM (ANALYZE)` of the rollup tables (PostgreSQL): their rows are rewritten on every
    /// counted attempt, and a server whose autovacuum is off or slow would let the dead versions
    /// pile up (migration `..._rollup_storage.sql`). Cheap while the tables are kept compact.
    /// Nothing on SQLite.
    pub async fn vacuum_rollups(&self) -> Result<(), StoreError> {
        let Backend::Postgres(db) = self.backend() else {
            return Ok(());
        };
        // Outside a transaction (VACUUM cannot run in one).
        let mut conn = db.write.acquire().await?;
        sqlx::query(
            "VACUUM (ANALYZE) stats_daily, stats_durations, stats_durations_daily, stats_errors, \
             stats_errors_daily, stats_handoffs_daily, stats_hourly, stats_durations_hourly, \
             stats_errors_hourly, stats_handoffs_hourly, stats_durations_daily_all, \
             stats_durations_hourly_all",
        )
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

//! Turning a database error into an [`ErrorCategory`] and a message a clinic admin can act on.
//! Categories come from SQLSTATEs (PostgreSQL), error numbers (MySQL) and result codes
//! (SQLite). Messages never carry the password, and leave out the server's text wherever it
//! may quote a collected value (it may be PII).

use crate::integrations::DbType;
use crate::targets::ErrorCategory;
use sqlx::error::DatabaseError;
use sqlx::mysql::MySqlDatabaseError;
use sqlx::postgres::PgDatabaseError;
use std::time::Duration;

/// What the messages need to know about the target.
pub struct Context {
    pub db: DbType,
    /// e.g. `PostgreSQL at db.clinic:5432/records`.
    pub target: String,
    pub username: Option<String>,
    pub connect_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub category: ErrorCategory,
    pub message: String,
}

impl Failure {
    fn new(category: ErrorCategory, message: impl Into<String>) -> Self {
        Self {
            category,
            message: message.into(),
        }
    }
}

pub fn classify(err: &sqlx::Error, cx: &Context) -> Failure {
    use ErrorCategory as C;
    use sqlx::Error as E;
    let target = &cx.target;
    match err {
        E::Database(d) => classify_database(d.as_ref(), cx),
        E::Io(e) => Failure::new(C::Network, format!("could not reach {target}: {e}")),
        E::Tls(e) => Failure::new(
            C::Network,
            format!("the TLS connection to {target} failed: {e} (see database.ssl)"),
        ),
        E::PoolTimedOut => Failure::new(
            C::Timeout,
            format!(
                "no connection to {target} within {} ms (database.connectTimeoutMs): the server is \
                 slow, unreachable or out of connections",
                cx.connect_timeout.as_millis()
            ),
        ),
        E::PoolClosed => Failure::new(
            C::Server,
            "the connection pool was closed while waiting (the integration was changed); try again",
        ),
        E::Configuration(e) => Failure::new(
            C::Configuration,
            format!("the connection settings for {target} are not usable: {e}"),
        ),
        E::Protocol(e) => Failure::new(C::Server, format!("{target} answered unexpectedly: {e}")),
        other => Failure::new(C::Server, format!("{target}: {other}")),
    }
}

fn classify_database(d: &dyn DatabaseError, cx: &Context) -> Failure {
    let (category, detail) = match cx.db {
        DbType::Postgresql => {
            let code = d.code().map(|c| c.into_owned()).unwrap_or_default();
            let column = d
                .try_downcast_ref::<PgDatabaseError>()
                .and_then(PgDatabaseError::column)
                .map(str::to_owned);
            (pg_category(&code), pg_message(&code, d.message(), column))
        }
        DbType::Mysql => {
            let number = d
                .try_downcast_ref::<MySqlDatabaseError>()
                .map(MySqlDatabaseError::number);
            match number {
                Some(n) => (mysql_category(n), mysql_message(n, d.message())),
                None => (ErrorCategory::Server, d.message().to_string()),
            }
        }
        DbType::Sqlite => {
            let code = d.code().and_then(|c| c.parse().ok()).unwrap_or(0);
            (
                sqlite_category(code, d.message()),
                format!("{} (SQLite code {code})", d.message()),
            )
        }
    };
    let user = cx.username.as_deref().unwrap_or("(default)");
    let message = match category {
        ErrorCategory::Authentication => format!(
            "{} refused user '{user}': {detail}; check database.username, the password and the \
             user's privileges on the table",
            cx.target
        ),
        ErrorCategory::Configuration => format!(
            "{}: {detail}; check database.database, database.table and database.fieldMapping",
            cx.target
        ),
        ErrorCategory::Validation => format!("the database rejected the row: {detail}"),
        _ => format!("{}: {detail}", cx.target),
    };
    Failure::new(category, message)
}

pub fn pg_category(code: &str) -> ErrorCategory {
    use ErrorCategory as C;
    match code {
        // 57014 query_canceled (statement_timeout), 55P03 lock_not_available (lock_timeout)
        "57014" | "55P03" => C::Timeout,
        "42501" => C::Authentication,
        _ => match code.get(..2).unwrap_or("") {
            "28" => C::Authentication,
            "22" | "23" => C::Validation,
            // 42P01 undefined table, 42703 undefined column, 3D000 unknown database,
            // 3F000 unknown schema, and the rest of class 42 (the statement does not fit).
            "42" | "3D" | "3F" => C::Configuration,
            "08" => C::Network,
            _ => C::Server,
        },
    }
}

/// Class 22 messages may quote the value (`invalid input syntax for type integer: "..."`), so
/// they are replaced by a description of the code.
fn pg_message(code: &str, message: &str, column: Option<String>) -> String {
    if !code.starts_with("22") {
        return format!("{message} (SQLSTATE {code})");
    }
    let what = match code {
        "22001" => "a value is too long for its column",
        "22003" => "a number is out of range for its column",
        "22007" | "22008" => "a date or time is not valid or out of range",
        "22P02" => "a value does not have the format its column needs",
        "22004" => "a null value is not allowed",
        _ => "a value was not accepted",
    };
    match column {
        Some(c) => format!("{what} (column {c}, SQLSTATE {code})"),
        None => format!("{what} (SQLSTATE {code})"),
    }
}

pub fn mysql_category(number: u16) -> ErrorCategory {
    use ErrorCategory as C;
    match number {
        // access denied (login, database, auth plugin), table/column/routine privileges
        1044 | 1045 | 1698 | 1142 | 1143 | 1370 | 1227 => C::Authentication,
        // unknown table, column, database; unknown table in a multi-table statement
        1146 | 1054 | 1049 | 1109 => C::Configuration,
        // not null, duplicate, no default, too long, bad value, bad date, out of range,
        // foreign keys, check constraints (MySQL 3819, MariaDB 4025), truncated
        1048 | 1062 | 1364 | 1406 | 1366 | 1292 | 1264 | 1452 | 1451 | 1216 | 1217 | 3819
        | 4025 | 1265 | 1367 | 1411 => C::Validation,
        // lock wait timeout, max_execution_time (MySQL), max_statement_time (MariaDB)
        1205 | 3024 | 1969 => C::Timeout,
        // server gone / lost connection (client-side numbers)
        2002 | 2003 | 2005 | 2006 | 2013 | 2055 => C::Network,
        _ => C::Server,
    }
}

/// Some MySQL messages quote the rejected value (`Duplicate entry '...'`, `Incorrect integer
/// value: '...'`); those are replaced.
fn mysql_message(number: u16, message: &str) -> String {
    let text = match number {
        1062 => {
            // "Duplicate entry '<value>' for key '<key>'": keep only the key's name.
            match message.rsplit_once(" for key ") {
                Some((_, key)) => format!(
                    "a row with the same value already exists (unique key {})",
                    key.trim_matches(['\'', '`'])
                ),
                None => "a row with the same value already exists (unique key)".to_string(),
            }
        }
        1366 | 1292 | 1367 | 1411 => {
            "a value does not have the format or range its column needs".to_string()
        }
        _ => message.to_string(),
    };
    format!("{text} (MySQL error {number})")
}

/// On the primary result code (the low byte of the extended one).
pub fn sqlite_category(code: i32, message: &str) -> ErrorCategory {
    use ErrorCategory as C;
    match code & 0xff {
        // SQLITE_TOOBIG (18), SQLITE_CONSTRAINT (19), SQLITE_MISMATCH (20)
        18..=20 => C::Validation,
        // SQLITE_BUSY, SQLITE_LOCKED: the busy timeout ran out
        5 | 6 => C::Timeout,
        // SQLITE_PERM, SQLITE_READONLY, SQLITE_AUTH
        3 | 8 | 23 => C::Authentication,
        // SQLITE_CANTOPEN, SQLITE_NOTADB, SQLITE_CORRUPT
        14 | 26 | 11 => C::Configuration,
        1 if sqlite_names_missing_object(message) => C::Configuration,
        _ => C::Server,
    }
}

/// SQLite reports a missing table or column only as SQLITE_ERROR with a message, so this is
/// the one place a message's text is read (it never decides anything beyond the category).
fn sqlite_names_missing_object(message: &str) -> bool {
    message.starts_with("no such table")
        || message.starts_with("no such column")
        || message.contains("has no column named")
}

/// Errors that mean the table changed since its columns were read: worth one reload.
pub fn suggests_schema_change(db: DbType, err: &sqlx::Error) -> bool {
    let Some(d) = err.as_database_error() else {
        return false;
    };
    match db {
        // undefined table, undefined column, datatype mismatch, and no unique index left for
        // the idempotent insert's ON CONFLICT
        DbType::Postgresql => matches!(
            d.code().as_deref(),
            Some("42P01" | "42703" | "42804" | "42P10")
        ),
        DbType::Mysql => d
            .try_downcast_ref::<MySqlDatabaseError>()
            .is_some_and(|e| matches!(e.number(), 1146 | 1054)),
        DbType::Sqlite => {
            sqlite_names_missing_object(d.message())
                || d.message()
                    .contains("does not match any PRIMARY KEY or UNIQUE constraint")
        }
    }
}

/// A unique value (or primary key) another row already holds.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ErrorCategory as C;

    #[test]
    fn postgres_sqlstates() {
        for (code, cat) in [
            ("28P01", C::Authentication),
            ("28000", C::Authentication),
            ("42501", C::Authentication),
            ("42P01", C::Configuration),
            ("42703", C::Configuration),
            ("3D000", C::Configuration),
            ("23505", C::Validation),
            ("23502", C::Validation),
            ("22P02", C::Validation),
            ("22001", C::Validation),
            ("57014", C::Timeout),
            ("08006", C::Network),
            ("40P01", C::Server),
            ("53300", C::Server),
            ("", C::Server),
        ] {
            assert_eq!(pg_category(code), cat, "{code}");
        }
    }

    #[test]
    fn mysql_numbers() {
        for (n, cat) in [
            (1045, C::Authentication),
            (1044, C::Authentication),
            (1698, C::Authentication),
            (1142, C::Authentication),
            (1143, C::Authentication),
            (1146, C::Configuration),
            (1054, C::Configuration),
            (1049, C::Configuration),
            (1048, C::Validation),
            (1062, C::Validation),
            (1364, C::Validation),
            (1406, C::Validation),
            (1366, C::Validation),
            (1292, C::Validation),
            (1264, C::Validation),
            (1452, C::Validation),
            (1205, C::Timeout),
            (1213, C::Server),
        ] {
            assert_eq!(mysql_category(n), cat, "{n}");
        }
    }

    #[test]
    fn sqlite_codes() {
        assert_eq!(
            sqlite_category(2067, "UNIQUE constraint failed"),
            C::Validation
        );
        assert_eq!(
            sqlite_category(1299, "NOT NULL constraint failed"),
            C::Validation
        );
        assert_eq!(sqlite_category(5, "database is locked"), C::Timeout);
        assert_eq!(sqlite_category(14, "unable to open"), C::Configuration);
        assert_eq!(sqlite_category(8, "readonly"), C::Authentication);
        assert_eq!(sqlite_category(1, "no such table: x"), C::Configuration);
        assert_eq!(
            sqlite_category(1, "table t has no column named y"),
            C::Configuration
        );
        assert_eq!(sqlite_category(1, "something else"), C::Server);
    }

    #[test]
    fn messages_leave_out_quoted_values() {
        let m = mysql_message(1062, "Duplicate entry 'jane@example.com' for key 'email'");
        assert!(!m.contains("jane"), "{m}");
        assert!(m.contains("unique key email"), "{m}");
        let m = mysql_message(
            1366,
            "Incorrect integer value: 'Jane' for column `t`.`a` at row 1",
        );
        assert!(!m.contains("Jane"), "{m}");
        let m = pg_message(
            "22P02",
            "invalid input syntax for type integer: \"Jane\"",
            Some("age".into()),
        );
        assert!(!m.contains("Jane") && m.contains("column age"), "{m}");
        let m = pg_message(
            "23505",
            "duplicate key value violates unique constraint \"k\"",
            None,
        );
        assert!(m.contains("unique constraint"), "{m}");
    }

    #[test]
    fn transport_errors() {
        let cx = Context {
            db: DbType::Postgresql,
            target: "PostgreSQL at 127.0.0.1:1/test".into(),
            username: Some("app".into()),
            connect_timeout: Duration::from_millis(500),
        };
        let refused = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(classify(&refused, &cx).category, C::Network);
        let f = classify(&sqlx::Error::PoolTimedOut, &cx);
        assert_eq!(f.category, C::Timeout);
        assert!(f.message.contains("500 ms"), "{}", f.message);
        assert_eq!(
            classify(&sqlx::Error::Tls("bad certificate".into()), &cx).category,
            C::Network
        );
    }
}

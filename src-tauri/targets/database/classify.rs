//! Turning a database error into an [`ErrorCategory`] and a message a clinic admin can act on.
//! Categories come from SQLSTATEs (PostgreSQL), error numbers (MySQL) and result codes
//! (SQLite). Messages never carry the password, and leave out the server's text wherever it
//! is known to quote a collected value (it may be PII); the server's text that is kept is
//! marked as quoted, so that what is recorded masks any collected value it echoes.

use crate::integrations::{DatabaseConfig, DbType, SslMode, TlsProtection};
use crate::targets::{ErrorCategory, Wording};
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
    /// The TLS mode in use and the CA file, for the messages of failed handshakes.
    pub tls_mode: SslMode,
    pub ca_file: Option<String>,
}

impl Context {
    pub fn of(db: &DatabaseConfig) -> Self {
        Self {
            db: db.db_type,
            target: super::target_label(db),
            username: db.username.clone(),
            connect_timeout: db.connect_timeout(),
            tls_mode: db.tls_mode(),
            ca_file: db.ssl_root_cert.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub category: ErrorCategory,
    pub message: String,
    /// Where `message` quotes the database or the driver (see [`Wording`]).
    pub quoted: Vec<std::ops::Range<usize>>,
}

impl Failure {
    fn new(category: ErrorCategory, message: impl Into<String>) -> Self {
        Self::said(category, Wording::new(message))
    }

    fn said(category: ErrorCategory, wording: Wording) -> Self {
        Self {
            category,
            message: wording.text,
            quoted: wording.quoted,
        }
    }

    /// The message and where it quotes the database.
    pub fn wording(&self) -> Wording {
        Wording {
            text: self.message.clone(),
            quoted: self.quoted.clone(),
        }
    }
}

pub fn classify(err: &sqlx::Error, cx: &Context) -> Failure {
    use ErrorCategory as C;
    use sqlx::Error as E;
    let target = &cx.target;
    if let Some(f) = tls_failure(err, cx) {
        return f;
    }
    match err {
        E::Database(d) => classify_database(d.as_ref(), cx),
        E::Io(e) => Failure::said(
            C::Network,
            Wording::new(format!("could not reach {target}: ")).quote(&e.to_string()),
        ),
        E::Tls(e) => Failure::said(
            C::Network,
            Wording::new(format!("the TLS connection to {target} failed: "))
                .quote(&e.to_string())
                .own(" (see database.ssl)"),
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
        E::Configuration(e) => Failure::said(
            C::Configuration,
            Wording::new(format!(
                "the connection settings for {target} are not usable: "
            ))
            .quote(&e.to_string()),
        ),
        E::Protocol(e) => Failure::said(
            C::Server,
            Wording::new(format!("{target} answered unexpectedly: ")).quote(e),
        ),
        other => Failure::said(
            C::Server,
            Wording::new(format!("{target}: ")).quote(&other.to_string()),
        ),
    }
}

/// A failed TLS set-up, in words that say what to change: a certificate refused (untrusted,
/// for another host, expired), a server without TLS when the mode requires it, or a CA file
/// that cannot be read. Kept `network` (retried) but for the CA file: the server's side may be
/// fixed while handoffs wait.
pub fn tls_failure(err: &sqlx::Error, cx: &Context) -> Option<Failure> {
    use ErrorCategory as C;
    use rustls::{CertificateError as CE, Error as TE};
    let target = &cx.target;
    let mode = cx.tls_mode.as_str();
    let verify_full = SslMode::of(TlsProtection::Verified, cx.db).as_str();
    let verify_ca = SslMode::of(TlsProtection::VerifiedCa, cx.db).as_str();
    let disable = SslMode::of(TlsProtection::Off, cx.db).as_str();
    let io = match err {
        sqlx::Error::Io(io) => io,
        sqlx::Error::Tls(e) if e.to_string().contains("server does not support TLS") => {
            return Some(Failure::new(
                C::Network,
                format!(
                    "{target} does not offer TLS, and database.ssl \"{mode}\" requires it — \
                     enable TLS on the server; only if the data may travel in the clear, set \
                     database.ssl to \"{disable}\""
                ),
            ));
        }
        _ => return None,
    };
    if let Some(ca) = &cx.ca_file
        && matches!(
            io.kind(),
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
        )
    {
        // A TCP connection never fails "not found": this is the CA file.
        return Some(Failure::new(
            C::Configuration,
            format!("the CA file '{ca}' (database.sslRootCert) cannot be read: {io}"),
        ));
    }
    let tls = io.get_ref()?.downcast_ref::<TE>()?;
    let why = match tls {
        TE::InvalidCertificate(CE::UnknownIssuer | CE::BadSignature) => {
            let trusted = match &cx.ca_file {
                Some(ca) => format!("the public CAs and the CA file '{ca}'"),
                None => "the public CAs".to_string(),
            };
            format!(
                "its TLS certificate is not signed by a CA the console trusts ({trusted}) \
                 — give the CA's certificate (PEM) in database.sslRootCert"
            )
        }
        TE::InvalidCertificate(CE::NotValidForName | CE::NotValidForNameContext { .. }) => {
            format!(
                "its TLS certificate is not for the host name it was reached by — set \
                 database.hostname to a name the certificate holds (with database.ssl \
                 \"{mode}\"; \"{verify_ca}\" would skip the host name, which is weaker than \
                 \"{verify_full}\")"
            )
        }
        TE::InvalidCertificate(CE::Expired | CE::ExpiredContext { .. }) => {
            "its TLS certificate has expired — renew it on the server".to_string()
        }
        TE::InvalidCertificate(CE::NotValidYet | CE::NotValidYetContext { .. }) => {
            "its TLS certificate is not valid yet — check the server's certificate and both \
             clocks"
                .to_string()
        }
        TE::InvalidCertificate(other) => {
            format!("its TLS certificate was refused ({other:?}) (database.ssl \"{mode}\")")
        }
        other => format!("the TLS handshake failed: {other} (database.ssl \"{mode}\")"),
    };
    Some(Failure::new(C::Network, format!("{target}: {why}")))
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
                None => (ErrorCategory::Server, Wording::default().quote(d.message())),
            }
        }
        DbType::Sqlite => {
            let code = d.code().and_then(|c| c.parse().ok()).unwrap_or(0);
            (
                sqlite_category(code, d.message()),
                Wording::default()
                    .quote(d.message())
                    .own(&format!(" (SQLite code {code})")),
            )
        }
    };
    let user = cx.username.as_deref().unwrap_or("(default)");
    let wording = match category {
        ErrorCategory::Authentication => {
            Wording::new(format!("{} refused user '{user}': ", cx.target))
                .then(detail)
                .own(
                    "; check database.username, the password and the user's privileges on the \
                     table",
                )
        }
        ErrorCategory::Configuration => Wording::new(format!("{}: ", cx.target))
            .then(detail)
            .own("; check database.database, database.table and database.fieldMapping"),
        ErrorCategory::Validation => Wording::new("the database rejected the row: ").then(detail),
        _ => Wording::new(format!("{}: ", cx.target)).then(detail),
    };
    Failure::said(category, wording)
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
/// they are replaced by a description of the code; other messages are quoted.
fn pg_message(code: &str, message: &str, column: Option<String>) -> Wording {
    if !code.starts_with("22") {
        return Wording::default()
            .quote(message)
            .own(&format!(" (SQLSTATE {code})"));
    }
    let what = match code {
        "22001" => "a value is too long for its column",
        "22003" => "a number is out of range for its column",
        "22007" | "22008" => "a date or time is not valid or out of range",
        "22P02" => "a value does not have the format its column needs",
        "22004" => "a null value is not allowed",
        _ => "a value was not accepted",
    };
    Wording::new(match column {
        Some(c) => format!("{what} (column {c}, SQLSTATE {code})"),
        None => format!("{what} (SQLSTATE {code})"),
    })
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
/// value: '...'`); those are replaced. Others are quoted.
fn mysql_message(number: u16, message: &str) -> Wording {
    let wording = match number {
        1062 => {
            // "Duplicate entry '<value>' for key '<key>'": keep only the key's name.
            match message.rsplit_once(" for key ") {
                Some((_, key)) => {
                    Wording::new("a row with the same value already exists (unique key ")
                        .quote(key.trim_matches(['\'', '`']))
                        .own(")")
                }
                None => Wording::new("a row with the same value already exists (unique key)"),
            }
        }
        1366 | 1292 | 1367 | 1411 => {
            Wording::new("a value does not have the format or range its column needs")
        }
        _ => Wording::default().quote(message),
    };
    wording.own(&format!(" (MySQL error {number})"))
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
        let m = mysql_message(1062, "Duplicate entry 'jane@example.com' for key 'email'").text;
        assert!(!m.contains("jane"), "{m}");
        assert!(m.contains("unique key email"), "{m}");
        let m = mysql_message(
            1366,
            "Incorrect integer value: 'Jane' for column `t`.`a` at row 1",
        )
        .text;
        assert!(!m.contains("Jane"), "{m}");
        let m = pg_message(
            "22P02",
            "invalid input syntax for type integer: \"Jane\"",
            Some("age".into()),
        )
        .text;
        assert!(!m.contains("Jane") && m.contains("column age"), "{m}");
        let m = pg_message(
            "23505",
            "duplicate key value violates unique constraint \"k\"",
            None,
        );
        assert!(m.text.contains("unique constraint"), "{}", m.text);
        // The server's own words are quoted (masked by search when recorded); the console's
        // are not.
        assert_eq!(m.masked(|_| "<quoted>".into()), "<quoted> (SQLSTATE 23505)");
        let m = mysql_message(1644, "rejected Jane Doe");
        assert_eq!(
            m.masked(|q| format!("<{q}>")),
            "<rejected Jane Doe> (MySQL error 1644)"
        );
    }

    #[test]
    fn transport_errors() {
        let cx = Context {
            db: DbType::Postgresql,
            target: "PostgreSQL at 127.0.0.1:1/test".into(),
            username: Some("app".into()),
            connect_timeout: Duration::from_millis(500),
            tls_mode: SslMode::VerifyFull,
            ca_file: None,
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

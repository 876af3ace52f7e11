//! The checks of a database integration, over one direct connection (never the delivery pool):
//! `connect` (DNS and the connection), `authenticate` (the server lets the user in; PostgreSQL
//! and MySQL), `query` (`SELECT 1`), `tls` (verified, encrypted but not verified, or in the
//! clear; only verified is healthy off this machine; not listed for SQLite), `table`, `columns`
//! (every mapped column exists with a type the field's values convert to), `requiredColumns`
//! (NOT NULL columns without a default that no field fills), `idempotency` (the column
//! `handoffId` goes to, and whether it is unique: information that never lowers the status) and
//! `insertPrivilege`. Fixed values (`database.fixedValues`) count as they are inserted: their
//! columns must exist and take them, and they fill NOT NULL columns. Nothing is written.
//!
//! Connecting and logging in are one exchange: a bare TCP probe first would count as a failed
//! connection on MySQL, which blocks the host after `max_connect_errors`. So `connect` and
//! `authenticate` share its time, and the error tells which of the two failed.

use super::{Checks, HealthStatus, Outcome, healthy, is_loopback, resolve, worst};
use crate::integrations::{
    DatabaseConfig, DbType, FieldType, IntegrationConfig, SslMode, TlsProtection,
};
use crate::targets::ResolvedIntegration;
use crate::targets::database::inspect::{
    Column, ColumnKind, ConnectError, InsertPrivilege, Inspector, TableRef, TableSchema, accepts,
    password, target_label,
};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

pub async fn check(integration: &ResolvedIntegration, db: &DatabaseConfig, checks: &mut Checks) {
    let Some(mut conn) = connect(integration, db, checks).await else {
        for name in [
            "query",
            "tls",
            "table",
            "columns",
            "requiredColumns",
            "idempotency",
            "insertPrivilege",
        ] {
            if name == "tls" && db.db_type == DbType::Sqlite {
                continue;
            }
            checks.step(name, async { healthy((), None) }).await;
        }
        return;
    };
    checks
        .step("query", async {
            conn.ping(db).await?;
            healthy((), None)
        })
        .await;
    if db.db_type != DbType::Sqlite {
        checks.step("tls", tls(&mut conn, db)).await;
    }
    let table = checks.step("table", table(&mut conn, db)).await;
    let table = table.as_ref();
    let config = &integration.config;
    checks
        .step("columns", async {
            let t = table.ok_or_else(String::new)?;
            columns(config, db, t)
        })
        .await;
    checks
        .step("requiredColumns", async {
            let t = table.ok_or_else(String::new)?;
            required_columns(config, db, t)
        })
        .await;
    checks
        .step("idempotency", async {
            let t = table.ok_or_else(String::new)?;
            idempotency(db, t)
        })
        .await;
    checks
        .step("insertPrivilege", async {
            let t = table.ok_or_else(String::new)?;
            insert_privilege(&mut conn, db, t).await
        })
        .await;
    let _ = tokio::time::timeout(Duration::from_secs(1), conn.close()).await;
}

/// `connect` and `authenticate` (see the module's doc); the open connection when both passed.
async fn connect(
    integration: &ResolvedIntegration,
    db: &DatabaseConfig,
    checks: &mut Checks,
) -> Option<Inspector> {
    let sqlite = db.db_type == DbType::Sqlite;
    if sqlite && !std::path::Path::new(&db.database).is_file() {
        checks.push(
            "connect",
            HealthStatus::Error,
            Duration::ZERO,
            Some(format!(
                "the SQLite file '{}' does not exist — check database.database",
                db.database
            )),
        );
        checks.block("connect");
        return None;
    }
    // The connect timeout bounds it as it bounds deliveries, when it is the shorter.
    let limit = checks.timeout.min(db.connect_timeout());
    let host = db.hostname.as_deref().unwrap_or("localhost");
    let port = db.port.or(db.db_type.default_port()).unwrap_or_default();
    let started = Instant::now();
    let attempt = async {
        if !sqlite {
            resolve(host, port, "database.hostname")
                .await
                .map_err(ConnectError::Network)?;
        }
        Inspector::connect(integration.id, db, password(integration, db)).await
    };
    let result = tokio::time::timeout(limit, attempt).await;
    let took = started.elapsed();
    let target = target_label(db);
    match result {
        Ok(Ok(conn)) => {
            checks.push("connect", HealthStatus::Healthy, took, Some(target));
            if !sqlite {
                let user = db.username.as_deref().unwrap_or("(default)");
                checks.push(
                    "authenticate",
                    HealthStatus::Healthy,
                    took,
                    Some(format!("logged in as '{user}'")),
                );
            }
            Some(conn)
        }
        Ok(Err(ConnectError::Login(reason))) => {
            checks.push("connect", HealthStatus::Healthy, took, Some(target));
            checks.push("authenticate", HealthStatus::Error, took, Some(reason));
            checks.block("authenticate");
            None
        }
        Ok(Err(ConnectError::Network(reason))) => {
            checks.push("connect", HealthStatus::Error, took, Some(reason));
            checks.block("connect");
            if !sqlite {
                checks
                    .step("authenticate", async { healthy((), None) })
                    .await;
            }
            None
        }
        Err(_) => {
            let setting = if limit < checks.timeout {
                " (database.connectTimeoutMs)"
            } else {
                ""
            };
            checks.push(
                "connect",
                HealthStatus::Error,
                took,
                Some(format!(
                    "no answer from {host}:{port} within {} ms{setting} — is the database \
                     running and reachable from this machine?",
                    limit.as_millis()
                )),
            );
            checks.block("connect");
            if !sqlite {
                checks
                    .step("authenticate", async { healthy((), None) })
                    .await;
            }
            None
        }
    }
}

/// Which of three the connection is: verified (healthy), encrypted but not verified, or in the
/// clear (warnings; healthy on loopback, where the data does not leave the machine). The mode
/// says it, except `prefer`, which is encrypted only when the server offered TLS: the server is
/// asked then.
async fn tls(conn: &mut Inspector, db: &DatabaseConfig) -> Outcome<()> {
    let mode = db.tls_mode();
    let encrypted = match mode.protection() {
        TlsProtection::Off => false,
        TlsProtection::Opportunistic => match conn.tls_in_use(db).await {
            Ok(in_use) => in_use.unwrap_or(true),
            // Not knowing is no reason to skip the table's checks.
            Err(why) => {
                return Ok((
                    (),
                    HealthStatus::Warning,
                    Some(format!(
                        "could not tell whether the connection is encrypted: {why}"
                    )),
                ));
            }
        },
        _ => true,
    };
    tls_verdict(db, encrypted)
}

fn tls_verdict(db: &DatabaseConfig, encrypted: bool) -> Outcome<()> {
    let host = db.host();
    let mode = db.tls_mode();
    let setting = match db.ssl {
        Some(_) => format!("database.ssl \"{}\"", mode.as_str()),
        None => format!("database.ssl not set, so \"{}\"", mode.as_str()),
    };
    let verify_full = SslMode::of(TlsProtection::Verified, db.db_type).as_str();
    let fix = format!(
        "set database.ssl to \"{verify_full}\" (with database.sslRootCert for a private CA)"
    );
    let (level, warning) = match (encrypted, mode.protection()) {
        (false, _) => (
            "not encrypted".to_string(),
            format!(
                "collected data travels in the clear to {host} — enable TLS on the server and \
                 {fix}"
            ),
        ),
        (true, TlsProtection::Verified) => {
            return healthy(
                (),
                Some(format!(
                    "verified: encrypted, certificate and host name checked ({setting})"
                )),
            );
        }
        (true, TlsProtection::VerifiedCa) => (
            "encrypted, certificate verified but not its host name".to_string(),
            format!("any certificate from the CA would be taken for {host} — {fix}"),
        ),
        (true, _) => (
            "encrypted but not verified".to_string(),
            format!(
                "the certificate is not checked, so a machine in between could read the data — \
                 {fix}"
            ),
        ),
    };
    if is_loopback(host) {
        return healthy(
            (),
            Some(format!(
                "{level} ({setting}): fine here, the database is on this machine and the data \
                 does not leave it"
            )),
        );
    }
    Ok((
        (),
        HealthStatus::Warning,
        Some(format!("{level} ({setting}): {warning}")),
    ))
}

async fn table(conn: &mut Inspector, db: &DatabaseConfig) -> Outcome<TableSchema> {
    let table_ref = TableRef::parse(&db.table)?;
    match conn.table(db, &table_ref).await? {
        Some(t) => {
            let reason = format!("{} ({} columns)", t.full_name(), t.columns.len());
            healthy(t, Some(reason))
        }
        None => Err(format!(
            "table '{}' was not found in {} (or user '{}' cannot see it) — check database.table \
             and the user's privileges",
            db.table,
            target_label(db),
            db.username.as_deref().unwrap_or("(default)")
        )),
    }
}

/// Values a field of this type may hold, after the field schema's checks (`check_data`):
/// what its column must take. Also the type's name, and the type itself when the field declares
/// one (conversions to SQLite's conventions depend on it).
fn samples(config: &IntegrationConfig, field: &str) -> (String, Option<FieldType>, Vec<Value>) {
    let text = || {
        // Free text may hold anything, so some of it fits most columns.
        vec![
            json!("Jane"),
            json!("42"),
            json!("12.5"),
            json!("true"),
            json!("2024-05-31"),
            json!("14:30"),
            json!("2024-05-31T14:30:00Z"),
            json!("0190a3f0-0000-7000-8000-000000000001"),
        ]
    };
    match field {
        "timestamp" => {
            return (
                "timestamp".into(),
                Some(FieldType::Datetime),
                vec![json!("2024-05-31T14:30:00Z")],
            );
        }
        "sessionId" => {
            return (
                "sessionId".into(),
                Some(FieldType::Text),
                vec![json!("session-1")],
            );
        }
        "handoffId" => {
            return (
                "handoffId".into(),
                Some(FieldType::Uuid),
                vec![json!("0190a3f0-0000-7000-8000-000000000001")],
            );
        }
        _ => {}
    }
    let Some(spec) = config.field(field) else {
        return ("text".into(), None, text());
    };
    let values = match spec.field_type {
        FieldType::Text => text(),
        FieldType::Name | FieldType::FirstName | FieldType::LastName => vec![json!("Jane Doe")],
        FieldType::Email => vec![json!("jane@example.org")],
        FieldType::Phone => vec![json!("+1 555 0100")],
        FieldType::Date => vec![json!("2024-05-31")],
        FieldType::Datetime => vec![json!("2024-05-31T14:30:00Z")],
        FieldType::Time => vec![json!("14:30")],
        FieldType::Integer => vec![json!(42)],
        FieldType::Number => vec![json!(12.5), json!(3)],
        FieldType::Boolean => vec![json!(true), json!(false)],
        FieldType::Enum => spec.values.iter().map(|v| json!(v)).collect(),
        FieldType::Address => vec![json!("1 Main St"), json!({"street": "1 Main St"})],
        FieldType::PostalCode => vec![json!("12345"), json!("SW1A 1AA")],
        FieldType::Uuid => vec![json!("0190a3f0-0000-7000-8000-000000000001")],
    };
    (
        spec.field_type.as_str().into(),
        Some(spec.field_type),
        values,
    )
}

fn kind_words(kind: ColumnKind) -> &'static str {
    match kind {
        ColumnKind::Integer => "whole numbers",
        ColumnKind::Float | ColumnKind::Decimal => "numbers",
        ColumnKind::Boolean => "true/false",
        ColumnKind::Date => "dates",
        ColumnKind::Time => "times",
        ColumnKind::Timestamp | ColumnKind::TimestampTz => "dates with times",
        ColumnKind::Json => "JSON",
        ColumnKind::Uuid => "UUIDs",
        ColumnKind::Text | ColumnKind::Other => "text",
    }
}

/// Every mapped column exists and takes the field's values; every fixed value's column exists
/// and takes it.
fn columns(config: &IntegrationConfig, db: &DatabaseConfig, t: &TableSchema) -> Outcome<()> {
    let mut problems: Vec<(HealthStatus, String)> = Vec::new();
    let known = || {
        let mut known: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        known.truncate(40);
        known.join(", ")
    };
    for (column, value) in &db.fixed_values {
        match t.column(column) {
            None => problems.push((
                HealthStatus::Error,
                format!(
                    "column '{column}' (given a fixed value) does not exist in {}; its columns \
                     are: {} — fix database.fixedValues.{column}",
                    t.full_name(),
                    known()
                ),
            )),
            Some(c) if !accepts(db.db_type, c.kind, None, value) => problems.push((
                HealthStatus::Error,
                format!(
                    "the fixed value {value} cannot be stored in column {} ({}, which takes {}) \
                     — change database.fixedValues.{column}",
                    c.name,
                    c.type_name,
                    kind_words(c.kind)
                ),
            )),
            Some(_) => {}
        }
    }
    for (field, column) in &db.field_mapping {
        let Some(c) = t.column(column) else {
            problems.push((
                HealthStatus::Error,
                format!(
                    "column '{column}' (field '{field}') does not exist in {}; its columns are: \
                     {} — fix database.fieldMapping.{field}",
                    t.full_name(),
                    known()
                ),
            ));
            continue;
        };
        let (type_name, field_type, values) = samples(config, field);
        let fit = values
            .iter()
            .filter(|v| accepts(db.db_type, c.kind, field_type, v))
            .count();
        if fit == values.len() {
            continue;
        }
        let (status, how) = if fit == 0 {
            (HealthStatus::Error, "cannot be stored in")
        } else {
            (HealthStatus::Warning, "may not fit")
        };
        problems.push((
            status,
            format!(
                "field '{field}' ({type_name}) {how} column {} ({}, which takes {}) — change the \
                 field's type or map it to another column",
                c.name,
                c.type_name,
                kind_words(c.kind)
            ),
        ));
    }
    if problems.is_empty() {
        let fixed = match db.fixed_values.len() {
            0 => String::new(),
            1 => " (and 1 fixed value's)".to_string(),
            n => format!(" (and {n} fixed values')"),
        };
        return healthy(
            (),
            Some(format!(
                "{} mapped columns{fixed} exist with compatible types",
                db.field_mapping.len()
            )),
        );
    }
    let status = worst(problems.iter().map(|p| p.0));
    let reason = problems
        .into_iter()
        .map(|p| p.1)
        .collect::<Vec<_>>()
        .join("; ");
    // An error, but not one the checks after it depend on.
    Ok(((), status, Some(reason)))
}

/// NOT NULL columns without a default must get a value from the mapping or a fixed value; an
/// optional field mapped to one is a warning (a handoff without it is refused).
fn required_columns(
    config: &IntegrationConfig,
    db: &DatabaseConfig,
    t: &TableSchema,
) -> Outcome<()> {
    let fixed = |c: &Column| {
        db.fixed_values
            .keys()
            .any(|f| t.column(f).is_some_and(|fc| fc.name == c.name))
    };
    let needs_value = |c: &&Column| !c.nullable && !c.has_default && !c.generated && !fixed(c);
    let mapped_to = |column: &str| {
        db.field_mapping
            .iter()
            .find(|(_, mapped)| t.column(mapped).is_some_and(|c| c.name == column))
            .map(|(field, _)| field.as_str())
    };
    let mut unmapped = Vec::new();
    let mut optional = Vec::new();
    for c in t.columns.iter().filter(needs_value) {
        match mapped_to(&c.name) {
            None => unmapped.push(c.name.as_str()),
            Some(field) => {
                let always_there = crate::templating::BUILTINS.contains(&field)
                    || config.field(field).is_some_and(|f| f.required);
                if !always_there {
                    optional.push(format!("'{field}' (column {})", c.name));
                }
            }
        }
    }
    if !unmapped.is_empty() {
        // An error, but not one the checks after it depend on.
        return Ok((
            (),
            HealthStatus::Error,
            Some(format!(
                "column(s) {} of {} are NOT NULL without a default and no field is mapped to them: \
             every insert will fail — map a field to them (database.fieldMapping), give them a \
             fixed value (database.fixedValues) or a default",
                unmapped.join(", "),
                t.full_name()
            )),
        ));
    }
    if !optional.is_empty() {
        return Ok((
            (),
            HealthStatus::Warning,
            Some(format!(
                "optional field(s) {} go to NOT NULL columns without a default: a handoff \
                 without them will be refused — make the fields required or give the columns a \
                 default",
                optional.join(", ")
            )),
        ));
    }
    healthy((), None)
}

/// The column `handoffId` goes to, and whether it is unique on its own: then delivery's insert is
/// idempotent and a retry never adds a second row. Without one, a retry after a crash (the row
/// committed, the attempt not recorded) inserts the row again. Information only: healthy either
/// way, the reason says which.
fn idempotency(db: &DatabaseConfig, t: &TableSchema) -> Outcome<()> {
    let reason = match db.field_mapping.get("handoffId") {
        None => "no idempotency column: a retry after a crash may insert a second row — map \
                 handoffId to a unique column (database.fieldMapping)"
            .to_string(),
        Some(column) => match t.column(column) {
            // `columns` reports it.
            None => format!(
                "handoffId → {column}, a column {} does not have",
                t.full_name()
            ),
            Some(c) if t.is_unique(&c.name) => format!(
                "handoffId → {} (unique): a retry never inserts a second row",
                c.name
            ),
            Some(c) => format!(
                "handoffId → {0}, which is not unique: a retry after a crash may insert a second \
                 row — add a UNIQUE constraint on {0}",
                c.name
            ),
        },
    };
    healthy((), Some(reason))
}

async fn insert_privilege(
    conn: &mut Inspector,
    db: &DatabaseConfig,
    t: &TableSchema,
) -> Outcome<()> {
    let columns: Vec<&str> = db
        .field_mapping
        .values()
        .chain(db.fixed_values.keys())
        .filter_map(|m| t.column(m).map(|c| c.name.as_str()))
        .collect();
    let user = db.username.as_deref().unwrap_or("(default)");
    match conn.insert_privilege(db, t, &columns).await? {
        InsertPrivilege::Granted => healthy((), None),
        InsertPrivilege::Denied(_) if db.db_type == DbType::Sqlite => Err(format!(
            "the SQLite file '{}' is not writable by this console — check the file's permissions",
            db.database
        )),
        InsertPrivilege::Denied(cols) if cols.is_empty() => Err(format!(
            "user '{user}' may not insert into {} — grant it INSERT on the table",
            t.full_name()
        )),
        InsertPrivilege::Denied(cols) => Err(format!(
            "user '{user}' may not insert into column(s) {} of {} — grant it INSERT on them",
            cols.join(", "),
            t.full_name()
        )),
        InsertPrivilege::Unknown(why) => Ok((
            (),
            HealthStatus::Warning,
            Some(format!(
                "could not tell whether user '{user}' may insert: {why}"
            )),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(host: &str, ssl: Value) -> DatabaseConfig {
        let mut section = json!({"type": "postgresql", "hostname": host, "database": "d",
                                 "username": "u", "table": "t", "fieldMapping": {"a": "a"}});
        if !ssl.is_null() {
            section["ssl"] = ssl;
        }
        serde_json::from_value(section).unwrap()
    }

    #[test]
    fn tls_is_verified_encrypted_or_in_the_clear_and_only_verified_is_healthy_off_this_machine() {
        let verdict = |host: &str, ssl: Value, encrypted: bool| {
            let (_, status, reason) = tls_verdict(&db(host, ssl), encrypted).unwrap();
            (status, reason.unwrap())
        };
        let (status, reason) = verdict("db.example.org", Value::Null, true);
        assert_eq!(status, HealthStatus::Healthy);
        assert!(reason.starts_with("verified:"), "{reason}");
        assert!(reason.contains("not set, so \"verify-full\""), "{reason}");
        for (ssl, level) in [
            (json!("require"), "encrypted but not verified"),
            (json!("prefer"), "encrypted but not verified"),
            (
                json!("verify-ca"),
                "encrypted, certificate verified but not its host name",
            ),
        ] {
            let (status, reason) = verdict("db.example.org", ssl, true);
            assert_eq!(status, HealthStatus::Warning, "{reason}");
            assert!(reason.starts_with(level), "{reason}");
            assert!(
                reason.contains("set database.ssl to \"verify-full\""),
                "{reason}"
            );
        }
        let (status, reason) = verdict("db.example.org", json!("prefer"), false);
        assert_eq!(status, HealthStatus::Warning);
        assert!(
            reason.starts_with("not encrypted (database.ssl \"prefer\")"),
            "{reason}"
        );
        // On this machine the data does not travel: healthy whatever the level.
        for host in ["127.0.0.1", "localhost", "::1"] {
            let (status, reason) = verdict(host, Value::Null, false);
            assert_eq!(status, HealthStatus::Healthy, "{reason}");
            assert!(reason.starts_with("not encrypted (database.ssl not set, so \"prefer\")"));
        }
    }

    #[test]
    fn field_types_fit_columns_as_delivery_converts_them() {
        let config: IntegrationConfig = serde_json::from_value(json!({
            "name": "t", "kind": "database",
            "fields": [{"name": "d", "type": "date"}, {"name": "b", "type": "boolean"},
                       {"name": "n", "type": "number"}, {"name": "e", "type": "enum",
                        "values": ["1", "2"]}],
            "database": {"type": "sqlite", "database": "x", "table": "t",
                         "fieldMapping": {"d": "d"}}
        }))
        .unwrap();
        let fits_in = |db, field: &str, kind| {
            let (_, field_type, values) = samples(&config, field);
            match values
                .iter()
                .filter(|v| accepts(db, kind, field_type, v))
                .count()
            {
                n if n == values.len() => "all",
                0 => "none",
                _ => "some",
            }
        };
        let fits = |field: &str, kind| fits_in(DbType::Postgresql, field, kind);
        assert_eq!(fits("d", ColumnKind::Date), "all");
        assert_eq!(fits("d", ColumnKind::Timestamp), "all");
        assert_eq!(fits("d", ColumnKind::Integer), "none");
        assert_eq!(fits("b", ColumnKind::Boolean), "all");
        assert_eq!(fits("b", ColumnKind::Integer), "none");
        assert_eq!(fits("n", ColumnKind::Integer), "some");
        assert_eq!(fits("e", ColumnKind::Integer), "all");
        assert_eq!(fits("undeclared", ColumnKind::Date), "some");
        assert_eq!(fits("undeclared", ColumnKind::Text), "all");
        assert_eq!(fits("timestamp", ColumnKind::TimestampTz), "all");
        assert_eq!(fits("handoffId", ColumnKind::Uuid), "all");
        // SQLite keeps booleans as 0/1 and dates as unix seconds or Julian days.
        let sqlite = |field: &str, kind| fits_in(DbType::Sqlite, field, kind);
        assert_eq!(sqlite("b", ColumnKind::Integer), "all");
        assert_eq!(sqlite("b", ColumnKind::Decimal), "all");
        assert_eq!(sqlite("d", ColumnKind::Integer), "all");
        assert_eq!(sqlite("d", ColumnKind::Float), "all");
        assert_eq!(sqlite("timestamp", ColumnKind::Integer), "all");
        assert_eq!(sqlite("d", ColumnKind::Boolean), "none");
        assert_eq!(sqlite("undeclared", ColumnKind::Integer), "some");
    }
}

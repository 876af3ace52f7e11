//! Converting a collected JSON value to the column's type before it is bound. A value that
//! does not fit is refused here, before anything is sent.
//!
//! SQLite has no boolean nor date types, and documents how they are kept instead: booleans as
//! the integers 0 and 1, dates and date-times as ISO 8601 text, unix seconds (INTEGER) or Julian
//! day numbers (REAL). Its columns follow those conventions by their declared type's affinity.

use super::schema::ColumnKind;
use crate::integrations::{DbType, FieldType};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use serde_json::Value;
use uuid::Uuid;

/// A value ready to bind, in the column's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// SQL NULL (bound with the column's type, so PostgreSQL accepts it).
    Null,
    Int(i64),
    Float(f64),
    /// A checked decimal number, as text (bound as text to keep its precision).
    Decimal(String),
    Bool(bool),
    Date(NaiveDate),
    Time(NaiveTime),
    /// UTC, without a zone.
    Timestamp(NaiveDateTime),
    TimestampTz(DateTime<Utc>),
    Json(Value),
    Uuid(Uuid),
    Text(String),
}

impl Bound {
    /// How the bound value is shown in the recorded request.
    pub fn to_json(&self) -> Value {
        match self {
            Bound::Null => Value::Null,
            Bound::Int(v) => Value::from(*v),
            Bound::Float(v) => Value::from(*v),
            Bound::Decimal(s) | Bound::Text(s) => Value::String(s.clone()),
            Bound::Bool(b) => Value::Bool(*b),
            Bound::Date(d) => Value::String(d.format("%Y-%m-%d").to_string()),
            Bound::Time(t) => Value::String(t.format("%H:%M:%S%.f").to_string()),
            Bound::Timestamp(t) => Value::String(t.format("%Y-%m-%dT%H:%M:%S%.f").to_string()),
            Bound::TimestampTz(t) => Value::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            Bound::Json(v) => v.clone(),
            Bound::Uuid(u) => Value::String(u.hyphenated().to_string()),
        }
    }
}

/// The value does not fit the column; `expected` says what would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub expected: &'static str,
}

/// What kind of JSON value was given, for messages (never the value itself: it may be PII).
pub fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Converts a value for a column of `kind` in a `db` database. `field` is the type the value's
/// field declares (built-ins included), which says whether a string is a date.
pub fn convert(
    db: DbType,
    kind: ColumnKind,
    field: Option<FieldType>,
    v: &Value,
) -> Result<Bound, Mismatch> {
    if db == DbType::Sqlite
        && !v.is_null()
        && let Some(bound) = sqlite_convention(kind, field, v)
    {
        return bound;
    }
    convert_value(kind, v)
}

/// SQLite's documented ways of keeping a boolean or a date in a column of another type, or
/// `None` when they do not apply (the value then converts as anywhere else).
fn sqlite_convention(
    kind: ColumnKind,
    field: Option<FieldType>,
    v: &Value,
) -> Option<Result<Bound, Mismatch>> {
    if let (ColumnKind::Integer | ColumnKind::Decimal, Value::Bool(b)) = (kind, v) {
        return Some(Ok(Bound::Int(i64::from(*b))));
    }
    let (instant, expected) = match field? {
        // A date is its midnight, UTC (as SQLite reads a bare date).
        FieldType::Date => (
            v.as_str()
                .and_then(parse_date)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc()),
            "a date like 2024-05-31",
        ),
        FieldType::Datetime => (
            v.as_str().and_then(parse_instant),
            "a date and time like 2024-05-31T14:30:00Z",
        ),
        _ => return None,
    };
    let bound = match kind {
        // INTEGER affinity: unix seconds.
        ColumnKind::Integer => instant.map(|t| Bound::Int(t.timestamp())),
        // REAL affinity: the Julian day number (days since noon UTC, 24 November 4714 BC).
        ColumnKind::Float => instant.map(|t| {
            Bound::Float(t.timestamp_millis() as f64 / 86_400_000.0 + UNIX_EPOCH_JULIAN_DAY)
        }),
        // NUMERIC affinity keeps a date as ISO 8601 text, as a DATE or DATETIME column does.
        ColumnKind::Decimal => instant.map(|t| match field {
            Some(FieldType::Date) => Bound::Date(t.date_naive()),
            _ => Bound::Timestamp(t.naive_utc()),
        }),
        _ => return None,
    };
    Some(bound.ok_or(Mismatch { expected }))
}

/// The Julian day number of 1970-01-01 00:00 UTC.
const UNIX_EPOCH_JULIAN_DAY: f64 = 2_440_587.5;

/// Converts a value for a column of `kind`, whatever the database.
fn convert_value(kind: ColumnKind, v: &Value) -> Result<Bound, Mismatch> {
    if v.is_null() {
        return Ok(Bound::Null);
    }
    let fail = |expected| Err(Mismatch { expected });
    match kind {
        ColumnKind::Integer => match to_i64(v) {
            Some(i) => Ok(Bound::Int(i)),
            None => fail("a whole number (64-bit)"),
        },
        ColumnKind::Float => {
            let f = match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            match f.filter(|f| f.is_finite()) {
                Some(f) => Ok(Bound::Float(f)),
                None => fail("a number"),
            }
        }
        ColumnKind::Decimal => match v {
            Value::Number(n) => Ok(Bound::Decimal(n.to_string())),
            Value::String(s) if is_decimal(s.trim()) => Ok(Bound::Decimal(s.trim().to_string())),
            _ => fail("a decimal number like 12.50"),
        },
        ColumnKind::Boolean => match to_bool(v) {
            Some(b) => Ok(Bound::Bool(b)),
            None => fail("true or false"),
        },
        ColumnKind::Date => match v.as_str().and_then(parse_date) {
            Some(d) => Ok(Bound::Date(d)),
            None => fail("a date like 2024-05-31"),
        },
        ColumnKind::Time => match v.as_str().and_then(parse_time) {
            Some(t) => Ok(Bound::Time(t)),
            None => fail("a time like 14:30 or 14:30:00"),
        },
        ColumnKind::Timestamp => match v.as_str().and_then(parse_instant) {
            Some(t) => Ok(Bound::Timestamp(t.naive_utc())),
            None => fail("a date and time like 2024-05-31T14:30:00Z"),
        },
        ColumnKind::TimestampTz => match v.as_str().and_then(parse_instant) {
            Some(t) => Ok(Bound::TimestampTz(t)),
            None => fail("a date and time like 2024-05-31T14:30:00Z"),
        },
        ColumnKind::Json => Ok(Bound::Json(v.clone())),
        ColumnKind::Uuid => match v.as_str().and_then(|s| Uuid::parse_str(s.trim()).ok()) {
            Some(u) => Ok(Bound::Uuid(u)),
            None => fail("a UUID"),
        },
        ColumnKind::Text | ColumnKind::Other => Ok(Bound::Text(match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })),
    }
}

fn to_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            // 3.0 is a whole number; 2^63 and beyond do not fit.
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && (i64::MIN as f64..i64::MAX as f64).contains(f))
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" | "on" => Some(true),
            "false" | "f" | "no" | "n" | "0" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// `[+-]digits[.digits][e[+-]digits]`, with at least one digit before the exponent.
fn is_decimal(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mantissa_ok = digits(int) && digits(frac) && !(int.is_empty() && frac.is_empty());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.len() <= 4 && digits(e)
    });
    mantissa_ok && exponent_ok
}

const NAIVE_FORMATS: [&str; 4] = [
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
];

/// A date; a date-time gives its date as written (no zone conversion: an appointment on the
/// 31st stays on the 31st).
fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .or_else(|| DateTime::parse_from_rfc3339(s).ok().map(|d| d.date_naive()))
        .or_else(|| parse_naive(s).map(|d| d.date()))
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    NaiveTime::parse_from_str(s, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M"))
        .ok()
}

fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    NAIVE_FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
}

/// RFC 3339 (any offset, converted to UTC); a date-time without a zone or a bare date is taken
/// as UTC.
fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z"))
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| parse_naive(s).map(|n| n.and_utc()))
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|n| n.and_utc())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(kind: ColumnKind, v: Value) -> Bound {
        convert_value(kind, &v)
            .unwrap_or_else(|m| panic!("{v} as {kind:?}: expected {}", m.expected))
    }
    fn bad(kind: ColumnKind, v: Value) {
        assert!(
            convert_value(kind, &v).is_err(),
            "{v} should not convert to {kind:?}"
        );
    }

    #[test]
    fn integers() {
        assert_eq!(ok(ColumnKind::Integer, json!(42)), Bound::Int(42));
        assert_eq!(ok(ColumnKind::Integer, json!(" -7 ")), Bound::Int(-7));
        assert_eq!(ok(ColumnKind::Integer, json!(3.0)), Bound::Int(3));
        bad(ColumnKind::Integer, json!(3.5));
        bad(ColumnKind::Integer, json!("forty"));
        bad(ColumnKind::Integer, json!(true));
        bad(ColumnKind::Integer, json!(u64::MAX));
        bad(ColumnKind::Integer, json!([1]));
    }

    #[test]
    fn floats_and_decimals() {
        assert_eq!(ok(ColumnKind::Float, json!("2.5")), Bound::Float(2.5));
        assert_eq!(ok(ColumnKind::Float, json!(1)), Bound::Float(1.0));
        bad(ColumnKind::Float, json!("NaN"));
        bad(ColumnKind::Float, json!("inf"));
        assert_eq!(
            ok(ColumnKind::Decimal, json!("12.50")),
            Bound::Decimal("12.50".into())
        );
        assert_eq!(
            ok(ColumnKind::Decimal, json!(12.5)),
            Bound::Decimal("12.5".into())
        );
        assert_eq!(
            ok(ColumnKind::Decimal, json!("-.5e3")),
            Bound::Decimal("-.5e3".into())
        );
        for s in [
            "", ".", "1.2.3", "12,50", "1e", "abc", "NaN", "1e99999", "--1",
        ] {
            bad(ColumnKind::Decimal, json!(s));
        }
        bad(ColumnKind::Decimal, json!(true));
    }

    #[test]
    fn booleans() {
        assert_eq!(ok(ColumnKind::Boolean, json!(true)), Bound::Bool(true));
        assert_eq!(ok(ColumnKind::Boolean, json!("No")), Bound::Bool(false));
        assert_eq!(ok(ColumnKind::Boolean, json!(1)), Bound::Bool(true));
        bad(ColumnKind::Boolean, json!(2));
        bad(ColumnKind::Boolean, json!("maybe"));
    }

    #[test]
    fn dates_times_and_timestamps() {
        let d = NaiveDate::from_ymd_opt(2024, 5, 31).unwrap();
        assert_eq!(ok(ColumnKind::Date, json!("2024-05-31")), Bound::Date(d));
        assert_eq!(
            ok(ColumnKind::Date, json!("2024-05-31T23:30:00-05:00")),
            Bound::Date(d)
        );
        bad(ColumnKind::Date, json!("31/05/2024"));
        bad(ColumnKind::Date, json!("2024-02-30"));
        bad(ColumnKind::Date, json!(20240531));

        let t = NaiveTime::from_hms_opt(14, 30, 0).unwrap();
        assert_eq!(ok(ColumnKind::Time, json!("14:30")), Bound::Time(t));
        assert_eq!(ok(ColumnKind::Time, json!("14:30:00")), Bound::Time(t));
        bad(ColumnKind::Time, json!("2pm"));

        let utc = d.and_hms_opt(19, 30, 0).unwrap();
        assert_eq!(
            ok(ColumnKind::Timestamp, json!("2024-05-31T14:30:00-05:00")),
            Bound::Timestamp(utc)
        );
        assert_eq!(
            ok(ColumnKind::Timestamp, json!("2024-05-31 19:30:00")),
            Bound::Timestamp(utc)
        );
        assert_eq!(
            ok(ColumnKind::TimestampTz, json!("2024-05-31T19:30:00Z")),
            Bound::TimestampTz(utc.and_utc())
        );
        assert_eq!(
            ok(ColumnKind::TimestampTz, json!("2024-05-31")),
            Bound::TimestampTz(d.and_hms_opt(0, 0, 0).unwrap().and_utc())
        );
        bad(ColumnKind::TimestampTz, json!("yesterday"));
        assert_eq!(
            Bound::Timestamp(utc).to_json(),
            json!("2024-05-31T19:30:00")
        );
        assert_eq!(
            Bound::TimestampTz(utc.and_utc()).to_json(),
            json!("2024-05-31T19:30:00Z")
        );
    }

    #[test]
    fn json_uuid_text_and_null() {
        assert_eq!(
            ok(ColumnKind::Json, json!({"a": [1]})),
            Bound::Json(json!({"a": [1]}))
        );
        let u = "0190a3f0-0000-7000-8000-000000000001";
        assert_eq!(
            ok(ColumnKind::Uuid, json!(u)),
            Bound::Uuid(Uuid::parse_str(u).unwrap())
        );
        bad(ColumnKind::Uuid, json!("not-a-uuid"));
        assert_eq!(ok(ColumnKind::Text, json!(42)), Bound::Text("42".into()));
        assert_eq!(
            ok(ColumnKind::Other, json!({"k": true})),
            Bound::Text("{\"k\":true}".into())
        );
        assert_eq!(ok(ColumnKind::Text, json!("x")), Bound::Text("x".into()));
        assert_eq!(ok(ColumnKind::Integer, Value::Null), Bound::Null);
        assert_eq!(describe(&json!("secret")), "a string");
    }
}

#[cfg(test)]
mod sqlite_tests {
    use super::*;
    use serde_json::json;

    fn on(db: DbType, kind: ColumnKind, field: Option<FieldType>, v: Value) -> Option<Bound> {
        convert(db, kind, field, &v).ok()
    }

    #[test]
    fn booleans_are_0_and_1_in_sqlite_integer_and_numeric_columns_only() {
        use ColumnKind::*;
        let b = Some(FieldType::Boolean);
        assert_eq!(
            on(DbType::Sqlite, Integer, b, json!(true)),
            Some(Bound::Int(1))
        );
        assert_eq!(
            on(DbType::Sqlite, Decimal, b, json!(false)),
            Some(Bound::Int(0))
        );
        assert_eq!(
            on(DbType::Sqlite, Integer, None, json!(true)),
            Some(Bound::Int(1))
        );
        // PostgreSQL and MySQL have booleans of their own: an integer column refuses one.
        assert_eq!(on(DbType::Postgresql, Integer, b, json!(true)), None);
        assert_eq!(on(DbType::Mysql, Integer, b, json!(true)), None);
        assert_eq!(
            on(DbType::Sqlite, Boolean, b, json!(true)),
            Some(Bound::Bool(true))
        );
        assert_eq!(
            on(DbType::Sqlite, Integer, b, Value::Null),
            Some(Bound::Null)
        );
    }

    #[test]
    fn sqlite_dates_follow_the_columns_affinity() {
        use ColumnKind::*;
        let (d, dt) = (Some(FieldType::Date), Some(FieldType::Datetime));
        let day = json!("2024-05-31");
        let at = json!("2024-05-31T14:30:00-05:00");
        assert_eq!(
            on(DbType::Sqlite, Integer, d, day.clone()),
            Some(Bound::Int(1_717_113_600))
        );
        assert_eq!(
            on(DbType::Sqlite, Float, d, day.clone()),
            Some(Bound::Float(2_460_461.5))
        );
        assert_eq!(
            on(DbType::Sqlite, Integer, dt, at.clone()),
            Some(Bound::Int(1_717_183_800))
        );
        assert_eq!(
            on(DbType::Sqlite, Float, dt, at.clone()),
            Some(Bound::Float(2_460_462.312_5))
        );
        let date = NaiveDate::from_ymd_opt(2024, 5, 31).unwrap();
        assert_eq!(
            on(DbType::Sqlite, Decimal, d, day.clone()),
            Some(Bound::Date(date))
        );
        assert_eq!(
            on(DbType::Sqlite, Decimal, dt, at.clone()),
            Some(Bound::Timestamp(date.and_hms_opt(19, 30, 0).unwrap()))
        );
        // TEXT keeps the ISO 8601 text as given.
        assert_eq!(
            on(DbType::Sqlite, Text, dt, at.clone()),
            Some(Bound::Text("2024-05-31T14:30:00-05:00".into()))
        );
        // A string is a date only when its field says so, and only in SQLite.
        assert_eq!(
            on(DbType::Sqlite, Integer, Some(FieldType::Text), day.clone()),
            None
        );
        assert_eq!(on(DbType::Sqlite, Integer, None, at.clone()), None);
        assert_eq!(on(DbType::Postgresql, Integer, d, day.clone()), None);
        // A date field whose value is no date is refused, saying what would fit.
        let m = convert(DbType::Sqlite, Integer, d, &json!("31/05/2024")).unwrap_err();
        assert_eq!(m.expected, "a date like 2024-05-31");
        assert_eq!(on(DbType::Sqlite, Integer, d, json!(42)), None);
    }
}

//! Time arguments: RFC 3339, a date (midnight UTC), or an age such as `30m`, `2h`, `7d`.

use crate::error::AppError;
use chrono::{DateTime, NaiveDate, Utc};

pub fn parse(s: &str, flag: &str) -> Result<i64, AppError> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc).timestamp_millis());
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp_millis());
    }
    match age_ms(s) {
        Some(age) => Ok(Utc::now().timestamp_millis() - age),
        None => Err(AppError::invalid(
            flag,
            format!("'{s}' is not a time: use RFC 3339, YYYY-MM-DD, or an age like 30m, 2h, 7d"),
        )),
    }
}

/// An age such as `30m`, `2h`, `7d` (`s`, `m`, `h`, `d`, `w`), in milliseconds.
fn age_ms(s: &str) -> Option<i64> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let unit_ms: i64 = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return None,
    };
    match n.parse::<i64>() {
        Ok(n) if n <= 100_000 => Some(n * unit_ms),
        _ => None,
    }
}

/// A length of time given as an age only (`1h`, `24h`, `7d`): a window back from now.
pub fn parse_age(s: &str, field: &str) -> Result<chrono::Duration, AppError> {
    let s = s.trim();
    age_ms(s)
        .map(chrono::Duration::milliseconds)
        .ok_or_else(|| {
            AppError::invalid(
                field,
                format!("'{s}' is not a length of time: use an age like 1h, 24h, 7d"),
            )
        })
}

pub fn parse_opt(s: Option<&str>, flag: &str) -> Result<Option<i64>, AppError> {
    s.map(|s| parse(s, flag)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_rfc3339_dates_and_ages() {
        assert_eq!(
            parse("2026-01-02T00:00:00Z", "--since").unwrap(),
            1_767_312_000_000
        );
        assert_eq!(parse("2026-01-02", "--since").unwrap(), 1_767_312_000_000);
        let age = Utc::now().timestamp_millis() - parse("2h", "--since").unwrap();
        assert!((7_190_000..=7_210_000).contains(&age), "{age}");
        let err = parse("yesterday", "--since").unwrap_err();
        assert_eq!(err.field.as_deref(), Some("--since"));
    }

    #[test]
    fn an_age_alone_is_a_length_of_time() {
        assert_eq!(parse_age("24h", "window").unwrap().num_hours(), 24);
        assert_eq!(parse_age(" 7d ", "window").unwrap().num_days(), 7);
        for bad in ["2026-01-02", "h", "24", "-1h", "24x", ""] {
            let err = parse_age(bad, "window").unwrap_err();
            assert_eq!(err.field.as_deref(), Some("window"), "{bad}");
        }
    }
}

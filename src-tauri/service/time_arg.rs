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
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let unit_ms: i64 = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => 0,
    };
    match n.parse::<i64>() {
        Ok(n) if unit_ms > 0 && n <= 100_000 => Ok(Utc::now().timestamp_millis() - n * unit_ms),
        _ => Err(AppError::invalid(
            flag,
            format!("'{s}' is not a time: use RFC 3339, YYYY-MM-DD, or an age like 30m, 2h, 7d"),
        )),
    }
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
}

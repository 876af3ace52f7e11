//! Checking collected values against the field schema, and normalising them (e.g. `"42"` for an
//! `integer` field becomes `42`), before anything is sent to any kind of target.
//!
//! A problem names the field and what is wrong, never the value: it is recorded with the
//! attempt, shown and logged, and the value may be a patient's.

use crate::error::FieldProblem;
use crate::fields::{FieldSpec, FieldType};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use serde_json::{Map, Number, Value};

/// The most collected data one handoff may carry, as JSON.
pub const MAX_DATA_BYTES: usize = 1024 * 1024;
const MAX_KEYS: usize = 500;

/// Collected values after checking: declared fields normalised, undeclared ones kept as given.
pub type CollectedData = Map<String, Value>;

/// Checks `data` against `fields`. Every problem is reported, each naming its field.
pub fn check_data(fields: &[FieldSpec], data: &Value) -> Result<CollectedData, Vec<FieldProblem>> {
    let problem = |field: &str, reason: String| FieldProblem {
        field: field.to_string(),
        reason,
    };
    let Value::Object(input) = data else {
        return Err(vec![problem(
            "(data)",
            "must be a JSON object of field values".into(),
        )]);
    };
    if input.len() > MAX_KEYS {
        return Err(vec![problem(
            "(data)",
            format!("has {} keys; the limit is {MAX_KEYS}", input.len()),
        )]);
    }
    let mut out = input.clone();
    let mut problems = Vec::new();
    for spec in fields {
        match input.get(&spec.name) {
            None | Some(Value::Null) => {
                if spec.required {
                    problems.push(problem(&spec.name, "is required but missing".into()));
                }
                out.remove(&spec.name);
            }
            Some(Value::String(s)) if s.trim().is_empty() && spec.required => {
                problems.push(problem(&spec.name, "is required but empty".into()));
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                out.remove(&spec.name);
            }
            Some(v) => match normalise(spec, v) {
                Ok(v) => {
                    out.insert(spec.name.clone(), v);
                }
                Err(reason) => problems.push(problem(&spec.name, reason)),
            },
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn text(v: &Value) -> Result<&str, String> {
    v.as_str()
        .ok_or_else(|| format!("expected text, got {}", kind_of(v)))
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// One value checked and normalised for its field (the reason when it does not fit).
pub fn normalise(spec: &FieldSpec, v: &Value) -> Result<Value, String> {
    let t = spec.field_type;
    match t {
        // Free text takes numbers and booleans as their text (e.g. a policy number said as 42).
        FieldType::Text => match v {
            Value::String(s) => Ok(Value::String(s.trim().to_string())),
            Value::Number(_) | Value::Bool(_) => Ok(Value::String(v.to_string())),
            other => Err(format!("expected text, got {}", kind_of(other))),
        },
        FieldType::Name | FieldType::FirstName | FieldType::LastName => {
            text(v).map(|s| Value::String(s.trim().to_string()))
        }
        FieldType::Address => match v {
            Value::String(s) => Ok(Value::String(s.trim().to_string())),
            Value::Object(_) => Ok(v.clone()),
            other => Err(format!(
                "expected text or an object, got {}",
                kind_of(other)
            )),
        },
        FieldType::Email => {
            let s = text(v)?.trim();
            let valid = s.len() <= 254
                && !s.contains(char::is_whitespace)
                && s.split_once('@').is_some_and(|(local, domain)| {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                });
            if valid {
                Ok(Value::String(s.to_string()))
            } else {
                Err("is not an email address".into())
            }
        }
        FieldType::Phone => {
            let s = text(v)?.trim();
            let allowed = s
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c));
            let digits = s.chars().filter(char::is_ascii_digit).count();
            if allowed
                && (7..=15).contains(&digits)
                && s.get(1..).is_none_or(|rest| !rest.contains('+'))
            {
                Ok(Value::String(s.to_string()))
            } else {
                Err("is not a phone number (7 to 15 digits; may use + - ( ) . and spaces)".into())
            }
        }
        FieldType::Date => {
            let s = text(v)?.trim();
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|_| Value::String(s.to_string()))
                .map_err(|_| "is not a date (expected YYYY-MM-DD)".into())
        }
        FieldType::Datetime => {
            let s = text(v)?.trim();
            let ok = DateTime::parse_from_rfc3339(s).is_ok()
                || NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
                || NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").is_ok();
            if ok {
                Ok(Value::String(s.to_string()))
            } else {
                Err("is not a date-time (expected RFC 3339, e.g. 2026-03-01T09:30:00Z)".into())
            }
        }
        FieldType::Time => {
            let s = text(v)?.trim();
            let ok = NaiveTime::parse_from_str(s, "%H:%M:%S%.f").is_ok()
                || NaiveTime::parse_from_str(s, "%H:%M").is_ok();
            if ok {
                Ok(Value::String(s.to_string()))
            } else {
                Err("is not a time (expected HH:MM or HH:MM:SS)".into())
            }
        }
        FieldType::Integer => match v {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(v.clone()),
            Value::Number(n) => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Value::from(f as i64)),
                _ => Err("is not a whole number".into()),
            },
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| "is not a whole number".to_string()),
            other => Err(format!("expected a whole number, got {}", kind_of(other))),
        },
        FieldType::Number => match v {
            Value::Number(_) => Ok(v.clone()),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .and_then(Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| "is not a number".to_string()),
            other => Err(format!("expected a number, got {}", kind_of(other))),
        },
        FieldType::Boolean => match v {
            Value::Bool(_) => Ok(v.clone()),
            Value::Number(n) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => {
                Ok(Value::Bool(n.as_i64() == Some(1)))
            }
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "y" | "1" => Ok(Value::Bool(true)),
                "false" | "no" | "n" | "0" => Ok(Value::Bool(false)),
                _ => Err("is not a boolean (true/false, yes/no)".into()),
            },
            other => Err(format!("expected a boolean, got {}", kind_of(other))),
        },
        FieldType::Enum => {
            let s = text(v)?.trim();
            if spec.values.iter().any(|allowed| allowed == s) {
                Ok(Value::String(s.to_string()))
            } else {
                Err(format!("is not one of: {}", spec.values.join(", ")))
            }
        }
        FieldType::PostalCode => {
            let s = text(v)?.trim();
            let ok = (3..=10).contains(&s.len())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-');
            if ok {
                Ok(Value::String(s.to_string()))
            } else {
                Err("is not a postal code".into())
            }
        }
        FieldType::Uuid => {
            let s = text(v)?.trim();
            uuid::Uuid::parse_str(s)
                .map(|u| Value::String(u.hyphenated().to_string()))
                .map_err(|_| "is not a UUID".to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(name: &str, t: FieldType, required: bool) -> FieldSpec {
        FieldSpec {
            name: name.into(),
            field_type: t,
            required,
            values: vec![],
            description: None,
        }
    }

    #[test]
    fn missing_required_field_is_reported_by_name() {
        let fields = [
            field("fullName", FieldType::Name, true),
            field("notes", FieldType::Text, false),
        ];
        let err = check_data(&fields, &json!({"notes": "x"})).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].field, "fullName");
        assert!(err[0].reason.contains("required"));
    }

    #[test]
    fn values_are_normalised_to_their_types() {
        let fields = [
            field("n", FieldType::Integer, false),
            field("x", FieldType::Number, false),
            field("b", FieldType::Boolean, false),
            field("u", FieldType::Uuid, false),
        ];
        let out = check_data(&fields, &json!({"n": "42", "x": "1.5", "b": "yes", "u": "67E55044-10B1-426F-9247-BB680E5FE0C8", "extra": 1})).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"n": 42, "x": 1.5, "b": true, "u": "67e55044-10b1-426f-9247-bb680e5fe0c8", "extra": 1})
        );
    }

    #[test]
    fn every_bad_value_is_reported() {
        let mut e = field("kind", FieldType::Enum, false);
        e.values = vec!["new".into(), "returning".into()];
        let fields = [
            field("d", FieldType::Date, false),
            field("dt", FieldType::Datetime, false),
            field("t", FieldType::Time, false),
            field("i", FieldType::Integer, false),
            field("m", FieldType::Email, false),
            field("p", FieldType::Phone, false),
            field("z", FieldType::PostalCode, false),
            e,
        ];
        let err = check_data(&fields, &json!({"d": "2026-02-30", "dt": "yesterday", "t": "25:00", "i": 1.5, "m": "a@b", "p": "12", "z": "!", "kind": "old"})).unwrap_err();
        let named: Vec<_> = err.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(named, ["d", "dt", "t", "i", "m", "p", "z", "kind"]);
    }

    #[test]
    fn good_values_pass() {
        let fields = [
            field("d", FieldType::Date, true),
            field("dt", FieldType::Datetime, true),
            field("t", FieldType::Time, true),
            field("m", FieldType::Email, true),
            field("p", FieldType::Phone, true),
        ];
        check_data(&fields, &json!({"d": "2026-02-28", "dt": "2026-02-28T10:00:00+01:00", "t": "09:30", "m": "ann@example.com", "p": "+1 (555) 123-4567"})).unwrap();
    }

    #[test]
    fn problems_name_the_field_and_what_is_wrong_never_the_value() {
        let mut e = field("kind", FieldType::Enum, false);
        e.values = vec!["new".into()];
        let fields = [
            field("d", FieldType::Date, false),
            field("dt", FieldType::Datetime, false),
            field("t", FieldType::Time, false),
            field("i", FieldType::Integer, false),
            field("f", FieldType::Integer, false),
            field("x", FieldType::Number, false),
            field("b", FieldType::Boolean, false),
            field("m", FieldType::Email, false),
            field("z", FieldType::PostalCode, false),
            field("u", FieldType::Uuid, false),
            e,
        ];
        let err = check_data(
            &fields,
            &json!({"d": "CANARY-d", "dt": "CANARY-dt", "t": "CANARY-t", "i": "CANARY-i",
                    "f": 1.5, "x": "CANARY-x", "b": "CANARY-b", "m": "CANARY-m",
                    "z": "CANARY-z!", "u": "CANARY-u", "kind": "CANARY-kind"}),
        )
        .unwrap_err();
        assert_eq!(err.len(), fields.len());
        for p in &err {
            assert!(
                !p.reason.contains("CANARY") && !p.reason.contains("1.5"),
                "{}: {}",
                p.field,
                p.reason
            );
            assert!(p.reason.starts_with("is not"), "{}: {}", p.field, p.reason);
        }
        assert_eq!(err[0].to_string(), "d: is not a date (expected YYYY-MM-DD)");
        assert_eq!(err[10].reason, "is not one of: new");
    }

    #[test]
    fn non_object_data_is_refused() {
        assert_eq!(check_data(&[], &json!([1])).unwrap_err()[0].field, "(data)");
    }
}

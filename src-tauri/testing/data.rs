//! Test data: realistic values for each field type, made with the `fake` crate from a seeded
//! ChaCha generator (whose output does not change between rand releases), so a seed always
//! gives the same data; and the check of custom test data against the schema.

use crate::error::{AppError, FieldProblem};
use crate::fields::{FieldSpec, FieldType};
use crate::templating::{self, CollectedData, MAX_DATA_BYTES};
use chrono::{Duration, NaiveDate, NaiveTime};
use fake::Fake;
use fake::faker::address::en::{BuildingNumber, CityName, PostCode, StateAbbr, StreetName};
use fake::faker::internet::en::SafeEmail;
use fake::faker::lorem::en::Sentence;
use fake::faker::name::en::{FirstName, LastName, Name};
use fake::faker::phone_number::en::CellNumber;
use rand::rngs::ChaCha8Rng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

/// How to generate test data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct GenerateOptions {
    /// The same seed gives the same data; without one a random seed is drawn (and reported).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Every field, not only the required ones.
    #[serde(default)]
    pub all_fields: bool,
}

/// Generated test data and the seed that reproduces it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct GeneratedData {
    pub seed: u64,
    pub data: Map<String, Value>,
}

/// Test data for `fields`: the required ones, or all with `all_fields`. Built-ins (`timestamp`,
/// `sessionId`, `handoffId`) are not fields: the console supplies them when it sends.
pub fn generate(fields: &[FieldSpec], options: GenerateOptions) -> GeneratedData {
    let seed = options.seed.unwrap_or_else(rand::random);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut data = Map::new();
    for spec in fields {
        if !(spec.required || options.all_fields) {
            continue;
        }
        if let Some(value) = value_for(spec, &mut rng) {
            data.insert(spec.name.clone(), value);
        }
    }
    GeneratedData { seed, data }
}

/// One value of the field's type, in the form `check_data` accepts. `None` only for an enum
/// without values (which validation refuses when the integration is saved).
fn value_for(spec: &FieldSpec, rng: &mut ChaCha8Rng) -> Option<Value> {
    let text = |s: String| Some(Value::String(s));
    match spec.field_type {
        FieldType::Text => text(Sentence(3..8).fake_with_rng(rng)),
        FieldType::Name => text(Name().fake_with_rng(rng)),
        FieldType::FirstName => text(FirstName().fake_with_rng(rng)),
        FieldType::LastName => text(LastName().fake_with_rng(rng)),
        // example.com/.net/.org: reserved domains, so a test never mails a real person.
        FieldType::Email => text(SafeEmail().fake_with_rng(rng)),
        // Cell formats only: the landline ones carry an extension (`x123`), not a phone number.
        FieldType::Phone => text(CellNumber().fake_with_rng(rng)),
        FieldType::Date => text(date(&spec.name, rng).format("%Y-%m-%d").to_string()),
        FieldType::Datetime => {
            let at = date_between(rng, (2024, 1, 1), (2027, 12, 31)).and_time(clinic_time(rng));
            text(at.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        }
        FieldType::Time => text(clinic_time(rng).format("%H:%M:%S").to_string()),
        FieldType::Integer => Some(Value::from(rng.random_range(1..=120_i64))),
        FieldType::Number => {
            let cents = rng.random_range(100..=100_000_i64);
            Number::from_f64(cents as f64 / 100.0).map(Value::Number)
        }
        FieldType::Boolean => Some(Value::Bool(rng.random())),
        FieldType::Enum => spec.values.choose(rng).cloned().map(Value::String),
        FieldType::Address => {
            let number: String = BuildingNumber().fake_with_rng(rng);
            let street: String = StreetName().fake_with_rng(rng);
            let city: String = CityName().fake_with_rng(rng);
            let state: String = StateAbbr().fake_with_rng(rng);
            let zip: String = PostCode().fake_with_rng(rng);
            text(format!("{number} {street}, {city}, {state} {zip}"))
        }
        FieldType::PostalCode => text(PostCode().fake_with_rng(rng)),
        FieldType::Uuid => {
            let bytes: [u8; 16] = rng.random();
            text(
                uuid::Builder::from_random_bytes(bytes)
                    .into_uuid()
                    .hyphenated()
                    .to_string(),
            )
        }
    }
}

/// A date of birth when the field's name says so (`dob`, `birthDate`, ...), from 1940 to 2015;
/// otherwise a visit's, from 2024 to 2027. Fixed bounds, not "today", so that a seed gives the
/// same date tomorrow.
fn date(field: &str, rng: &mut ChaCha8Rng) -> NaiveDate {
    let name = field.to_ascii_lowercase();
    if name.contains("birth") || name.contains("dob") {
        date_between(rng, (1940, 1, 1), (2015, 12, 31))
    } else {
        date_between(rng, (2024, 1, 1), (2027, 12, 31))
    }
}

fn date_between(rng: &mut ChaCha8Rng, from: (i32, u32, u32), to: (i32, u32, u32)) -> NaiveDate {
    let ymd = |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN);
    let (from, to) = (ymd(from), ymd(to));
    let days = (to - from).num_days().max(0);
    from + Duration::days(rng.random_range(0..=days))
}

/// A time in clinic hours (08:00 to 17:45), on the quarter hour.
fn clinic_time(rng: &mut ChaCha8Rng) -> NaiveTime {
    let hour = rng.random_range(8..18);
    let minute = 15 * rng.random_range(0..4);
    NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or(NaiveTime::MIN)
}

/// Checks custom test data against the schema: every value by its field type, and keys that
/// are not declared fields (a typo would otherwise be sent, or silently left out). All problems
/// are reported together, each naming its field.
pub fn check_test_data(fields: &[FieldSpec], data: &Value) -> Result<CollectedData, AppError> {
    let size = data.to_string().len();
    if size > MAX_DATA_BYTES {
        return Err(AppError::invalid(
            "data",
            format!("is {size} bytes; the limit is {MAX_DATA_BYTES}"),
        ));
    }
    let checked = templating::check_data(fields, data);
    let mut problems = checked.as_ref().err().cloned().unwrap_or_default();
    if let Value::Object(given) = data
        && !problems.iter().any(|p| p.field == "(data)")
    {
        let declared: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        for key in given.keys().filter(|k| !declared.contains(&k.as_str())) {
            let reason = if templating::BUILTINS.contains(&key.as_str()) {
                "is a built-in the console supplies when it sends; leave it out".to_string()
            } else {
                format!(
                    "is not a field of this integration (its fields: {})",
                    declared.join(", ")
                )
            };
            problems.push(FieldProblem {
                field: key.clone(),
                reason,
            });
        }
    }
    match checked {
        Ok(data) if problems.is_empty() => Ok(data),
        _ => Err(AppError::invalid_many(problems)),
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
            values: if t == FieldType::Enum {
                vec!["new".into(), "returning".into(), "urgent".into()]
            } else {
                vec![]
            },
            description: None,
        }
    }

    /// One required field of every type.
    fn every_type() -> Vec<FieldSpec> {
        FieldType::ALL
            .iter()
            .map(|t| field(t.as_str(), *t, true))
            .collect()
    }

    #[test]
    fn every_field_type_generates_values_that_pass_the_check() {
        let fields = every_type();
        for seed in 0..300 {
            let g = generate(
                &fields,
                GenerateOptions {
                    seed: Some(seed),
                    all_fields: true,
                },
            );
            assert_eq!(
                g.data.len(),
                FieldType::ALL.len(),
                "seed {seed}: {:?}",
                g.data
            );
            let checked = templating::check_data(&fields, &Value::Object(g.data.clone()))
                .unwrap_or_else(|p| panic!("seed {seed}: {p:?} in {:?}", g.data));
            // Already in the normalised form: checking changes nothing.
            assert_eq!(checked, g.data, "seed {seed}");
        }
    }

    #[test]
    fn values_look_like_their_types() {
        let g = generate(
            &every_type(),
            GenerateOptions {
                seed: Some(42),
                all_fields: true,
            },
        );
        let d = &g.data;
        assert!(d["email"].as_str().unwrap().contains("@example."));
        assert!(d["integer"].is_i64());
        assert!(d["number"].is_f64());
        assert!(d["boolean"].is_boolean());
        assert!(d["name"].as_str().unwrap().contains(' '), "{}", d["name"]);
        assert_eq!(d["date"].as_str().unwrap().len(), 10);
        assert!(d["datetime"].as_str().unwrap().ends_with('Z'));
        assert!(d["address"].as_str().unwrap().contains(", "));
    }

    #[test]
    fn birth_dates_lie_in_the_past_and_other_dates_near_now() {
        let fields = [
            field("dateOfBirth", FieldType::Date, true),
            field("appointmentDate", FieldType::Date, true),
        ];
        for seed in 0..50 {
            let g = generate(
                &fields,
                GenerateOptions {
                    seed: Some(seed),
                    all_fields: false,
                },
            );
            let year = |f: &str| g.data[f].as_str().unwrap()[..4].parse::<i32>().unwrap();
            assert!((1940..=2015).contains(&year("dateOfBirth")), "{:?}", g.data);
            assert!(
                (2024..=2027).contains(&year("appointmentDate")),
                "{:?}",
                g.data
            );
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_data_and_others_differ() {
        let fields = every_type();
        let opts = |seed| GenerateOptions {
            seed: Some(seed),
            all_fields: true,
        };
        let a = generate(&fields, opts(7));
        assert_eq!(a.seed, 7);
        assert_eq!(a, generate(&fields, opts(7)));
        let b = generate(&fields, opts(8));
        assert_ne!(a.data, b.data);
    }

    #[test]
    fn without_a_seed_one_is_drawn_and_reported() {
        let fields = every_type();
        let a = generate(&fields, GenerateOptions::default());
        let again = generate(
            &fields,
            GenerateOptions {
                seed: Some(a.seed),
                all_fields: false,
            },
        );
        assert_eq!(a.data, again.data);
        let b = generate(&fields, GenerateOptions::default());
        assert_ne!(a.seed, b.seed);
    }

    #[test]
    fn required_only_unless_all_fields() {
        let fields = [
            field("fullName", FieldType::Name, true),
            field("notes", FieldType::Text, false),
            field("dob", FieldType::Date, true),
        ];
        let required = generate(
            &fields,
            GenerateOptions {
                seed: Some(1),
                all_fields: false,
            },
        );
        let keys: Vec<&str> = required.data.keys().map(String::as_str).collect();
        assert_eq!(keys, ["fullName", "dob"]);
        let all = generate(
            &fields,
            GenerateOptions {
                seed: Some(1),
                all_fields: true,
            },
        );
        let keys: Vec<&str> = all.data.keys().map(String::as_str).collect();
        assert_eq!(keys, ["fullName", "notes", "dob"]);
    }

    #[test]
    fn enum_fields_pick_from_their_values() {
        let fields = [field("visitType", FieldType::Enum, true)];
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..50 {
            let g = generate(
                &fields,
                GenerateOptions {
                    seed: Some(seed),
                    all_fields: false,
                },
            );
            let v = g.data["visitType"].as_str().unwrap().to_string();
            assert!(fields[0].values.contains(&v), "{v}");
            seen.insert(v);
        }
        assert_eq!(seen.len(), 3, "every value is picked sometimes: {seen:?}");
    }

    #[test]
    fn custom_data_errors_name_each_field() {
        let fields = [
            field("fullName", FieldType::Name, true),
            field("dob", FieldType::Date, false),
            field("email", FieldType::Email, false),
            field("visitType", FieldType::Enum, false),
        ];
        let err = check_test_data(
            &fields,
            &json!({"dob": "31/05/1990", "email": "nope", "visitType": "old",
                    "fullname": "typo", "timestamp": "x"}),
        )
        .unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::Invalid);
        let named: Vec<(&str, &str)> = err
            .details
            .iter()
            .map(|p| (p.field.as_str(), p.reason.as_str()))
            .collect();
        let fields_named: Vec<&str> = named.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields_named,
            [
                "fullName",
                "dob",
                "email",
                "visitType",
                "fullname",
                "timestamp"
            ]
        );
        assert!(named[0].1.contains("required"), "{named:?}");
        assert!(named[1].1.contains("YYYY-MM-DD"), "{named:?}");
        assert!(named[4].1.contains("not a field"), "{named:?}");
        assert!(named[5].1.contains("built-in"), "{named:?}");
    }

    #[test]
    fn good_custom_data_comes_back_normalised() {
        let fields = [
            field("age", FieldType::Integer, true),
            field("ok", FieldType::Boolean, false),
        ];
        let checked = check_test_data(&fields, &json!({"age": "42", "ok": "yes"})).unwrap();
        assert_eq!(Value::Object(checked), json!({"age": 42, "ok": true}));
        let err = check_test_data(&fields, &json!([1])).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("(data)"));
    }
}

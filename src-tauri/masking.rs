//! Masking collected values for display: the copy of a handoff's data that history, exports and
//! the UI show, so that support staff can tell handoffs apart without seeing patient data.
//! Each field type keeps only what identifies a record loosely (an email's first letter and
//! domain, a phone's last four digits, a date's year, a postal code's first three characters)
//! and never the length of what it hides. Values of fields the schema does not declare are
//! masked as free text. The raw value stays with the handoff (encrypted at rest) for retries
//! and for an explicit, audited reveal.

use crate::fields::{FieldSpec, FieldType};
use serde_json::{Map, Value};

/// What a hidden part of a value is replaced with (always the same, so length is not shown).
const HIDDEN: &str = "***";

/// The display copy of collected data: every value masked by its field's type.
pub fn mask_data(fields: &[FieldSpec], data: &Map<String, Value>) -> Map<String, Value> {
    data.iter()
        .map(|(name, value)| (name.clone(), mask_field(fields, name, value)))
        .collect()
}

/// One collected value masked as its declared field says. A value kept as it is by its type
/// (a number, a choice) is kept only when it is valid for the field: anything else ("an
/// integer" that is really free text, a choice that is not one of the values) is hidden.
/// This is what an attempt records in the field's place, whatever the target was sent (the
/// text, the integer it was converted to, a date-time in UTC).
pub fn mask_field(fields: &[FieldSpec], name: &str, value: &Value) -> Value {
    let Some(spec) = fields.iter().find(|f| f.name == name) else {
        return mask_value(FieldType::Text, value);
    };
    if keeps(spec.field_type) && crate::templating::normalise(spec, value).is_err() {
        return mask_value(FieldType::Text, value);
    }
    mask_value(spec.field_type, value)
}

/// The types whose valid values are kept as they are.
fn keeps(field_type: FieldType) -> bool {
    matches!(
        field_type,
        FieldType::Integer
            | FieldType::Number
            | FieldType::Boolean
            | FieldType::Enum
            | FieldType::Time
            | FieldType::Uuid
    )
}

/// One value masked as its field type says. Null stays null; structured values (arrays,
/// objects) are hidden whole.
pub fn mask_value(field_type: FieldType, value: &Value) -> Value {
    let text = match value {
        Value::Null => return Value::Null,
        Value::String(s) => s.trim().to_string(),
        Value::Bool(_) | Value::Number(_) => value.to_string(),
        Value::Array(_) | Value::Object(_) => return Value::String(HIDDEN.into()),
    };
    let masked = match field_type {
        // Not personal by themselves: kept, so a support person can see what was chosen.
        FieldType::Integer
        | FieldType::Number
        | FieldType::Boolean
        | FieldType::Enum
        | FieldType::Time
        | FieldType::Uuid => return value.clone(),
        FieldType::Name | FieldType::FirstName | FieldType::LastName => initials(&text),
        FieldType::Email => email(&text),
        FieldType::Phone => phone(&text),
        FieldType::Date | FieldType::Datetime => year_only(&text),
        FieldType::PostalCode => postal_code(&text),
        FieldType::Address | FieldType::Text => HIDDEN.to_string(),
    };
    Value::String(masked)
}

/// Searching for collected values in what a *target* says back (a response that echoes the
/// data, a database error quoting the failing row, the id it gave the row), to replace each by
/// its masked copy before it is recorded. The request an attempt records is not searched: it is
/// built with each field's mask in its place (see [`mask_field`]); nor are the console's own
/// messages, which never hold a collected value.
#[derive(Debug, Default)]
pub struct EchoMask {
    /// (raw, masked), longest raw first so that a value is replaced before any part of it.
    pairs: Vec<(String, String)>,
}

/// Values this short or longer are found anywhere in the text.
const MIN_ANYWHERE: usize = 3;
/// Two-character values ("Li", "Wu") are found as whole words only (no letter or digit on
/// either side), so that masking them does not take "li" out of every "limit". Single
/// characters are never searched for: masking every "a" would garble the text and protect
/// nothing.
const MIN_ECHO_LEN: usize = 2;

impl EchoMask {
    /// The values of `data` (a JSON object of collected fields) and their masked copies.
    pub fn new(fields: &[FieldSpec], data: &Value) -> Self {
        Self::default().with_data(fields, data)
    }

    /// Adds the values of `data` too: e.g. the data as checked (trimmed, `"42"` as `42`, a
    /// UUID in lower case), beside the data as collected.
    pub fn with_data(mut self, fields: &[FieldSpec], data: &Value) -> Self {
        let mut pairs = Vec::new();
        if let Value::Object(map) = data {
            for (name, value) in map {
                collect_pairs(value, &mask_field(fields, name, value), &mut pairs);
            }
        }
        for (raw, masked) in pairs {
            // The data as checked mostly repeats the data as collected: each pair once.
            if !self.pairs.iter().any(|(r, m)| *r == raw && *m == masked) {
                self.push(raw, masked);
            }
        }
        self.sort();
        self
    }

    /// Adds values as the console converted them for the target (a date-time in UTC, the
    /// integer a phone number became), each with its field's masked copy.
    pub fn with_converted(mut self, converted: &[(String, String)]) -> Self {
        for (raw, masked) in converted {
            if raw.chars().count() >= MIN_ECHO_LEN && raw != masked {
                self.push(raw.clone(), masked.clone());
            }
        }
        self.sort();
        self
    }

    /// A value and its encodings: as it appears in a URL (form-encoded in a query string,
    /// percent-encoded in a path) and JSON-escaped in a body, as serde writes it and with
    /// every non-ASCII character escaped (`\u00e9`, as many JSON encoders do); each is replaced
    /// by the plain masked copy (the record is for reading, not for sending).
    fn push(&mut self, raw: String, masked: String) {
        let mut encodings: Vec<String> = Vec::new();
        // Letters, digits and `*-._` are their own form encoding (most values: names, ids,
        // numbers), so then neither URL encoding differs from the value.
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_'))
        {
            let form: String = url::form_urlencoded::byte_serialize(raw.as_bytes()).collect();
            let path = form.replace('+', "%20");
            encodings.extend([form, path]);
        }
        // serde escapes only quotes, backslashes and control characters; the ASCII-only
        // encodings differ from it only where a character is not ASCII.
        let json = if raw.chars().any(|c| c == '"' || c == '\\' || c.is_control()) {
            let quoted = serde_json::to_string(&raw).unwrap_or_default();
            let inner = quoted.strip_prefix('"').and_then(|q| q.strip_suffix('"'));
            inner.unwrap_or(&quoted).to_string()
        } else {
            raw.clone()
        };
        if !json.is_ascii() {
            encodings.extend([ascii_json(&json, false), ascii_json(&json, true)]);
        }
        encodings.push(json);
        for encoded in encodings {
            if encoded != raw {
                self.pairs.push((encoded, masked.clone()));
            }
        }
        self.pairs.push((raw, masked));
    }

    /// Longest first; one mask per raw text. A value collected in two fields with different
    /// masks (a first name also given as a nickname) gets the one that shows least.
    fn sort(&mut self) {
        self.pairs.sort_by(|a, b| {
            b.0.len()
                .cmp(&a.0.len())
                .then_with(|| a.0.cmp(&b.0))
                .then_with(|| a.1.len().cmp(&b.1.len()))
                .then_with(|| a.1.cmp(&b.1))
        });
        self.pairs.dedup_by(|a, b| a.0 == b.0);
    }

    /// `text` with every collected value replaced by its masked copy.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (raw, masked) in &self.pairs {
            if !out.contains(raw.as_str()) {
                continue;
            }
            out = if raw.chars().count() >= MIN_ANYWHERE {
                out.replace(raw.as_str(), masked)
            } else {
                replace_words(&out, raw, masked)
            };
        }
        out
    }

    /// The masked copy of `text` when it is, as a whole, a collected value (an id a target gave
    /// a row whose key is a collected value): ids are kept as they are otherwise, whatever they
    /// contain, so that they still find the record in the target.
    pub fn whole(&self, text: &str) -> Option<&str> {
        let text = text.trim();
        self.pairs
            .iter()
            .find(|(raw, _)| raw == text)
            .map(|(_, masked)| masked.as_str())
    }

    /// Every string in `value` (not the keys) masked as [`EchoMask::text`] does.
    pub fn json(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.json(v)).collect()),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), self.json(v))).collect())
            }
            other => other.clone(),
        }
    }
}

/// A JSON-escaped text with every non-ASCII character escaped as `\uXXXX` (surrogate pairs
/// beyond the BMP), in lower- or upper-case hex.
fn ascii_json(json: &str, upper: bool) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
            continue;
        }
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            if upper {
                out.push_str(&format!("\\u{unit:04X}"));
            } else {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// `text` with `word` replaced by `masked` where it stands as a whole word: no letter or digit
/// right before or after it.
fn replace_words(text: &str, word: &str, masked: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut before: Option<char> = None;
    while let Some(at) = rest.find(word) {
        let head = &rest[..at];
        let prev = head.chars().next_back().or(before);
        let tail = &rest[at + word.len()..];
        let next = tail.chars().next();
        let bounded =
            !prev.is_some_and(char::is_alphanumeric) && !next.is_some_and(char::is_alphanumeric);
        out.push_str(head);
        if bounded {
            out.push_str(masked);
        } else {
            out.push_str(word);
        }
        before = word.chars().next_back();
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// The (raw, masked) pairs of one value and its masked copy: strings (and numbers) long
/// enough to matter, nested ones too (an address object, hidden whole).
fn collect_pairs(value: &Value, masked: &Value, pairs: &mut Vec<(String, String)>) {
    match value {
        Value::Array(items) => items
            .iter()
            .for_each(|v| collect_pairs(v, &Value::String(HIDDEN.into()), pairs)),
        Value::Object(map) => map
            .values()
            .for_each(|v| collect_pairs(v, &Value::String(HIDDEN.into()), pairs)),
        Value::String(_) | Value::Number(_) => {
            let raw = match value {
                Value::String(s) => s.trim().to_string(),
                other => other.to_string(),
            };
            let masked = masked_text(masked);
            if raw.chars().count() >= MIN_ECHO_LEN && masked != raw {
                pairs.push((raw, masked));
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

/// A masked value as text: strings bare, the rest (a kept number, null) as JSON.
pub fn masked_text(masked: &Value) -> String {
    match masked {
        Value::String(m) => m.clone(),
        other => other.to_string(),
    }
}

/// `Jane van Doe` → `J*** v*** D***`.
fn initials(name: &str) -> String {
    let words: Vec<String> = name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .map(|c| format!("{c}{HIDDEN}"))
        .collect();
    if words.is_empty() {
        HIDDEN.to_string()
    } else {
        words.join(" ")
    }
}

/// `jane.doe@example.com` → `j***@example.com`.
fn email(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) if !domain.is_empty() => match local.chars().next() {
            Some(first) => format!("{first}{HIDDEN}@{domain}"),
            None => format!("{HIDDEN}@{domain}"),
        },
        _ => HIDDEN.to_string(),
    }
}

/// `+1 (555) 123-4567` → `***-***-4567`; fewer than seven digits are hidden whole.
fn phone(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 7 {
        return HIDDEN.to_string();
    }
    let last4: String = digits[digits.len() - 4..].iter().collect();
    format!("{HIDDEN}-{HIDDEN}-{last4}")
}

/// `1990-05-31` → `1990-**-**`; `2026-03-01T09:30:00Z` → `2026-**-**`.
fn year_only(date: &str) -> String {
    match date.get(..4) {
        Some(year) if year.chars().all(|c| c.is_ascii_digit()) => format!("{year}-**-**"),
        _ => HIDDEN.to_string(),
    }
}

/// `62704-1234` → `627**` (the first three characters, as de-identification rules allow).
fn postal_code(code: &str) -> String {
    let kept: String = code
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(3)
        .collect();
    if kept.chars().count() < 3 {
        HIDDEN.to_string()
    } else {
        format!("{kept}**")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(t: FieldType, v: Value) -> Value {
        mask_value(t, &v)
    }

    #[test]
    fn each_field_type_keeps_only_its_loose_identifier() {
        assert_eq!(
            m(FieldType::Name, json!("Jane van Doe")),
            json!("J*** v*** D***")
        );
        assert_eq!(m(FieldType::FirstName, json!("Jane")), json!("J***"));
        assert_eq!(
            m(FieldType::Email, json!("jane.doe@example.com")),
            json!("j***@example.com")
        );
        assert_eq!(
            m(FieldType::Phone, json!("+1 (555) 123-4567")),
            json!("***-***-4567")
        );
        assert_eq!(m(FieldType::Phone, json!("12345")), json!("***"));
        assert_eq!(m(FieldType::Date, json!("1990-05-31")), json!("1990-**-**"));
        assert_eq!(
            m(FieldType::Datetime, json!("2026-03-01T09:30:00Z")),
            json!("2026-**-**")
        );
        assert_eq!(
            m(FieldType::PostalCode, json!("62704-1234")),
            json!("627**")
        );
        assert_eq!(
            m(FieldType::Address, json!("1234 Main Street, Springfield")),
            json!("***")
        );
        assert_eq!(
            m(FieldType::Text, json!("allergic to penicillin")),
            json!("***")
        );
    }

    #[test]
    fn choices_and_numbers_are_kept_and_null_stays_null() {
        assert_eq!(m(FieldType::Enum, json!("new")), json!("new"));
        assert_eq!(m(FieldType::Integer, json!(42)), json!(42));
        assert_eq!(m(FieldType::Boolean, json!(true)), json!(true));
        assert_eq!(m(FieldType::Email, Value::Null), Value::Null);
        assert_eq!(m(FieldType::Name, json!({"first": "Jane"})), json!("***"));
    }

    #[test]
    fn the_length_of_a_hidden_value_is_not_shown() {
        assert_eq!(
            m(FieldType::Name, json!("Al")),
            m(FieldType::Name, json!("Alexandria"))
        );
        assert_eq!(
            m(FieldType::Email, json!("a@example.com")),
            m(FieldType::Email, json!("anastasia.long@example.com"))
        );
        assert_eq!(
            m(FieldType::Text, json!("x")),
            m(FieldType::Text, json!("x".repeat(500)))
        );
    }

    #[test]
    fn malformed_values_are_hidden_whole() {
        assert_eq!(m(FieldType::Email, json!("not-an-email")), json!("***"));
        assert_eq!(m(FieldType::Email, json!("jane@")), json!("***"));
        assert_eq!(m(FieldType::Date, json!("31/05/1990")), json!("***"));
        assert_eq!(m(FieldType::Name, json!("   ")), json!("***"));
        assert_eq!(m(FieldType::PostalCode, json!("1")), json!("***"));
    }

    #[test]
    fn echoes_of_collected_values_are_masked_in_recorded_text_and_json() {
        let fields: Vec<FieldSpec> = serde_json::from_value(json!([
            {"name": "fullName", "type": "name"}, {"name": "phone", "type": "phone"},
            {"name": "address", "type": "address"}, {"name": "age", "type": "integer"}
        ]))
        .unwrap();
        let data = json!({"fullName": "Ann Lee", "phone": "+1 555 123 4567",
                          "address": {"street": "12 Elm Road", "city": "Springfield"}, "age": 42});
        let echo = EchoMask::new(&fields, &data);
        assert_eq!(
            echo.text(r#"{"error":"duplicate patient Ann Lee (+1 555 123 4567) at 12 Elm Road"}"#),
            r#"{"error":"duplicate patient A*** L*** (***-***-4567) at ***"}"#
        );
        assert_eq!(
            echo.text("https://h/p?name=Ann+Lee&city=Springfield&age=42"),
            "https://h/p?name=A*** L***&city=***&age=42"
        );
        let request =
            json!({"body": {"patient": {"name": "Ann Lee", "age": 42}, "note": "for Ann Lee"}});
        assert_eq!(
            echo.json(&request),
            json!({"body": {"patient": {"name": "A*** L***", "age": 42}, "note": "for A*** L***"}})
        );
        assert_eq!(
            echo.text("nothing collected here"),
            "nothing collected here"
        );
    }

    #[test]
    fn a_value_quoted_at_its_end_is_masked_whole_in_json_echoes() {
        let fields: Vec<FieldSpec> =
            serde_json::from_value(json!([{"name": "note", "type": "text"}])).unwrap();
        let echo = EchoMask::new(&fields, &json!({"note": "says \"call me\""}));
        // As a JSON body echoes it: every escaped quote is part of the value.
        assert_eq!(
            echo.text(r#"{"note":"says \"call me\""}"#),
            r#"{"note":"***"}"#
        );
        // A path and a query string each have their own encoding.
        assert_eq!(echo.text("/n/says%20%22call%20me%22"), "/n/***");
        assert_eq!(echo.text("?n=says+%22call+me%22"), "?n=***");
    }

    #[test]
    fn values_that_are_not_valid_for_a_kept_type_are_hidden_and_their_echoes_masked() {
        let fields: Vec<FieldSpec> = serde_json::from_value(json!([
            {"name": "visitType", "type": "enum", "values": ["new", "follow-up"]},
            {"name": "memberNo", "type": "integer"}, {"name": "age", "type": "integer"}
        ]))
        .unwrap();
        let data =
            json!({"visitType": "ENUMCANARY has HIV", "memberNo": "123-45-6789", "age": "42"});
        let masked = mask_data(&fields, data.as_object().unwrap());
        assert_eq!(
            Value::Object(masked),
            json!({"visitType": "***", "memberNo": "***", "age": "42"})
        );
        let echo = EchoMask::new(&fields, &data);
        assert_eq!(
            echo.text(
                "visitType: 'ENUMCANARY has HIV' is not one of new, follow-up; '123-45-6789'"
            ),
            "visitType: '***' is not one of new, follow-up; '***'"
        );
        assert_eq!(
            echo.text(r#"{"v":"ENUMCANARY has HIV"} /p/ENUMCANARY%20has%20HIV"#),
            r#"{"v":"***"} /p/***"#
        );
    }

    #[test]
    fn two_character_values_are_masked_as_whole_words_only() {
        let fields: Vec<FieldSpec> = serde_json::from_value(json!([
            {"name": "lastName", "type": "last_name"}, {"name": "initial", "type": "text"}
        ]))
        .unwrap();
        let echo = EchoMask::new(&fields, &json!({"lastName": "Li", "initial": "Q"}));
        assert_eq!(
            echo.text(r#"{"last":"Li"} Li, limit Lima "Li" Li"#),
            r#"{"last":"L***"} L***, limit Lima "L***" L***"#
        );
        assert_eq!(echo.text("LiLi and /Li/"), "LiLi and /L***/");
        // One character is never searched for.
        assert_eq!(echo.text("Q and QA"), "Q and QA");
        // Non-ASCII letters are letters: "Lü" in "Lüdtke" stays.
        let echo = EchoMask::new(&fields, &json!({"lastName": "Lü"}));
        assert_eq!(echo.text("Lü Lüdtke (Lü)"), "L*** Lüdtke (L***)");
    }

    #[test]
    fn a_value_is_found_json_escaped_as_other_encoders_write_it() {
        let fields: Vec<FieldSpec> =
            serde_json::from_value(json!([{"name": "n", "type": "name"}])).unwrap();
        let echo = EchoMask::new(&fields, &json!({"n": "José Lü"}));
        assert_eq!(
            echo.text(r#"{"n": "Jos\u00e9 L\u00fc", "m": "JOS\u00C9"} Jos\u00E9 L\u00FC"#),
            r#"{"n": "J*** L***", "m": "JOS\u00C9"} J*** L***"#
        );
    }

    #[test]
    fn converted_forms_are_masked_and_a_repeated_value_gets_the_mask_that_shows_least() {
        let fields: Vec<FieldSpec> = serde_json::from_value(json!([
            {"name": "first", "type": "first_name"}, {"name": "nick", "type": "text"},
            {"name": "seen", "type": "datetime"}
        ]))
        .unwrap();
        let echo = EchoMask::new(
            &fields,
            &json!({"first": "Quillon", "nick": "Quillon", "seen": "2031-07-19T09:41:27-05:00"}),
        )
        .with_converted(&[("2031-07-19 14:41:27".into(), "2031-**-**".into())]);
        assert_eq!(
            echo.text("Quillon seen 2031-07-19 14:41:27+00"),
            "*** seen 2031-**-**+00"
        );
        // An id that is a collected value as a whole is masked; others are kept whole.
        assert_eq!(echo.whole(" Quillon "), Some("***"));
        assert_eq!(echo.whole("Quillon-1"), None);
    }

    #[test]
    fn undeclared_fields_are_masked_as_free_text() {
        let fields: Vec<FieldSpec> = serde_json::from_value(json!([
            {"name": "email", "type": "email"}, {"name": "visitType", "type": "enum", "values": ["new"]}
        ]))
        .unwrap();
        let data = json!({"email": "jo@example.org", "visitType": "new", "secretNote": "HIV+"});
        let masked = mask_data(&fields, data.as_object().unwrap());
        assert_eq!(
            Value::Object(masked),
            json!({"email": "j***@example.org", "visitType": "new", "secretNote": "***"})
        );
    }
}

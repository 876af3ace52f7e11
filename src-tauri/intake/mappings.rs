//! Mappings: which of a source's messages become handoffs to which integration, and how a
//! message's fields (JSON pointers into its body, constants, simple transforms) become the
//! integration's fields. Checked against the integration's field schema when saved; applied to
//! an accepted message (or to a sample body, to preview) without side effects. Their rows in the
//! store, each write with its audit entry.

use crate::audit::NewAuditEvent;
use crate::error::FieldProblem;
use crate::fields::{FieldSpec, FieldType};
use crate::ids::{IntegrationId, MappingId, SourceId};
use crate::store::{Store, StoreError, from_ms, now_ms, on_backend};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::AssertSqlSafe;

/// What a masked body shows in place of a value no mapping reads (until an audited reveal).
pub const HIDDEN: &str = "•••";
/// The most field mappings one mapping has.
pub const MAX_FIELD_MAPPINGS: usize = 200;
/// The most transforms one field mapping chains.
const MAX_TRANSFORMS: usize = 8;
const MAX_POINTER_LEN: usize = 300;
const MAX_NAME_LEN: usize = 100;
const MAX_EVENT_VALUE_LEN: usize = 200;
/// The most pointers one `join` reads.
const MAX_JOINED: usize = 10;

/// Whether a mapped message is delivered at once or waits for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "lowercase")]
pub enum SyncFrequency {
    /// Its handoff is made and delivered as soon as it is accepted.
    Realtime,
    /// It waits in the inbox (`mapped`) until someone releases it.
    Manual,
}

impl SyncFrequency {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Realtime => "realtime",
            Self::Manual => "manual",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        [Self::Realtime, Self::Manual]
            .into_iter()
            .find(|f| f.as_str() == s)
    }
}

/// Where a message names its event type, and the type a mapping takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventMatch {
    /// A JSON pointer into the body (`/type`, `/event/name`).
    #[cfg_attr(test, ts(optional))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// Or a header (`X-Event-Type`).
    #[cfg_attr(test, ts(optional))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// The event type this mapping takes (compared exactly; a number or boolean by its JSON
    /// text).
    pub equals: String,
}

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum ValueSource {
    /// A JSON pointer into the body (RFC 6901: `/patient/name/0`).
    Pointer(String),
    /// The same value for every message.
    Constant(#[cfg_attr(test, ts(type = "unknown"))] Value),
    /// Several pointers' text joined (the ones missing or empty are left out).
    Join {
        pointers: Vec<String>,
        #[serde(default = "space")]
        separator: String,
    },
}

fn space() -> String {
    " ".to_string()
}

/// What is done to a value, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum Transform {
    /// Leading and trailing white space removed (inner runs of it made one space).
    Trim,
    Lowercase,
    Uppercase,
    /// One part of a full name: `first` (its first word) or `last` (the rest); a
    /// "Last, First" name is read the other way round.
    SplitName {
        part: NamePart,
    },
    /// A date or date-time read with `from` (strftime, e.g. `%m/%d/%Y`) and written with `to`
    /// (default `%Y-%m-%d`).
    Date {
        from: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(test, ts(optional))]
        to: Option<String>,
    },
    /// A phone number as `+<country><digits>`: punctuation dropped; a number without a
    /// country code gets `defaultCountryCode` (default `1`).
    Phone {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(test, ts(optional))]
        default_country_code: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "lowercase")]
pub enum NamePart {
    First,
    Last,
}

/// One of the integration's fields, and where its value comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldMapping {
    /// The integration's field.
    pub field: String,
    pub value: ValueSource,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(test, ts(as = "Option<Vec<Transform>>", optional))]
    pub transforms: Vec<Transform>,
}

/// A mapping as saved.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Mapping {
    pub id: MappingId,
    pub source_id: SourceId,
    pub name: String,
    /// `None`: every message of the source that no mapping with an event takes.
    pub event: Option<EventMatch>,
    pub integration_id: IntegrationId,
    pub fields: Vec<FieldMapping>,
    /// Where the session id comes from; `None`: the message id (else the inbox id).
    pub session: Option<ValueSource>,
    pub sync: SyncFrequency,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A mapping's settings as saved (integration and source resolved to ids).
#[derive(Debug, Clone)]
pub struct MappingSettings {
    pub source_id: SourceId,
    pub name: String,
    pub event: Option<EventMatch>,
    pub integration_id: IntegrationId,
    pub fields: Vec<FieldMapping>,
    pub session: Option<ValueSource>,
    pub sync: SyncFrequency,
    pub enabled: bool,
}

/// A message as the mappings read it.
pub struct Message<'a> {
    pub body: &'a Value,
    /// Header names lowercased.
    pub headers: &'a Map<String, Value>,
    /// The sender's message id, or the inbox id.
    pub message_id: &'a str,
}

/// What a mapping made of a message: the handoff's session id and data (before the
/// integration's own checks).
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub session_id: String,
    pub data: Map<String, Value>,
}

impl MappingSettings {
    /// Every problem of the mapping against the fields of its integration, each naming its
    /// place (`fields[2].value`, `event.pointer`).
    pub fn check(&self, fields: &[FieldSpec]) -> Vec<FieldProblem> {
        let mut p = Problems::default();
        let name = self.name.trim();
        if name.is_empty() {
            p.add("name", "must not be empty");
        } else if name.chars().count() > MAX_NAME_LEN {
            p.add("name", format!("is longer than {MAX_NAME_LEN} characters"));
        } else if name.chars().any(char::is_control) {
            p.add("name", "must not contain control characters");
        }
        if let Some(e) = &self.event {
            match (&e.pointer, &e.header) {
                (Some(ptr), None) => check_pointer(&mut p, "event.pointer", ptr),
                (None, Some(h)) => {
                    if !is_header_name(h) {
                        p.add(
                            "event.header",
                            "must be a header name (letters, digits, '-')",
                        );
                    }
                }
                _ => p.add(
                    "event",
                    "names the event type by one of `pointer` or `header`",
                ),
            }
            if e.equals.is_empty() || e.equals.chars().count() > MAX_EVENT_VALUE_LEN {
                p.add(
                    "event.equals",
                    format!("must be 1 to {MAX_EVENT_VALUE_LEN} characters"),
                );
            }
        }
        if self.fields.is_empty() {
            p.add("fields", "maps no field");
        } else if self.fields.len() > MAX_FIELD_MAPPINGS {
            p.add(
                "fields",
                format!("has more than {MAX_FIELD_MAPPINGS} entries"),
            );
        }
        let mut seen = std::collections::HashSet::new();
        for (i, f) in self.fields.iter().enumerate() {
            let at = format!("fields[{i}]");
            let spec = fields.iter().find(|s| s.name == f.field);
            match spec {
                None => p.add(
                    format!("{at}.field"),
                    format!("the integration has no field '{}'", f.field),
                ),
                Some(_) if !seen.insert(f.field.as_str()) => p.add(
                    format!("{at}.field"),
                    format!("'{}' is mapped twice", f.field),
                ),
                Some(_) => {}
            }
            check_source(&mut p, &format!("{at}.value"), &f.value);
            if f.transforms.len() > MAX_TRANSFORMS {
                p.add(
                    format!("{at}.transforms"),
                    format!("chains more than {MAX_TRANSFORMS} transforms"),
                );
            }
            for (j, t) in f.transforms.iter().enumerate() {
                check_transform(&mut p, &format!("{at}.transforms[{j}]"), t);
            }
            if let (Some(spec), ValueSource::Constant(v)) = (spec, &f.value)
                && f.transforms.is_empty()
                && let Err(reason) = crate::templating::normalise(spec, v)
            {
                p.add(format!("{at}.value.constant"), reason);
            }
        }
        for spec in fields.iter().filter(|s| s.required) {
            if !self.fields.iter().any(|f| f.field == spec.name) {
                p.add(
                    "fields",
                    format!(
                        "the integration's required field '{}' is not mapped",
                        spec.name
                    ),
                );
            }
        }
        if let Some(s) = &self.session {
            check_source(&mut p, "session", s);
        }
        p.0
    }
}

impl Mapping {
    /// Whether this mapping takes `message`: enabled, and its event type matches (a mapping
    /// with no event takes any).
    pub fn takes(&self, message: &Message<'_>) -> bool {
        if !self.enabled {
            return false;
        }
        let Some(e) = &self.event else {
            return true;
        };
        let value = match (&e.pointer, &e.header) {
            (Some(ptr), _) => message.body.pointer(ptr).cloned(),
            (None, Some(h)) => message.headers.get(&h.to_ascii_lowercase()).cloned(),
            (None, None) => None,
        };
        match value {
            Some(Value::String(s)) => s == e.equals,
            Some(Value::Number(n)) => e.equals.parse::<serde_json::Number>().ok() == Some(n),
            Some(Value::Bool(b)) => e.equals == if b { "true" } else { "false" },
            _ => false,
        }
    }

    /// The handoff `message` becomes, or every field that could not be made (each naming its
    /// field and why, never a value).
    pub fn apply(&self, message: &Message<'_>) -> Result<Mapped, Vec<FieldProblem>> {
        let mut problems = Problems::default();
        let mut data = Map::new();
        for f in &self.fields {
            match value_of(&f.value, message.body) {
                None | Some(Value::Null) => {}
                Some(v) => match f.transforms.iter().try_fold(v, |v, t| transform(t, v)) {
                    Ok(v) => {
                        data.insert(f.field.clone(), v);
                    }
                    Err(reason) => problems.add(&f.field, reason),
                },
            }
        }
        let session_id = match &self.session {
            None => message.message_id.to_string(),
            Some(source) => match value_of(source, message.body) {
                Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
                Some(v @ Value::Number(_)) => v.to_string(),
                _ => {
                    problems.add(
                        "session",
                        "the message has no session id where the mapping reads it",
                    );
                    String::new()
                }
            },
        };
        if problems.0.is_empty() {
            Ok(Mapped { session_id, data })
        } else {
            Err(problems.0)
        }
    }

    /// The pointers of the body this mapping reads for each of the integration's fields.
    pub fn pointers(&self) -> Vec<(&str, &str)> {
        let mut out = Vec::new();
        for f in &self.fields {
            match &f.value {
                ValueSource::Pointer(p) => out.push((f.field.as_str(), p.as_str())),
                ValueSource::Join { pointers, .. } => {
                    out.extend(pointers.iter().map(|p| (f.field.as_str(), p.as_str())))
                }
                ValueSource::Constant(_) => {}
            }
        }
        out
    }
}

/// The mapping of `mappings` (a source's, oldest first) that takes `message`: one whose event
/// matches first, else one without an event.
pub fn choose<'m>(mappings: &'m [Mapping], message: &Message<'_>) -> Option<&'m Mapping> {
    mappings
        .iter()
        .filter(|m| m.event.is_some())
        .find(|m| m.takes(message))
        .or_else(|| {
            mappings
                .iter()
                .filter(|m| m.event.is_none())
                .find(|m| m.takes(message))
        })
}

/// A body masked for display: the values mapped to a field masked by its type, every other
/// value hidden (its place and kind kept, so a person sees the message's shape).
pub fn masked_body(body: &Value, mapped: &[(&str, &str)], fields: &[FieldSpec]) -> Value {
    fn hide(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), hide(v))).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(hide).collect()),
            Value::Null => Value::Null,
            _ => Value::String(HIDDEN.to_string()),
        }
    }
    let mut out = hide(body);
    for (field, pointer) in mapped {
        let Some(original) = body.pointer(pointer) else {
            continue;
        };
        if original.is_object() || original.is_array() {
            continue;
        }
        let field_type = fields
            .iter()
            .find(|s| s.name == *field)
            .map_or(FieldType::Text, |s| s.field_type);
        if let Some(slot) = out.pointer_mut(pointer) {
            *slot = crate::masking::mask_value(field_type, original);
        }
    }
    out
}

#[derive(Default)]
struct Problems(Vec<FieldProblem>);

impl Problems {
    fn add(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push(FieldProblem {
            field: field.into(),
            reason: reason.into(),
        });
    }
}

fn is_header_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 64
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn check_pointer(p: &mut Problems, at: &str, ptr: &str) {
    if ptr.len() > MAX_POINTER_LEN {
        p.add(at, format!("is longer than {MAX_POINTER_LEN} characters"));
    } else if !ptr.is_empty() && !ptr.starts_with('/') {
        p.add(
            at,
            "must be a JSON pointer: empty (the whole body) or starting with '/' (e.g. /patient/firstName)",
        );
    } else if ptr.chars().any(char::is_control) {
        p.add(at, "must not contain control characters");
    } else {
        // `~` escapes only `~0` and `~1` (RFC 6901).
        let bytes = ptr.as_bytes();
        let bad_escape = bytes
            .iter()
            .enumerate()
            .any(|(i, b)| *b == b'~' && !matches!(bytes.get(i + 1), Some(b'0' | b'1')));
        if bad_escape {
            p.add(at, "has a '~' that is not '~0' or '~1'");
        }
    }
}

fn check_source(p: &mut Problems, at: &str, s: &ValueSource) {
    match s {
        ValueSource::Pointer(ptr) => check_pointer(p, &format!("{at}.pointer"), ptr),
        ValueSource::Constant(v) => {
            if v.to_string().len() > 4096 {
                p.add(format!("{at}.constant"), "is longer than 4096 bytes");
            }
        }
        ValueSource::Join {
            pointers,
            separator,
        } => {
            if pointers.is_empty() || pointers.len() > MAX_JOINED {
                p.add(
                    format!("{at}.join.pointers"),
                    format!("must name 1 to {MAX_JOINED} pointers"),
                );
            }
            for (i, ptr) in pointers.iter().enumerate() {
                check_pointer(p, &format!("{at}.join.pointers[{i}]"), ptr);
            }
            if separator.len() > 16 {
                p.add(
                    format!("{at}.join.separator"),
                    "is longer than 16 characters",
                );
            }
        }
    }
}

fn check_transform(p: &mut Problems, at: &str, t: &Transform) {
    let check_format = |p: &mut Problems, field: &str, f: &str| {
        use chrono::format::{Item, StrftimeItems};
        if f.is_empty() || f.len() > 64 || StrftimeItems::new(f).any(|i| matches!(i, Item::Error)) {
            p.add(
                format!("{at}.{field}"),
                "must be a strftime date format such as %m/%d/%Y or %Y-%m-%d",
            );
        }
    };
    match t {
        Transform::Date { from, to } => {
            check_format(p, "from", from);
            if let Some(to) = to {
                check_format(p, "to", to);
            }
        }
        Transform::Phone {
            default_country_code: Some(cc),
        } if cc.is_empty() || cc.len() > 3 || !cc.bytes().all(|b| b.is_ascii_digit()) => {
            p.add(
                format!("{at}.defaultCountryCode"),
                "must be 1 to 3 digits (e.g. 1, 44)",
            );
        }
        _ => {}
    }
}

/// The value `source` reads from `body` (`None`: the body has none there).
fn value_of(source: &ValueSource, body: &Value) -> Option<Value> {
    match source {
        ValueSource::Pointer(p) => body.pointer(p).cloned(),
        ValueSource::Constant(v) => Some(v.clone()),
        ValueSource::Join {
            pointers,
            separator,
        } => {
            let parts: Vec<String> = pointers
                .iter()
                .filter_map(|p| body.pointer(p))
                .filter_map(|v| match v {
                    Value::String(s) => Some(s.trim().to_string()),
                    Value::Number(_) | Value::Bool(_) => Some(v.to_string()),
                    _ => None,
                })
                .filter(|s| !s.is_empty())
                .collect();
            (!parts.is_empty()).then(|| Value::String(parts.join(separator)))
        }
    }
}

/// One transform of a value; an error says why, never the value.
fn transform(t: &Transform, v: Value) -> Result<Value, String> {
    let text = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(format!(
            "{} needs text, and the message has {}",
            name_of(t),
            kind_of(v)
        )),
    };
    Ok(match t {
        Transform::Trim => {
            Value::String(text(&v)?.split_whitespace().collect::<Vec<_>>().join(" "))
        }
        Transform::Lowercase => Value::String(text(&v)?.to_lowercase()),
        Transform::Uppercase => Value::String(text(&v)?.to_uppercase()),
        Transform::SplitName { part } => {
            let full = text(&v)?;
            let (first, last) = split_name(&full);
            Value::String(match part {
                NamePart::First => first,
                NamePart::Last => last,
            })
        }
        Transform::Date { from, to } => {
            let s = text(&v)?;
            let to = to.as_deref().unwrap_or("%Y-%m-%d");
            let s = s.trim();
            let formatted = chrono::NaiveDateTime::parse_from_str(s, from)
                .map(|d| d.format(to).to_string())
                .or_else(|_| {
                    chrono::NaiveDate::parse_from_str(s, from).map(|d| d.format(to).to_string())
                })
                .map_err(|_| format!("the date does not read as {from}"))?;
            Value::String(formatted)
        }
        Transform::Phone {
            default_country_code,
        } => {
            let s = text(&v)?;
            let plus = s.trim_start().starts_with('+') || s.trim_start().starts_with("00");
            let mut digits: String = s.chars().filter(char::is_ascii_digit).collect();
            if s.trim_start().starts_with("00") {
                digits.drain(..2);
            }
            if digits.len() < 7 || digits.len() > 15 {
                return Err("the phone number does not have 7 to 15 digits".into());
            }
            let cc = default_country_code.as_deref().unwrap_or("1");
            // Written with its country code already: `+…`, `00…`, or a North American `1…`.
            let international =
                plus || (cc == "1" && digits.len() == 11 && digits.starts_with('1'));
            if international {
                Value::String(format!("+{digits}"))
            } else {
                Value::String(format!("+{cc}{}", digits.trim_start_matches('0')))
            }
        }
    })
}

/// A full name's first and last parts: "Ana Lima Souza" → ("Ana", "Lima Souza");
/// "Souza, Ana" → ("Ana", "Souza").
fn split_name(full: &str) -> (String, String) {
    if let Some((last, first)) = full.split_once(',') {
        return (first.trim().to_string(), last.trim().to_string());
    }
    let words: Vec<&str> = full.split_whitespace().collect();
    match words.split_first() {
        Some((first, rest)) => (first.to_string(), rest.join(" ")),
        None => (String::new(), String::new()),
    }
}

fn name_of(t: &Transform) -> &'static str {
    match t {
        Transform::Trim => "trim",
        Transform::Lowercase => "lowercase",
        Transform::Uppercase => "uppercase",
        Transform::SplitName { .. } => "splitName",
        Transform::Date { .. } => "date",
        Transform::Phone { .. } => "phone",
    }
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

fn corrupt(id: &str, what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("intake mapping {id}: {what}"))
}

/// A mapping's row as both back ends return it.
#[derive(sqlx::FromRow)]
struct MappingRow {
    id: String,
    source_id: String,
    name: String,
    event: Option<String>,
    integration_id: String,
    fields: String,
    session: Option<String>,
    sync: String,
    enabled: bool,
    created_at: i64,
    updated_at: i64,
}

impl MappingRow {
    fn into_mapping(self) -> Result<Mapping, StoreError> {
        let id = self.id;
        fn json<T: serde::de::DeserializeOwned>(id: &str, text: &str) -> Result<T, StoreError> {
            serde_json::from_str(text).map_err(|e| corrupt(id, e))
        }
        Ok(Mapping {
            source_id: self
                .source_id
                .parse()
                .map_err(|_| corrupt(&id, "source id"))?,
            name: self.name,
            event: self.event.map(|t| json(&id, &t)).transpose()?,
            integration_id: self
                .integration_id
                .parse()
                .map_err(|_| corrupt(&id, "integration id"))?,
            fields: json(&id, &self.fields)?,
            session: self.session.map(|t| json(&id, &t)).transpose()?,
            sync: SyncFrequency::parse(&self.sync).ok_or_else(|| corrupt(&id, "sync"))?,
            enabled: self.enabled,
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
            id: id.parse().map_err(|_| corrupt(&id, "id"))?,
        })
    }
}

const COLUMNS: &str = "id, source_id, name, event, integration_id, fields, session, sync, \
                       enabled, created_at, updated_at";

fn encode<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Whether a write failed on the (source, name) unique key.
pub fn is_mapping_name_conflict(e: &StoreError) -> bool {
    matches!(e, StoreError::Sql(sqlx::Error::Database(d)) if d.is_unique_violation())
}

impl Store {
    /// A source's mappings (every source's when `None`), oldest first.
    pub async fn mappings(&self, source: Option<SourceId>) -> Result<Vec<Mapping>, StoreError> {
        let rows: Vec<MappingRow> = on_backend!(self, db => {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM intake_mappings WHERE ($1 IS NULL OR source_id = $1)
                 ORDER BY source_id, created_at, id"
            )))
            .bind(source.map(|s| s.to_string()))
            .fetch_all(&db.read)
            .await
        })?;
        rows.into_iter().map(MappingRow::into_mapping).collect()
    }

    pub async fn mapping(&self, id: MappingId) -> Result<Option<Mapping>, StoreError> {
        let row: Option<MappingRow> = on_backend!(self, db => {
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM intake_mappings WHERE id = $1"
            )))
            .bind(id.to_string())
            .fetch_optional(&db.read)
            .await
        })?;
        row.map(MappingRow::into_mapping).transpose()
    }

    /// Saves a mapping (a new one, or `id`'s new settings) with its audit entry. `false` when
    /// an update finds no such mapping.
    pub async fn save_mapping(
        &self,
        id: MappingId,
        m: &MappingSettings,
        new: bool,
        audit: &NewAuditEvent,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let event = m.event.as_ref().map(encode).transpose()?;
        let fields = encode(&m.fields)?;
        let session = m.session.as_ref().map(encode).transpose()?;
        on_backend!(self, db => {
            let mut tx = db.write.begin().await?;
            tx.insert_audit(audit).await?;
            let sql = if new {
                "INSERT INTO intake_mappings (source_id, name, event, integration_id, fields,
                                              session, sync, enabled, updated_at, id, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9)"
            } else {
                db.dialect().pick(
                    "UPDATE intake_mappings SET source_id = $1, name = $2, event = $3,
                            integration_id = $4, fields = $5, session = $6, sync = $7,
                            enabled = $8, updated_at = max(updated_at + 1, $9)
                     WHERE id = $10",
                    "UPDATE intake_mappings SET source_id = $1, name = $2, event = $3,
                            integration_id = $4, fields = $5, session = $6, sync = $7,
                            enabled = $8, updated_at = greatest(updated_at + 1, $9)
                     WHERE id = $10",
                )
            };
            let done = sqlx::query(sql)
                .bind(m.source_id.to_string())
                .bind(m.name.trim())
                .bind(&event)
                .bind(m.integration_id.to_string())
                .bind(&fields)
                .bind(&session)
                .bind(m.sync.as_str())
                .bind(m.enabled)
                .bind(now)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if done == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Removes a mapping with its audit entry; `false` when there is none.
    pub async fn delete_mapping(
        &self,
        id: MappingId,
        audit: &NewAuditEvent,
    ) -> Result<bool, StoreError> {
        on_backend!(self, db => {
            let mut tx = db.write.begin().await?;
            tx.insert_audit(audit).await?;
            let done = sqlx::query("DELETE FROM intake_mappings WHERE id = $1")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if done == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            tx.commit().await?;
            Ok(true)
        })
    }
}

#[cfg(test)]
mod tests;

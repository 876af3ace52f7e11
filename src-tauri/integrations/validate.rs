//! Validation on save. It checks the config itself and never needs the target to be
//! reachable; every problem is reported with the path of its field and the reason.

use super::{
    ApiConfig, AuthKind, ConfigError, DatabaseConfig, DbType, FieldSpec, FieldType, HealthSettings,
    IntegrationConfig, TargetKind,
};
use crate::error::FieldProblem;
use crate::templating::{self, BUILTINS};

const MAX_FIELDS: usize = 200;
const MAX_HEADERS: usize = 50;
const MAX_NAME_LEN: usize = 100;
const TIMEOUT_RANGE_MS: std::ops::RangeInclusive<u64> = 100..=300_000;

/// A plain SQL identifier: a letter or underscore, then letters, digits or underscores; at most
/// 63 characters (PostgreSQL's limit, and below MySQL's).
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 63
}

/// A table name: an identifier, optionally schema-qualified (`schema.table`).
fn is_table_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    (1..=2).contains(&parts.len()) && parts.iter().all(|p| is_identifier(p))
}

struct Problems(Vec<FieldProblem>);

impl Problems {
    fn add(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push(FieldProblem {
            field: field.into(),
            reason: reason.into(),
        });
    }
}

/// Normalises (trims the name, infers an omitted field schema) and validates a config.
pub fn validate(mut config: IntegrationConfig) -> Result<IntegrationConfig, ConfigError> {
    let mut p = Problems(Vec::new());
    config.name = config.name.trim().to_string();
    if config.name.is_empty() {
        p.add("name", "must not be empty");
    } else if config.name.chars().count() > MAX_NAME_LEN {
        p.add("name", format!("is longer than {MAX_NAME_LEN} characters"));
    } else if config.name.chars().any(char::is_control) {
        p.add("name", "must not contain control characters");
    }
    if config.fields.is_empty() {
        config.fields = infer_fields(&config);
    }
    check_fields(&config.fields, &mut p);

    match config.kind {
        TargetKind::Api => {
            if config.database.is_some() {
                p.add("database", "must be absent when kind is \"api\"");
            }
            match &config.api {
                Some(api) => check_api(api, &config, &mut p),
                None => p.add("api", "is required when kind is \"api\""),
            }
        }
        TargetKind::Database => {
            if config.api.is_some() {
                p.add("api", "must be absent when kind is \"database\"");
            }
            match &config.database {
                Some(db) => check_database(db, &config, &mut p),
                None => p.add("database", "is required when kind is \"database\""),
            }
        }
    }
    let r = &config.retry;
    if !(1..=50).contains(&r.max_attempts) {
        p.add("retry.maxAttempts", "must be between 1 and 50");
    }
    if !(10..=86_400_000).contains(&r.base_delay_ms) {
        p.add("retry.baseDelayMs", "must be between 10 ms and 1 day");
    }
    if r.max_delay_ms < r.base_delay_ms || r.max_delay_ms > 86_400_000 {
        p.add(
            "retry.maxDelayMs",
            "must be at least baseDelayMs and at most 1 day",
        );
    }
    if let Some(health) = &config.health {
        check_health_settings(health, &mut p);
    }
    if p.0.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::Invalid(p.0))
    }
}

/// With no declared fields, every placeholder (API) or mapped field (database) becomes an
/// optional text field.
fn infer_fields(config: &IntegrationConfig) -> Vec<FieldSpec> {
    let names: Vec<String> = match (&config.api, &config.database) {
        (Some(api), _) => {
            let mut names = templating::placeholders_in_str(&api.endpoint);
            if let Some(body) = &api.payload_structure {
                names.extend(templating::placeholders(body));
            }
            names
        }
        (None, Some(db)) => db.field_mapping.keys().cloned().collect(),
        (None, None) => Vec::new(),
    };
    let mut seen = std::collections::BTreeSet::new();
    names
        .into_iter()
        .filter(|n| !BUILTINS.contains(&n.as_str()) && seen.insert(n.clone()))
        .map(|name| FieldSpec {
            name,
            field_type: FieldType::Text,
            required: false,
            values: Vec::new(),
            description: None,
        })
        .collect()
}

fn check_fields(fields: &[FieldSpec], p: &mut Problems) {
    if fields.len() > MAX_FIELDS {
        p.add(
            "fields",
            format!("has {} entries; the limit is {MAX_FIELDS}", fields.len()),
        );
    }
    let mut seen = std::collections::HashSet::new();
    for (i, f) in fields.iter().enumerate() {
        let at = format!("fields[{i}]");
        if !is_identifier(&f.name) {
            p.add(
                format!("{at}.name"),
                format!(
                    "'{}' must be a letter or _ followed by letters, digits or _",
                    f.name
                ),
            );
        } else if BUILTINS.contains(&f.name.as_str()) {
            p.add(
                format!("{at}.name"),
                format!("'{}' is a built-in placeholder", f.name),
            );
        } else if !seen.insert(f.name.as_str()) {
            p.add(
                format!("{at}.name"),
                format!("'{}' is declared twice", f.name),
            );
        }
        match (f.field_type, f.values.is_empty()) {
            (FieldType::Enum, true) => p.add(
                format!("{at}.values"),
                "an enum field needs at least one value",
            ),
            (FieldType::Enum, false) => {}
            (_, false) => p.add(format!("{at}.values"), "only enum fields take values"),
            (_, true) => {}
        }
    }
}

fn check_placeholders(names: Vec<String>, at: &str, config: &IntegrationConfig, p: &mut Problems) {
    for name in names {
        if !BUILTINS.contains(&name.as_str()) && config.field(&name).is_none() {
            p.add(
                at,
                format!(
                    "unknown placeholder {{{{{name}}}}}: declare a field '{name}' or remove it"
                ),
            );
        }
    }
}

fn check_timeout(value: Option<u64>, at: &str, p: &mut Problems) {
    if let Some(ms) = value
        && !TIMEOUT_RANGE_MS.contains(&ms)
    {
        p.add(
            at,
            format!(
                "{ms} ms is outside {}..={} ms",
                TIMEOUT_RANGE_MS.start(),
                TIMEOUT_RANGE_MS.end()
            ),
        );
    }
}

fn check_api(api: &ApiConfig, config: &IntegrationConfig, p: &mut Problems) {
    // Placeholders in the endpoint are allowed (e.g. `/patients/{{patientId}}`); check the URL
    // with them filled in.
    let probe = templating::fill_for_check(&api.endpoint);
    match url::Url::parse(&probe) {
        Err(e) => p.add(
            "api.endpoint",
            format!("'{}' is not a valid URL: {e}", api.endpoint),
        ),
        Ok(u) if !matches!(u.scheme(), "http" | "https") => p.add(
            "api.endpoint",
            format!(
                "scheme '{}' is not supported; use http or https",
                u.scheme()
            ),
        ),
        Ok(u) if u.host_str().is_none_or(str::is_empty) => p.add("api.endpoint", "has no host"),
        Ok(u) if !u.username().is_empty() || u.password().is_some() => p.add(
            "api.endpoint",
            "must not carry credentials; use authentication",
        ),
        Ok(_) => {}
    }
    check_placeholders(
        templating::placeholders_in_str(&api.endpoint),
        "api.endpoint",
        config,
        p,
    );
    if api.headers.len() > MAX_HEADERS {
        p.add(
            "api.headers",
            format!(
                "has {} entries; the limit is {MAX_HEADERS}",
                api.headers.len()
            ),
        );
    }
    for (name, value) in &api.headers {
        let at = format!("api.headers.{name}");
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            p.add(&at, "is not a valid header name");
        }
        if reqwest::header::HeaderValue::from_str(value).is_err() {
            p.add(&at, "value has characters a header cannot carry");
        }
        if name.eq_ignore_ascii_case("idempotency-key") {
            p.add(
                &at,
                "is set by the console (the handoff id) and cannot be configured",
            );
        }
    }
    if let Some(auth) = &api.authentication {
        let creds = &auth.credentials;
        let (required, optional): (&[&str], &[&str]) = match auth.kind {
            AuthKind::Bearer => (&["token"], &[]),
            AuthKind::Basic => (&["username", "password"], &[]),
            AuthKind::ApiKey => (&["key"], &["header", "query"]),
        };
        for key in required {
            match creds.get(*key) {
                None => p.add(
                    format!("api.authentication.credentials.{key}"),
                    "is required",
                ),
                Some(v) if v.is_empty() => p.add(
                    format!("api.authentication.credentials.{key}"),
                    "must not be empty",
                ),
                Some(_) => {}
            }
        }
        for key in creds.keys() {
            if !required.contains(&key.as_str()) && !optional.contains(&key.as_str()) {
                let allowed = required
                    .iter()
                    .chain(optional)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ");
                p.add(
                    format!("api.authentication.credentials.{key}"),
                    format!("is not used by this authentication type (it takes {allowed})"),
                );
            }
        }
        if creds.contains_key("header") && creds.contains_key("query") {
            p.add(
                "api.authentication.credentials",
                "give either header or query, not both",
            );
        }
        if let Some(h) = creds.get("header")
            && reqwest::header::HeaderName::from_bytes(h.as_bytes()).is_err()
        {
            p.add(
                "api.authentication.credentials.header",
                "is not a valid header name",
            );
        }
        if creds.get("query").is_some_and(|q| q.is_empty()) {
            p.add("api.authentication.credentials.query", "must not be empty");
        }
        if auth.kind == AuthKind::Basic && creds.get("username").is_some_and(|u| u.contains(':')) {
            p.add(
                "api.authentication.credentials.username",
                "must not contain ':'",
            );
        }
    }
    if let Some(body) = &api.payload_structure {
        check_placeholders(
            templating::placeholders(body),
            "api.payloadStructure",
            config,
            p,
        );
        if api.method.sends_query() && !body.is_object() {
            p.add(
                "api.payloadStructure",
                format!(
                    "must be an object for {}: its fields become the query string",
                    api.method.as_str()
                ),
            );
        }
    }
    check_timeout(api.timeout_ms, "api.timeoutMs", p);
    check_timeout(api.connect_timeout_ms, "api.connectTimeoutMs", p);
    if let Some(health) = &api.health_check {
        check_health_path(&health.path, p);
    }
    if let Some(expect) = &api.expect {
        for code in &expect.status {
            if !(100..=599).contains(code) {
                p.add(
                    "api.expect.status",
                    format!("{code} is not an HTTP status code"),
                );
            }
        }
        for (at, ptr) in [
            ("api.expect.requirePointer", &expect.require_pointer),
            (
                "api.expect.submissionIdPointer",
                &expect.submission_id_pointer,
            ),
        ] {
            if let Some(ptr) = ptr
                && !ptr.is_empty()
                && !ptr.starts_with('/')
            {
                p.add(
                    at,
                    format!("'{ptr}' is not a JSON pointer (it must start with '/')"),
                );
            }
        }
    }
}

fn check_health_settings(h: &HealthSettings, p: &mut Problems) {
    let before = p.0.len();
    for (at, value, range) in [
        (
            "health.failuresForError",
            h.failures_for_error,
            HealthSettings::FAILURES_FOR_ERROR_RANGE,
        ),
        (
            "health.recentDeliveries",
            h.recent_deliveries,
            HealthSettings::RECENT_DELIVERIES_RANGE,
        ),
        (
            "health.windowHours",
            h.window_hours,
            HealthSettings::WINDOW_HOURS_RANGE,
        ),
    ] {
        if let Some(v) = value
            && !range.contains(&v)
        {
            p.add(
                at,
                format!("{v} is outside {}..={}", range.start(), range.end()),
            );
        }
    }
    // More failures in a row than deliveries looked at could never be an error.
    if p.0.len() == before && h.failures_for_error() > h.recent_deliveries() {
        p.add(
            "health.failuresForError",
            format!(
                "must be at most health.recentDeliveries ({}): only that many deliveries are \
                 looked at",
                h.recent_deliveries()
            ),
        );
    }
}

/// The longest `api.healthCheck.path` accepted.
const MAX_HEALTH_PATH_LEN: usize = 2048;

/// A path (and optional query) on the endpoint's host: it is set on the endpoint's URL, so it
/// can never point the request (and the credentials) at another host.
fn check_health_path(path: &str, p: &mut Problems) {
    let at = "api.healthCheck.path";
    if !path.starts_with('/') {
        p.add(at, format!("'{path}' must start with '/'"));
    } else if path.len() > MAX_HEALTH_PATH_LEN {
        p.add(
            at,
            format!("is longer than {MAX_HEALTH_PATH_LEN} characters"),
        );
    } else if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        p.add(at, "must not contain spaces or control characters");
    } else if path.contains('#') {
        p.add(at, "must not contain a fragment ('#')");
    } else if path.contains("{{") {
        p.add(
            at,
            "must not contain placeholders: a health check sends no collected data",
        );
    }
}

fn check_database(db: &DatabaseConfig, config: &IntegrationConfig, p: &mut Problems) {
    if db.database.trim().is_empty() {
        let what = if db.db_type == DbType::Sqlite {
            "the SQLite file's path"
        } else {
            "the database name"
        };
        p.add(
            "database.database",
            format!("must not be empty: it is {what}"),
        );
    }
    if db.db_type != DbType::Sqlite {
        match db.hostname.as_deref().map(str::trim) {
            None | Some("") => p.add("database.hostname", "is required"),
            Some(h) if h.contains(['/', ' ', '@', '?', '#']) => {
                p.add("database.hostname", format!("'{h}' is not a host name"))
            }
            Some(_) => {}
        }
        if db.username.as_deref().is_none_or(str::is_empty) {
            p.add("database.username", "is required");
        }
        if db.port == Some(0) {
            p.add("database.port", "must be between 1 and 65535");
        }
        if db.password.as_deref() == Some("") {
            p.add("database.password", "must not be empty (omit it for none)");
        }
    }
    if !is_table_name(&db.table) {
        p.add(
            "database.table",
            format!(
                "'{}' is not a plain identifier (letters, digits, _; optionally schema.table)",
                db.table
            ),
        );
    }
    if db.field_mapping.is_empty() {
        p.add(
            "database.fieldMapping",
            "must map at least one field to a column",
        );
    }
    let mut columns = std::collections::HashSet::new();
    for (field, column) in &db.field_mapping {
        let at = format!("database.fieldMapping.{field}");
        if !BUILTINS.contains(&field.as_str()) && config.field(field).is_none() {
            p.add(&at, format!("'{field}' is not a declared field"));
        }
        if !is_identifier(column) {
            p.add(
                &at,
                format!("column '{column}' is not a plain identifier (letters, digits, _)"),
            );
        } else if !columns.insert(column.to_ascii_lowercase()) {
            p.add(&at, format!("column '{column}' is mapped twice"));
        }
    }
    if let Some(size) = db.pool_size
        && !(1..=50).contains(&size)
    {
        p.add("database.poolSize", "must be between 1 and 50");
    }
    check_timeout(db.connect_timeout_ms, "database.connectTimeoutMs", p);
    check_timeout(db.statement_timeout_ms, "database.statementTimeoutMs", p);
}

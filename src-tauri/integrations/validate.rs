//! Validation on save. It checks the config itself and never needs the target to be
//! reachable; every problem is reported with the path of its field and the reason.

use super::{
    ApiConfig, AuthKind, ConfigError, DatabaseConfig, DbType, FieldSpec, FieldType, HealthSettings,
    IntegrationConfig, SslMode, SslSetting, TargetKind, TlsProtection,
};
use crate::error::FieldProblem;
use crate::templating::{self, BUILTINS};

const MAX_FIELDS: usize = 200;
const MAX_HEADERS: usize = 50;
const MAX_NAME_LEN: usize = 100;
/// Names an integration cannot take: `/api/v1/integrations/<these>` are routes of their own, so
/// an integration so named could not be read or changed by its name.
const RESERVED_NAMES: [&str; 2] = ["check", "columns"];
const TIMEOUT_RANGE_MS: std::ops::RangeInclusive<u64> = 100..=300_000;
const DAY_MS: u64 = 86_400_000;

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
pub fn validate(config: IntegrationConfig) -> Result<IntegrationConfig, ConfigError> {
    let (config, problems) = check(config);
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

/// As [`validate`], answering the normalised config with every problem found (none when valid).
pub(super) fn check(mut config: IntegrationConfig) -> (IntegrationConfig, Vec<FieldProblem>) {
    let mut p = Problems(Vec::new());
    config.name = config.name.trim().to_string();
    if config.name.is_empty() {
        p.add("name", "must not be empty");
    } else if config.name.chars().count() > MAX_NAME_LEN {
        p.add("name", format!("is longer than {MAX_NAME_LEN} characters"));
    } else if config.name.chars().any(char::is_control) {
        p.add("name", "must not contain control characters");
    } else if RESERVED_NAMES.contains(&config.name.as_str()) {
        p.add(
            "name",
            format!(
                "'{}' is a word the console's API uses in its own paths: choose another name",
                config.name
            ),
        );
    }
    if config.fields.is_empty() {
        config.fields = infer_fields(&config);
    }
    // A seed's `"password": ""` means none (a user without a password): nothing to keep as a
    // secret, and nothing to send.
    if let Some(db) = config.database.as_mut()
        && db.password.as_deref() == Some("")
    {
        db.password = None;
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
        p.add(
            "retry.maxAttempts",
            format!(
                "must be from 1 to 50 tries, the first included (got {})",
                r.max_attempts
            ),
        );
    }
    if !(10..=DAY_MS).contains(&r.base_delay_ms) {
        p.add(
            "retry.baseDelayMs",
            format!(
                "must be from 10 to {DAY_MS} ms (1 day) (got {})",
                r.base_delay_ms
            ),
        );
    }
    if r.max_delay_ms < r.base_delay_ms || r.max_delay_ms > DAY_MS {
        p.add(
            "retry.maxDelayMs",
            format!(
                "must be at least retry.baseDelayMs ({} ms) and at most {DAY_MS} ms (1 day) \
                 (got {})",
                r.base_delay_ms, r.max_delay_ms
            ),
        );
    }
    if let Some(health) = &config.health {
        check_health_settings(health, &mut p);
    }
    (config, p.0)
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
                    "'{}' is not a usable field name: start with a letter or _, then use only \
                     letters, digits or _",
                    f.name
                ),
            );
        } else if BUILTINS.contains(&f.name.as_str()) {
            p.add(
                format!("{at}.name"),
                format!(
                    "'{}' is a built-in value the console fills in; choose another name",
                    f.name
                ),
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
            (_, false) => p.add(
                format!("{at}.values"),
                "only a field of type enum takes a list of values",
            ),
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
                "must be from {} to {} ms (5 minutes) (got {ms})",
                TIMEOUT_RANGE_MS.start(),
                TIMEOUT_RANGE_MS.end()
            ),
        );
    }
}

fn check_api(api: &ApiConfig, config: &IntegrationConfig, p: &mut Problems) {
    // Placeholders in the endpoint are allowed (e.g. `/patients/{{patientId}}`); check the URL
    // with them filled in.
    let endpoint_syntax = templating::syntax_problems(&api.endpoint);
    for reason in &endpoint_syntax {
        p.add("api.endpoint", reason);
    }
    if has_control(&api.endpoint) {
        // Checked on the text as given: URL parsing would quietly drop a line break or tab.
        p.add("api.endpoint", CONTROL_CHARACTERS);
    } else if endpoint_syntax.is_empty()
        && let Some(reason) = endpoint_problem(&templating::fill_for_check(&api.endpoint))
    {
        p.add("api.endpoint", reason);
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
        if has_control(value) {
            p.add(&at, format!("value {CONTROL_CHARACTERS}"));
        } else if reqwest::header::HeaderValue::from_str(value).is_err() {
            p.add(&at, "value has characters a header cannot carry");
        }
        if value.contains("{{") {
            // Never quoted: the value may be a credential.
            p.add(
                &at,
                "value holds '{{', but headers take no placeholders: it would be sent as \
                 written (placeholders work in api.endpoint and api.payloadStructure)",
            );
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
        for (key, value) in creds {
            // Never quoted: these are credentials. A line break in one sent as a header (a
            // bearer token, an API key) would start another header.
            if has_control(value) {
                p.add(
                    format!("api.authentication.credentials.{key}"),
                    CONTROL_CHARACTERS,
                );
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
        for (at, reason) in templating::template_problems(body, "api.payloadStructure") {
            p.add(at, reason);
        }
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
                    format!("{code} is not an HTTP status code (they run from 100 to 599)"),
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

/// What is wrong with an endpoint URL (its placeholders filled in), in plain words. The URL
/// itself is not quoted: it may carry a key in its query.
pub fn endpoint_problem(url: &str) -> Option<String> {
    use url::ParseError as E;
    if has_control(url) {
        return Some(CONTROL_CHARACTERS.into());
    }
    let url = url.trim();
    if url.is_empty() {
        return Some("is required: the URL the data is sent to (https://…)".into());
    }
    let why = match url::Url::parse(url) {
        Ok(u) if !matches!(u.scheme(), "http" | "https") => format!(
            "it needs http:// or https:// (it starts with {}:)",
            u.scheme()
        ),
        Ok(u) if u.host_str().is_none_or(str::is_empty) => "the host is missing".into(),
        Ok(u) if !u.username().is_empty() || u.password().is_some() => {
            return Some(
                "must not carry a user name or password: put credentials in authentication".into(),
            );
        }
        Ok(_) => return None,
        Err(E::RelativeUrlWithoutBase) | Err(E::RelativeUrlWithCannotBeABaseBase) => {
            "it needs http:// or https://".into()
        }
        Err(E::EmptyHost) => "the host is missing".into(),
        Err(E::InvalidPort) => "the port must be a number from 1 to 65535".into(),
        Err(E::InvalidIpv4Address) => "the IPv4 address is not valid".into(),
        Err(E::InvalidIpv6Address) => "the IPv6 address is not valid (write it as [::1])".into(),
        Err(E::InvalidDomainCharacter) | Err(E::IdnaError) => {
            "the host name has characters a host name cannot have (spaces, for example)".into()
        }
        Err(E::Overflow) => "it is too long".into(),
        Err(e) => e.to_string(),
    };
    Some(format!("not a valid URL: {why}"))
}

/// The most `database.fixedValues` entries.
pub const MAX_FIXED_VALUES: usize = 50;
/// The longest text a fixed value may be.
pub const MAX_FIXED_TEXT: usize = 1_000;

/// `database.fixedValues`: plain columns, none also filled by a field, each with text, a number
/// or true/false.
fn check_fixed_values(db: &DatabaseConfig, p: &mut Problems) {
    if db.fixed_values.len() > MAX_FIXED_VALUES {
        p.add(
            "database.fixedValues",
            format!(
                "has {} entries; the limit is {MAX_FIXED_VALUES}",
                db.fixed_values.len()
            ),
        );
    }
    let mut seen = std::collections::HashSet::new();
    // Past the limit the entries are not looked at one by one: that problem says it all.
    for (column, value) in db.fixed_values.iter().take(MAX_FIXED_VALUES) {
        let at = format!("database.fixedValues.{column}");
        if !is_identifier(column) {
            p.add(
                &at,
                format!("column '{column}' is not a plain identifier (letters, digits, _)"),
            );
        } else if let Some((field, _)) = db
            .field_mapping
            .iter()
            .find(|(_, mapped)| mapped.eq_ignore_ascii_case(column))
        {
            p.add(
                &at,
                format!(
                    "column '{column}' is filled by field '{field}' \
                     (database.fieldMapping.{field}); a column takes a field or a fixed value, \
                     not both"
                ),
            );
        } else if !seen.insert(column.to_ascii_lowercase()) {
            p.add(&at, format!("column '{column}' is given twice"));
        }
        match value {
            serde_json::Value::String(s) if s.chars().count() > MAX_FIXED_TEXT => {
                p.add(&at, format!("is longer than {MAX_FIXED_TEXT} characters"))
            }
            serde_json::Value::String(s) if s.contains("{{") => p.add(
                &at,
                "holds '{{', but fixed values take no placeholders: it would be stored as \
                 written (map a field or built-in to the column in database.fieldMapping)",
            ),
            serde_json::Value::String(_)
            | serde_json::Value::Number(_)
            | serde_json::Value::Bool(_) => {}
            other => p.add(
                &at,
                format!(
                    "must be text, a number or true/false (got {})",
                    match other {
                        serde_json::Value::Null => "null",
                        serde_json::Value::Array(_) => "a list",
                        _ => "an object",
                    }
                ),
            ),
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
                format!(
                    "must be from {} to {} (got {v})",
                    range.start(),
                    range.end()
                ),
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

/// The reason given for a value with a control character.
const CONTROL_CHARACTERS: &str =
    "must not contain control characters (a line break or a tab, for example)";

/// Whether text holds a control character (CR, LF, tab, NUL…): none belongs in a URL, a
/// header or a name, and a line break there could start another header or request line.
fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// The longest `database.sslRootCert` path.
const MAX_PATH_LEN: usize = 4096;

/// `database.ssl` by the database's own names, and the CA file only where certificates are
/// verified (sqlx ignores it otherwise, which would look like protection that is not there).
fn check_tls(db: &DatabaseConfig, p: &mut Problems) {
    if let Some(SslSetting::Mode(mode)) = db.ssl
        && db.db_type == DbType::Postgresql
        && mode.is_mysql_name()
    {
        p.add(
            "database.ssl",
            format!(
                "'{}' is a MySQL mode; PostgreSQL's are {}",
                mode.as_str(),
                SslMode::POSTGRES.map(SslMode::as_str).join(", ")
            ),
        );
    }
    let Some(ca) = &db.ssl_root_cert else {
        return;
    };
    let at = "database.sslRootCert";
    if ca.trim().is_empty() {
        p.add(
            at,
            "must not be empty (omit it to trust the public CAs alone)",
        );
    } else if ca.len() > MAX_PATH_LEN {
        p.add(at, format!("is longer than {MAX_PATH_LEN} characters"));
    } else if has_control(ca) {
        p.add(at, CONTROL_CHARACTERS);
    } else if !std::path::Path::new(ca).is_absolute() {
        p.add(
            at,
            format!(
                "'{ca}' is not an absolute path: give the CA file's full path (the console may \
                 run from any directory)"
            ),
        );
    }
    if db.tls_mode().protection() < TlsProtection::VerifiedCa {
        let verify_full = SslMode::of(TlsProtection::Verified, db.db_type).as_str();
        p.add(
            at,
            format!(
                "is used only when the certificate is verified, and database.ssl \"{}\" does not \
                 verify it: set database.ssl to \"{verify_full}\" (or leave it out)",
                db.tls_mode().as_str()
            ),
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
            // On the text as given: the connection uses it untrimmed.
            Some(_) if db.hostname.as_deref().is_some_and(has_control) => {
                p.add("database.hostname", CONTROL_CHARACTERS)
            }
            Some(h) if h.contains(['/', ' ', '@', '?', '#']) => p.add(
                "database.hostname",
                format!(
                    "'{h}' is not a host name: give the server's name or address alone (no \
                     scheme, path, user or spaces; the port goes in database.port)"
                ),
            ),
            Some(_) => {}
        }
        if db.username.as_deref().is_none_or(str::is_empty) {
            p.add("database.username", "is required");
        }
        if db.port == Some(0) {
            p.add("database.port", "must be from 1 to 65535 (got 0)");
        }
        for (at, value) in [
            ("database.username", db.username.as_deref()),
            ("database.database", Some(db.database.as_str())),
        ] {
            if value.is_some_and(has_control) {
                p.add(at, CONTROL_CHARACTERS);
            }
        }
        check_tls(db, p);
    } else if db.ssl_root_cert.is_some() {
        p.add(
            "database.sslRootCert",
            "is not used for SQLite (a local file)",
        );
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
    check_fixed_values(db, p);
    if let Some(size) = db.pool_size
        && !(1..=50).contains(&size)
    {
        p.add(
            "database.poolSize",
            format!("must be from 1 to 50 connections (got {size})"),
        );
    }
    check_timeout(db.connect_timeout_ms, "database.connectTimeoutMs", p);
    check_timeout(db.statement_timeout_ms, "database.statementTimeoutMs", p);
}

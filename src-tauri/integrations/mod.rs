//! Integrations: a named target (an API or a database table), the field schema a voice session
//! collects for it, and how those fields map onto the target. Owns the config format (the seed's
//! `APIConfig` / `DatabaseConfig` under a small envelope), its validation, and where secret
//! values sit in it.

mod import;
mod repo;
mod validate;

pub use crate::fields::{FieldSpec, FieldType};
pub use import::{ConfigDraft, MAX_CONFIG_BYTES, parse_config, read_config};
pub use repo::{encode_config, is_name_conflict};
pub use validate::{endpoint_problem, is_identifier, validate};

use crate::error::FieldProblem;
use crate::ids::IntegrationId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the stored config shows in place of a secret; sending it back on update keeps the
/// secret that is already in the keyring.
pub const SECRET_MASK: &str = "••••••••";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldProblem>),
    #[error("{field}: {reason}")]
    Parse { field: String, reason: String },
}

impl ConfigError {
    pub fn one(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldProblem {
            field: field.into(),
            reason: reason.into(),
        }])
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Api,
    Database,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Api => "api",
            TargetKind::Database => "database",
        }
    }
}

/// The envelope around the seed's target config.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IntegrationConfig {
    pub name: String,
    pub kind: TargetKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The fields a voice session collects. When omitted, they are inferred (as optional text)
    /// from the placeholders or the field mapping, so that a bare seed config imports unchanged.
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<ApiConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseConfig>,
    #[serde(default)]
    pub retry: RetryPolicy,
    /// How recent deliveries count in the health check; the defaults when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub health: Option<HealthSettings>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Delete,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Delete => "DELETE",
        }
    }
    /// GET and DELETE carry the rendered fields in the query string instead of a body.
    pub fn sends_query(self) -> bool {
        matches!(self, HttpMethod::Get | HttpMethod::Delete)
    }
}

fn default_method() -> HttpMethod {
    HttpMethod::Post
}

/// The seed's `APIConfig`, plus timeouts and response expectations.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiConfig {
    pub endpoint: String,
    #[serde(default = "default_method")]
    pub method: HttpMethod,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Authentication>,
    /// JSON with `{{field}}` placeholders. When absent, the collected fields are sent as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_structure: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expectations>,
    /// A request the health check may send (with the integration's credentials, never with
    /// collected data); none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckRequest>,
}

impl ApiConfig {
    pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
    pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 5_000;
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.timeout_ms.unwrap_or(Self::DEFAULT_TIMEOUT_MS))
    }
    pub fn connect_timeout(&self) -> std::time::Duration {
        let ms = self
            .connect_timeout_ms
            .unwrap_or(Self::DEFAULT_CONNECT_TIMEOUT_MS);
        std::time::Duration::from_millis(ms)
    }
}

/// `api.healthCheck`: the method and path (on the endpoint's host) of a request that says whether
/// the service is up and takes the credentials. It is sent without a body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCheckRequest {
    #[serde(default = "HealthMethod::default_get")]
    pub method: HealthMethod,
    /// Starts with `/`; may carry a query (`/status?full=1`).
    pub path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "UPPERCASE")]
pub enum HealthMethod {
    Get,
    Head,
    Options,
    Post,
}

impl HealthMethod {
    fn default_get() -> Self {
        Self::Get
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Options => "OPTIONS",
            Self::Post => "POST",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "kebab-case")]
pub enum AuthKind {
    Bearer,
    Basic,
    ApiKey,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Authentication {
    #[serde(rename = "type")]
    pub kind: AuthKind,
    /// bearer: `token`; basic: `username`, `password`; api-key: `key` and optionally `header`
    /// (default `X-API-Key`) or `query`. `token`, `password` and `key` live in the keyring.
    #[serde(default)]
    pub credentials: BTreeMap<String, String>,
}

/// Credential keys whose values are secrets (kept in the keyring, shown masked).
pub const SECRET_CREDENTIAL_KEYS: [&str; 3] = ["token", "password", "key"];

#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expectations {
    /// Accepted status codes; any 2xx when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<u16>,
    /// A JSON pointer the response body must have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_pointer: Option<String>,
    /// Where the submission id is; `/id`, then `/submissionId`, when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission_id_pointer: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "lowercase")]
pub enum DbType {
    #[serde(alias = "postgres")]
    Postgresql,
    #[serde(alias = "mariadb")]
    Mysql,
    Sqlite,
}

impl DbType {
    pub fn as_str(self) -> &'static str {
        match self {
            DbType::Postgresql => "postgresql",
            DbType::Mysql => "mysql",
            DbType::Sqlite => "sqlite",
        }
    }
    pub fn default_port(self) -> Option<u16> {
        match self {
            DbType::Postgresql => Some(5432),
            DbType::Mysql => Some(3306),
            DbType::Sqlite => None,
        }
    }
}

/// `ssl`: the seed's boolean, or a mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(untagged)]
pub enum SslSetting {
    Flag(bool),
    Mode(SslMode),
}

/// A TLS mode, by PostgreSQL's names or by MySQL's (each keeps its own spelling; a MySQL target
/// also takes PostgreSQL's, which were its only names before).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
    #[serde(rename = "disabled")]
    MysqlDisabled,
    #[serde(rename = "preferred")]
    MysqlPreferred,
    #[serde(rename = "required")]
    MysqlRequired,
    #[serde(rename = "verify_ca")]
    MysqlVerifyCa,
    #[serde(rename = "verify_identity")]
    MysqlVerifyIdentity,
}

pub use crate::net::TlsProtection;

impl SslMode {
    pub const POSTGRES: [SslMode; 5] = [
        Self::Disable,
        Self::Prefer,
        Self::Require,
        Self::VerifyCa,
        Self::VerifyFull,
    ];
    pub const MYSQL: [SslMode; 5] = [
        Self::MysqlDisabled,
        Self::MysqlPreferred,
        Self::MysqlRequired,
        Self::MysqlVerifyCa,
        Self::MysqlVerifyIdentity,
    ];

    pub fn protection(self) -> TlsProtection {
        match self {
            Self::Disable | Self::MysqlDisabled => TlsProtection::Off,
            Self::Prefer | Self::MysqlPreferred => TlsProtection::Opportunistic,
            Self::Require | Self::MysqlRequired => TlsProtection::Encrypted,
            Self::VerifyCa | Self::MysqlVerifyCa => TlsProtection::VerifiedCa,
            Self::VerifyFull | Self::MysqlVerifyIdentity => TlsProtection::Verified,
        }
    }

    /// The mode giving `protection`, by the names of `db_type`.
    pub fn of(protection: TlsProtection, db_type: DbType) -> SslMode {
        let names = match db_type {
            DbType::Mysql => Self::MYSQL,
            DbType::Postgresql | DbType::Sqlite => Self::POSTGRES,
        };
        names
            .into_iter()
            .find(|m| m.protection() == protection)
            .unwrap_or(SslMode::VerifyFull)
    }

    /// Its name in a config.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
            Self::MysqlDisabled => "disabled",
            Self::MysqlPreferred => "preferred",
            Self::MysqlRequired => "required",
            Self::MysqlVerifyCa => "verify_ca",
            Self::MysqlVerifyIdentity => "verify_identity",
        }
    }

    pub fn is_mysql_name(self) -> bool {
        Self::MYSQL.contains(&self)
    }
}

/// The seed's `DatabaseConfig`, plus pool size and timeouts.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatabaseConfig {
    #[serde(rename = "type")]
    pub db_type: DbType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The database name; for SQLite, the file's path.
    pub database: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Kept in the keyring; the stored config shows [`SECRET_MASK`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    pub table: String,
    /// Collected field -> column.
    pub field_mapping: BTreeMap<String, String>,
    /// Column -> a value every insert puts in it (a clinic code, a source): text, a number or
    /// true/false, converted to the column's type as a field's value is. Config, not collected
    /// data: shown in clear in previews and recorded requests.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(test, ts(type = "{ [key in string]: string | number | boolean }"))]
    pub fixed_values: BTreeMap<String, serde_json::Value>,
    /// Absent: verified TLS to another machine (or with `ssl_root_cert`), `prefer` on this one
    /// ([`DatabaseConfig::tls_mode`]). Configs saved before that default have their old
    /// meaning written in (migration `20261210120000_database_tls.sql`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl: Option<SslSetting>,
    /// A PEM file of CA certificates that may sign the server's certificate (a private CA),
    /// trusted besides the public ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_root_cert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement_timeout_ms: Option<u64>,
}

impl DatabaseConfig {
    /// Whether a password stored for `self` may be sent to `given`: the same type, host, port
    /// and user, and TLS at least as strict, so that an edited host never receives another
    /// server's password (nor gets it over a weaker connection).
    pub fn same_server(&self, given: &DatabaseConfig) -> bool {
        let port = |d: &DatabaseConfig| d.port.or(d.db_type.default_port());
        // Another CA file could vouch for another server.
        let verified = |d: &DatabaseConfig| d.tls_mode().protection() >= TlsProtection::VerifiedCa;
        let same_ca = !verified(given) || self.ssl_root_cert == given.ssl_root_cert;
        self.db_type == given.db_type
            && self.hostname == given.hostname
            && port(self) == port(given)
            && self.username == given.username
            && given.tls_mode().protection() >= self.tls_mode().protection()
            && same_ca
    }

    /// The TLS mode connections use: the one set (`true` is verified TLS, `false` none); when
    /// none is, verified TLS to another machine or when a CA file is given, `prefer` to this
    /// one (a local server rarely has a certificate for `localhost`, and the data does not
    /// leave the machine).
    pub fn tls_mode(&self) -> SslMode {
        let protection = match self.ssl {
            Some(SslSetting::Mode(m)) => return m,
            Some(SslSetting::Flag(true)) => TlsProtection::Verified,
            Some(SslSetting::Flag(false)) => TlsProtection::Off,
            None if self.ssl_root_cert.is_some() => TlsProtection::Verified,
            None if crate::net::is_loopback_host(self.host()) => TlsProtection::Opportunistic,
            None => TlsProtection::Verified,
        };
        SslMode::of(protection, self.db_type)
    }

    /// The server's host name (`localhost` when none is set).
    pub fn host(&self) -> &str {
        self.hostname.as_deref().unwrap_or("localhost")
    }

    pub const DEFAULT_POOL_SIZE: u32 = 5;
    pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 5_000;
    pub const DEFAULT_STATEMENT_TIMEOUT_MS: u64 = 10_000;
    pub fn connect_timeout(&self) -> std::time::Duration {
        let ms = self
            .connect_timeout_ms
            .unwrap_or(Self::DEFAULT_CONNECT_TIMEOUT_MS);
        std::time::Duration::from_millis(ms)
    }
    pub fn statement_timeout(&self) -> std::time::Duration {
        let ms = self
            .statement_timeout_ms
            .unwrap_or(Self::DEFAULT_STATEMENT_TIMEOUT_MS);
        std::time::Duration::from_millis(ms)
    }
}

/// Automatic retry: how many tries in all (the first included) and the base of the backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryPolicy {
    #[serde(default = "RetryPolicy::default_max_attempts")]
    pub max_attempts: u32,
    #[serde(default = "RetryPolicy::default_base_delay_ms")]
    pub base_delay_ms: u64,
    #[serde(default = "RetryPolicy::default_max_delay_ms")]
    pub max_delay_ms: u64,
}

impl RetryPolicy {
    fn default_max_attempts() -> u32 {
        5
    }
    fn default_base_delay_ms() -> u64 {
        2_000
    }
    fn default_max_delay_ms() -> u64 {
        3_600_000
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: Self::default_max_attempts(),
            base_delay_ms: Self::default_base_delay_ms(),
            max_delay_ms: Self::default_max_delay_ms(),
        }
    }
}

/// `health`: how an integration's recent deliveries count in its health (the `deliveries`
/// check). Every key is optional; an absent one takes its default.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthSettings {
    /// When this many of the latest deliveries all failed, the check is an error (1–20,
    /// default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub failures_for_error: Option<u32>,
    /// How many of the latest deliveries are looked at (1–500, default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub recent_deliveries: Option<u32>,
    /// Deliveries older than this many hours are not recent (1–720, default 24).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub window_hours: Option<u32>,
}

impl HealthSettings {
    pub const DEFAULT_FAILURES_FOR_ERROR: u32 = 3;
    pub const DEFAULT_RECENT_DELIVERIES: u32 = 20;
    pub const DEFAULT_WINDOW_HOURS: u32 = 24;
    pub const FAILURES_FOR_ERROR_RANGE: std::ops::RangeInclusive<u32> = 1..=20;
    pub const RECENT_DELIVERIES_RANGE: std::ops::RangeInclusive<u32> = 1..=500;
    pub const WINDOW_HOURS_RANGE: std::ops::RangeInclusive<u32> = 1..=720;

    pub fn failures_for_error(&self) -> u32 {
        self.failures_for_error
            .unwrap_or(Self::DEFAULT_FAILURES_FOR_ERROR)
    }
    pub fn recent_deliveries(&self) -> u32 {
        self.recent_deliveries
            .unwrap_or(Self::DEFAULT_RECENT_DELIVERIES)
    }
    pub fn window_hours(&self) -> u32 {
        self.window_hours.unwrap_or(Self::DEFAULT_WINDOW_HOURS)
    }
}

/// Where a secret of an integration lives; also its keyring entry's suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretSlot {
    ApiToken,
    ApiPassword,
    ApiKey,
    DatabasePassword,
    /// The values of custom headers whose names say they carry a credential
    /// (`X-Client-Secret`…), as one JSON object `{"header": "value"}`.
    ApiHeaders,
}

impl SecretSlot {
    pub const ALL: [SecretSlot; 5] = [
        Self::ApiToken,
        Self::ApiPassword,
        Self::ApiKey,
        Self::DatabasePassword,
        Self::ApiHeaders,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Self::ApiToken => "api.token",
            Self::ApiPassword => "api.password",
            Self::ApiKey => "api.key",
            Self::DatabasePassword => "database.password",
            Self::ApiHeaders => "api.headers",
        }
    }
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
    /// As [`Self::from_name`], with the error every adapter shows (`field` names the input).
    pub fn named(name: &str, field: &str) -> Result<Self, crate::error::AppError> {
        Self::from_name(name).ok_or_else(|| {
            let names = Self::ALL.map(Self::name).join(", ");
            crate::error::AppError::invalid(
                field,
                format!("'{name}' is not a secret name; use one of {names}"),
            )
        })
    }
    fn credential_key(self) -> Option<&'static str> {
        match self {
            Self::ApiToken => Some("token"),
            Self::ApiPassword => Some("password"),
            Self::ApiKey => Some("key"),
            Self::DatabasePassword | Self::ApiHeaders => None,
        }
    }
    /// The config path shown in errors.
    pub fn config_path(self) -> &'static str {
        match self {
            Self::ApiToken => "api.authentication.credentials.token",
            Self::ApiPassword => "api.authentication.credentials.password",
            Self::ApiKey => "api.authentication.credentials.key",
            Self::DatabasePassword => "database.password",
            Self::ApiHeaders => "api.headers",
        }
    }
}

/// Whether a custom header's value is a credential, judged by its name (token, secret, key,
/// password, auth, cookie, session…): such values are kept in the secrets backend.
pub fn is_secret_header(name: &str) -> bool {
    crate::secrets::redact::is_secret_header(name)
}

impl IntegrationConfig {
    /// Takes the secret values out of the config, leaving [`SECRET_MASK`] in their place.
    /// A value that already is the mask is not returned: it means "keep what is stored".
    pub fn take_secrets(&mut self) -> Vec<(SecretSlot, String)> {
        let mut out = Vec::new();
        if let Some(auth) = self.api.as_mut().and_then(|a| a.authentication.as_mut()) {
            for slot in [
                SecretSlot::ApiToken,
                SecretSlot::ApiPassword,
                SecretSlot::ApiKey,
            ] {
                let key = slot
                    .credential_key()
                    .expect("api slots name a credential key");
                if let Some(v) = auth.credentials.get_mut(key) {
                    let value = std::mem::replace(v, SECRET_MASK.to_string());
                    if value != SECRET_MASK {
                        out.push((slot, value));
                    }
                }
            }
        }
        if let Some(db) = self.database.as_mut()
            && let Some(v) = db.password.as_mut()
        {
            let value = std::mem::replace(v, SECRET_MASK.to_string());
            if value != SECRET_MASK {
                out.push((SecretSlot::DatabasePassword, value));
            }
        }
        // Credential-looking custom headers: the values given (not the mask), as one object;
        // the service merges it with the stored one.
        if let Some(api) = self.api.as_mut() {
            let mut given = serde_json::Map::new();
            for (name, value) in api.headers.iter_mut() {
                if is_secret_header(name) {
                    let value = std::mem::replace(value, SECRET_MASK.to_string());
                    if value != SECRET_MASK {
                        given.insert(name.clone(), serde_json::Value::String(value));
                    }
                }
            }
            if !given.is_empty() {
                out.push((
                    SecretSlot::ApiHeaders,
                    serde_json::Value::Object(given).to_string(),
                ));
            }
        }
        out
    }

    /// The custom headers whose values are kept in the secrets backend.
    pub fn secret_headers(&self) -> Vec<String> {
        self.api
            .as_ref()
            .map(|a| {
                a.headers
                    .keys()
                    .filter(|n| is_secret_header(n))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The slots this config has a secret in (masked or not).
    pub fn secret_slots(&self) -> Vec<SecretSlot> {
        let mut out = Vec::new();
        if let Some(auth) = self.api.as_ref().and_then(|a| a.authentication.as_ref()) {
            for slot in [
                SecretSlot::ApiToken,
                SecretSlot::ApiPassword,
                SecretSlot::ApiKey,
            ] {
                if auth
                    .credentials
                    .contains_key(slot.credential_key().unwrap_or_default())
                {
                    out.push(slot);
                }
            }
        }
        if self.database.as_ref().is_some_and(|d| d.password.is_some()) {
            out.push(SecretSlot::DatabasePassword);
        }
        if !self.secret_headers().is_empty() {
            out.push(SecretSlot::ApiHeaders);
        }
        out
    }

    /// Whether `slot`'s secret, stored for this config, may be kept for `given`: only when it
    /// still goes where it was saved for (the API's origin; the database server, user and TLS).
    /// Otherwise editing the host while leaving the mask would hand the credential to the new
    /// host.
    pub fn keeps_secret_destination(&self, given: &IntegrationConfig, slot: SecretSlot) -> bool {
        match slot {
            SecretSlot::DatabasePassword => match (&self.database, &given.database) {
                (Some(stored), Some(given)) => stored.same_server(given),
                _ => false,
            },
            _ => match (&self.api, &given.api) {
                (Some(stored), Some(given)) => {
                    let origin = |endpoint: &str| {
                        url::Url::parse(endpoint).ok().map(|u| {
                            (
                                u.scheme().to_string(),
                                u.host_str().map(str::to_ascii_lowercase),
                                u.port_or_known_default(),
                            )
                        })
                    };
                    let stored = origin(&stored.endpoint);
                    stored.is_some() && stored == origin(&given.endpoint)
                }
                _ => false,
            },
        }
    }

    /// Its health settings, the defaults where none are given.
    pub fn health_settings(&self) -> HealthSettings {
        self.health.unwrap_or_default()
    }

    /// The declared field, if any.
    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// A saved integration as the store keeps it (secrets replaced by [`SECRET_MASK`]).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Integration {
    pub id: IntegrationId,
    pub name: String,
    pub kind: TargetKind,
    pub config: IntegrationConfig,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ConfigError> for crate::error::AppError {
    fn from(e: ConfigError) -> Self {
        match e {
            ConfigError::Invalid(problems) => crate::error::AppError::invalid_many(problems),
            ConfigError::Parse { field, reason } => crate::error::AppError::invalid(field, reason),
        }
    }
}

#[cfg(test)]
mod tests;

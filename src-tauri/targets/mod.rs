//! Targets: render -> send -> classify. Given an integration with its secrets and one handoff's
//! checked data, deliver it and say what happened as a [`Delivery`]: the outcome, the error
//! category and whether it is worth retrying, what was sent (secrets redacted) and what came
//! back. A failed delivery is a value, not an `Err`.

pub mod api;
pub mod database;

use crate::ids::{HandoffId, IntegrationId};
use crate::integrations::{IntegrationConfig, SecretSlot};
use crate::secrets::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Why a delivery failed. `network`, `timeout` and `server` are worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "lowercase")]
pub enum ErrorCategory {
    /// DNS, connection refused or reset, TLS.
    Network,
    Timeout,
    /// 401/403, database authentication or privileges.
    Authentication,
    /// 404, missing table or column, bad settings, unexpected responses.
    Configuration,
    /// 400/422, constraint violations, missing required fields, bad values.
    Validation,
    /// 5xx and 429.
    Server,
}

impl ErrorCategory {
    pub const ALL: [ErrorCategory; 6] = [
        Self::Network,
        Self::Timeout,
        Self::Authentication,
        Self::Configuration,
        Self::Validation,
        Self::Server,
    ];
    pub fn retryable(self) -> bool {
        matches!(self, Self::Network | Self::Timeout | Self::Server)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Network => "network",
            Self::Timeout => "timeout",
            Self::Authentication => "authentication",
            Self::Configuration => "configuration",
            Self::Validation => "validation",
            Self::Server => "server",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// What one try of a delivery came to.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// `None` when delivered.
    pub failure: Option<ErrorCategory>,
    pub status_code: Option<u16>,
    pub message: String,
    /// The id the target gave the submission (API response field, or the new row's id).
    pub submission_id: Option<String>,
    /// What was sent, secrets redacted: `{method, url, headers, body}` or `{sql, params}`.
    pub request: serde_json::Value,
    /// The start of the response body (APIs) or the stored row (databases).
    pub response_excerpt: Option<String>,
    /// The target asked to wait this long before trying again (`Retry-After`).
    pub retry_after: Option<Duration>,
    /// What a configuration test shows besides (not recorded with the attempt).
    pub details: DeliveryDetails,
}

/// The parts of a delivery only a configuration test shows: response headers and timing
/// (APIs), the row read back (database tests).
#[derive(Debug, Clone, Default)]
pub struct DeliveryDetails {
    /// Response headers, credentials redacted.
    pub headers: Option<serde_json::Map<String, serde_json::Value>>,
    /// Opening the connection (DNS, TCP, TLS); measured for tests, which use a new connection.
    pub connect_ms: Option<u64>,
    /// Until the status and headers arrived.
    pub first_byte_ms: Option<u64>,
    /// The inserted row, read back inside the transaction.
    pub row: Option<Vec<crate::testing::StoredColumn>>,
    /// Why there is no row.
    pub row_note: Option<String>,
    /// Whether a database test kept its row.
    pub committed: Option<bool>,
    /// Databases: the handoff's row was already in the table (found by its idempotency
    /// column), so nothing was inserted.
    pub already_there: bool,
    /// A test that had to roll back was not run: the table's engine (named here) cannot.
    pub cannot_roll_back: Option<String>,
    /// APIs: whether the whole body (up to the read cap) parsed as JSON, and whether it has
    /// `expect.requirePointer` (when one is set), judged on that whole body.
    pub body_is_json: bool,
    pub has_required_pointer: Option<bool>,
    /// APIs: the body was longer than the read cap, so it was not parsed.
    pub body_truncated: bool,
}

impl Delivery {
    pub fn succeeded(&self) -> bool {
        self.failure.is_none()
    }
    /// A preview: `request` is what would be sent; nothing was.
    pub fn previewed(request: serde_json::Value) -> Self {
        Self {
            failure: None,
            request,
            ..Self::refused(ErrorCategory::Configuration, "nothing was sent (preview)")
        }
    }
    /// A failure found before anything was sent.
    pub fn refused(category: ErrorCategory, message: impl Into<String>) -> Self {
        Self {
            failure: Some(category),
            status_code: None,
            message: message.into(),
            submission_id: None,
            request: serde_json::Value::Null,
            response_excerpt: None,
            retry_after: None,
            details: DeliveryDetails::default(),
        }
    }
}

/// An integration ready to deliver: its config and the secrets read from the secrets backend.
#[derive(Debug, Clone)]
pub struct ResolvedIntegration {
    pub id: IntegrationId,
    pub config: IntegrationConfig,
    pub secrets: BTreeMap<SecretSlot, Secret<String>>,
}

impl ResolvedIntegration {
    pub fn secret(&self, slot: SecretSlot) -> Option<&str> {
        self.secrets.get(&slot).map(|s| s.expose().as_str())
    }
}

/// The handoff being delivered.
#[derive(Debug, Clone)]
pub struct HandoffContext<'a> {
    pub handoff_id: HandoffId,
    pub session_id: &'a str,
    /// RFC 3339 UTC, the `{{timestamp}}` built-in.
    pub timestamp: String,
}

/// What a redacted secret looks like in recorded requests.
pub const REDACTED: &str = "[redacted]";

/// Holds the per-integration HTTP clients and database pools, created on first use and reused.
#[derive(Default)]
pub struct Targets {
    pub api: api::ApiClients,
    pub database: database::DatabasePools,
}

impl Targets {
    pub async fn deliver(
        &self,
        integration: &ResolvedIntegration,
        handoff: &HandoffContext<'_>,
        data: &serde_json::Map<String, serde_json::Value>,
    ) -> Delivery {
        match (&integration.config.api, &integration.config.database) {
            (Some(_), _) => self.api.deliver(integration, handoff, data).await,
            (None, Some(_)) => self.database.deliver(integration, handoff, data).await,
            (None, None) => Delivery::refused(
                ErrorCategory::Configuration,
                "the integration has no target",
            ),
        }
    }

    /// Delivers for a configuration test: an API test goes over a new connection whose
    /// opening is timed; a database test reads the row back and commits only with `commit`.
    pub async fn deliver_test(
        &self,
        integration: &ResolvedIntegration,
        handoff: &HandoffContext<'_>,
        data: &serde_json::Map<String, serde_json::Value>,
        commit: bool,
    ) -> Delivery {
        match (&integration.config.api, &integration.config.database) {
            (None, Some(_)) => {
                self.database
                    .deliver_as(integration, handoff, data, database::Mode::Test { commit })
                    .await
            }
            (Some(_), _) => self.api.deliver_test(integration, handoff, data).await,
            (None, None) => Delivery::refused(
                ErrorCategory::Configuration,
                "the integration has no target",
            ),
        }
    }

    /// Forgets the cached client or pool of an integration (after an update or removal).
    pub async fn forget(&self, id: IntegrationId) {
        self.api.forget(id);
        self.database.forget(id).await;
    }
}

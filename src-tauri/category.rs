//! Why a delivery failed: the categories every layer records, counts and retries by.

use serde::{Deserialize, Serialize};

/// Why a delivery failed. `network`, `timeout` and `server` are worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
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

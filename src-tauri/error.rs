//! The one error shape every adapter shows: a kind the UI, HTTP and CLI can branch on, the
//! field it concerns (when there is one) and a message a person can act on.
//!
//! Each layer has its own `thiserror` enum; they are converted into [`AppError`] here, once.
//! A failed *delivery* is not an error: it is an attempt with a category.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub enum ErrorKind {
    /// The named object does not exist.
    NotFound,
    /// Input (a config, data, an argument) is invalid; `field` names where.
    Invalid,
    /// The request conflicts with the current state (e.g. retrying a delivered handoff).
    Conflict,
    /// Something the console needs is not reachable (keyring, store).
    Unavailable,
    /// A bug or an environment failure; details are in the log, not in the message.
    Internal,
}

#[derive(Debug, Clone, Serialize, thiserror::Error, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
#[error("{}", self.display())]
pub struct AppError {
    pub kind: ErrorKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
    /// Further per-field problems, when validation found more than one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldProblem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct FieldProblem {
    pub field: String,
    pub reason: String,
}

impl std::fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl AppError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            field: None,
            message: message.into(),
            details: Vec::new(),
        }
    }
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(ErrorKind::NotFound, format!("{what} '{id}' not found"))
    }
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let (field, reason) = (field.into(), reason.into());
        Self {
            kind: ErrorKind::Invalid,
            message: format!("{field}: {reason}"),
            details: vec![FieldProblem {
                field: field.clone(),
                reason,
            }],
            field: Some(field),
        }
    }
    pub fn invalid_many(problems: Vec<FieldProblem>) -> Self {
        let message = problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            kind: ErrorKind::Invalid,
            field: problems.first().map(|p| p.field.clone()),
            message,
            details: problems,
        }
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }
    /// Logs the cause with the caller's location and returns a message that leaks nothing
    /// (the cause may name paths or carry a database's text).
    #[track_caller]
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let at = std::panic::Location::caller();
        tracing::error!(%at, "internal error: {cause}");
        Self::new(
            ErrorKind::Internal,
            "internal error; the log has the details",
        )
    }

    fn display(&self) -> String {
        if self.details.len() > 1 {
            let list = self
                .details
                .iter()
                .map(|p| format!("\n  - {p}"))
                .collect::<String>();
            format!("{} problems:{list}", self.details.len())
        } else {
            self.message.clone()
        }
    }
}

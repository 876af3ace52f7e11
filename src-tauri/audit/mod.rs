//! The audit trail: an append-only log in the store of who (the OS user, or an actor an adapter
//! names) did what, when, to which object. Owns the event types, the actor's default, the
//! redacted description of a config change, and the `audit_log` queries.
//!
//! What is recorded, and where: integration changes and secret writes in the same transaction
//! as the change (a change is never left unaudited); manual retries after they ran (their
//! outcome is part of the entry); reveal, export and key rotation through [`AuditRecord`] by the
//! code that does them. Automatic retries (the worker) and dry runs change nothing a person
//! asked for and are not recorded. Details never hold a secret: see [`diff`].

mod diff;
mod integration_writes;
mod queries;

pub use diff::{
    ConfigChange, MAX_CHANGES, config_changes, is_secret_name, redact_text, scrub_secrets,
    target_summary,
};
pub use queries::{
    AuditQuery, DEFAULT_AUDIT_LIMIT, IntegrationMatch, MAX_AUDIT_LIMIT, NewAuditEvent,
};

use crate::ids::{AttemptId, HandoffId, IntegrationId, SourceId};
use crate::integrations::{Integration, SecretSlot};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// What an entry records; its name is the `action` column and the `--action` filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
pub enum AuditAction {
    #[serde(rename = "integration.created")]
    IntegrationCreated,
    #[serde(rename = "integration.updated")]
    IntegrationUpdated,
    #[serde(rename = "integration.removed")]
    IntegrationRemoved,
    /// A secret written where none was stored.
    #[serde(rename = "secret.set")]
    SecretSet,
    /// A secret that replaced a stored one.
    #[serde(rename = "secret.rotated")]
    SecretRotated,
    #[serde(rename = "retry.single")]
    RetrySingle,
    #[serde(rename = "retry.bulk")]
    RetryBulk,
    /// Collected data shown in the clear.
    #[serde(rename = "data.revealed")]
    DataRevealed,
    #[serde(rename = "history.exported")]
    HistoryExported,
    /// Encryption keys rotated (the store's or the vault's).
    #[serde(rename = "keys.rotated")]
    KeysRotated,
    /// Data keys were written to a passphrase-sealed bundle (`keys export`).
    #[serde(rename = "keys.exported")]
    KeysExported,
    /// Data keys were added to the secrets backend from a bundle (`keys import`).
    #[serde(rename = "keys.imported")]
    KeysImported,
    /// An intake source was added (its secret is never recorded).
    #[serde(rename = "source.created")]
    SourceCreated,
    #[serde(rename = "source.updated")]
    SourceUpdated,
    #[serde(rename = "source.removed")]
    SourceRemoved,
    /// An intake source's secret was replaced; the previous one is accepted until `until`.
    #[serde(rename = "source.secret_rotated")]
    SourceSecretRotated,
    #[serde(rename = "mapping.created")]
    MappingCreated,
    #[serde(rename = "mapping.updated")]
    MappingUpdated,
    #[serde(rename = "mapping.removed")]
    MappingRemoved,
    /// An inbox message's body shown in the clear.
    #[serde(rename = "inbox.revealed")]
    InboxRevealed,
    /// A message a manual mapping held was released (made into its handoff).
    #[serde(rename = "inbox.released")]
    InboxReleased,
    #[serde(rename = "inbox.reprocessed")]
    InboxReprocessed,
    #[serde(rename = "inbox.ignored")]
    InboxIgnored,
}

impl AuditAction {
    pub const ALL: [AuditAction; 23] = [
        Self::IntegrationCreated,
        Self::IntegrationUpdated,
        Self::IntegrationRemoved,
        Self::SecretSet,
        Self::SecretRotated,
        Self::RetrySingle,
        Self::RetryBulk,
        Self::DataRevealed,
        Self::HistoryExported,
        Self::KeysRotated,
        Self::KeysExported,
        Self::KeysImported,
        Self::SourceCreated,
        Self::SourceUpdated,
        Self::SourceRemoved,
        Self::SourceSecretRotated,
        Self::MappingCreated,
        Self::MappingUpdated,
        Self::MappingRemoved,
        Self::InboxRevealed,
        Self::InboxReleased,
        Self::InboxReprocessed,
        Self::InboxIgnored,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::IntegrationCreated => "integration.created",
            Self::IntegrationUpdated => "integration.updated",
            Self::IntegrationRemoved => "integration.removed",
            Self::SecretSet => "secret.set",
            Self::SecretRotated => "secret.rotated",
            Self::RetrySingle => "retry.single",
            Self::RetryBulk => "retry.bulk",
            Self::DataRevealed => "data.revealed",
            Self::HistoryExported => "history.exported",
            Self::KeysRotated => "keys.rotated",
            Self::KeysExported => "keys.exported",
            Self::KeysImported => "keys.imported",
            Self::SourceCreated => "source.created",
            Self::SourceUpdated => "source.updated",
            Self::SourceRemoved => "source.removed",
            Self::SourceSecretRotated => "source.secret_rotated",
            Self::MappingCreated => "mapping.created",
            Self::MappingUpdated => "mapping.updated",
            Self::MappingRemoved => "mapping.removed",
            Self::InboxRevealed => "inbox.revealed",
            Self::InboxReleased => "inbox.released",
            Self::InboxReprocessed => "inbox.reprocessed",
            Self::InboxIgnored => "inbox.ignored",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// The kind of object an entry concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "lowercase")]
pub enum ObjectType {
    Integration,
    /// Encryption keys (key rotation).
    Keys,
    /// An intake source.
    Source,
}

impl ObjectType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Integration => "integration",
            Self::Keys => "keys",
            Self::Source => "source",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Integration, Self::Keys, Self::Source]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// Which object an entry concerns. Actions done through an integration (a retry, a reveal)
/// name the integration, so that `--integration` finds everything that touched it; the
/// attempt or handoff is in the details. The name is as it was at the time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct AuditObject {
    #[serde(rename = "type")]
    pub object_type: ObjectType,
    pub id: String,
    pub name: Option<String>,
}

impl AuditObject {
    pub fn integration(id: IntegrationId, name: &str) -> Self {
        Self {
            object_type: ObjectType::Integration,
            id: id.to_string(),
            name: Some(name.to_string()),
        }
    }
    pub fn of(i: &Integration) -> Self {
        Self::integration(i.id, &i.name)
    }
    pub fn source(id: SourceId, name: &str) -> Self {
        Self {
            object_type: ObjectType::Source,
            id: id.to_string(),
            name: Some(name.to_string()),
        }
    }
}

/// One entry as `audit` lists it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// Grows with every entry: the order they were written in.
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: AuditAction,
    pub object: Option<AuditObject>,
    /// What the action changed or concerned (JSON; never a secret). Its shape per action is in
    /// docs/architecture.md, "Audit trail".
    pub details: Value,
}

/// Which entries to list, newest first. `integration` is an id or a name: a name matches the
/// name an entry was recorded with, so a removed (or renamed) integration's entries are found.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<AuditAction>,
    pub integration: Option<String>,
    pub actor: Option<String>,
    /// Inclusive, ms since the epoch.
    pub since_ms: Option<i64>,
    /// Exclusive.
    pub until_ms: Option<i64>,
    /// 1 to [`MAX_AUDIT_LIMIT`]; [`DEFAULT_AUDIT_LIMIT`] when unset.
    pub limit: Option<u32>,
}

/// An action recorded by the code that did it, with what the trail keeps about it. The
/// integration changes and secret writes are recorded by the service itself, inside their
/// transactions; these are the ones recorded after the fact, through `App::record_audit`.
#[derive(Debug, Clone)]
pub enum AuditRecord {
    /// `retry ATTEMPT_ID` ran: the attempt retried, and the new attempt's outcome.
    RetrySingle {
        integration: AuditObject,
        retried_attempt_id: AttemptId,
        handoff_id: HandoffId,
        attempt_id: AttemptId,
        attempt_number: u32,
        success: bool,
        /// The handoff's state after the retry (`succeeded`, `failed`, `pending`).
        outcome: &'static str,
        category: Option<&'static str>,
    },
    /// `retry --failed` ran: its filter and counts.
    RetryBulk {
        integration: Option<AuditObject>,
        /// The filter as given (ids and times, nothing secret).
        filter: Value,
        matched: usize,
        retried: usize,
        succeeded: usize,
        skipped: usize,
    },
    /// Collected data was shown in the clear.
    DataRevealed {
        integration: Option<AuditObject>,
        handoff_id: HandoffId,
        attempt_id: Option<AttemptId>,
        /// Which fields were shown (their names, never their values).
        fields: Vec<String>,
    },
    /// History was exported.
    HistoryExported {
        integration: Option<AuditObject>,
        /// The export's filter (ids and times).
        filter: Value,
        /// Where it went, as the user named it (a file path).
        destination: Option<String>,
        rows: u64,
    },
    /// Data keys were exported to a bundle (their ids; never the keys).
    KeysExported {
        keys: Vec<String>,
        destination: String,
    },
    /// Data keys were imported from a bundle: those added, and those already here.
    KeysImported {
        added: Vec<String>,
        already: Vec<String>,
    },
    /// Encryption keys were rotated.
    KeysRotated {
        /// Which key (e.g. `vault`, `store`).
        key: String,
        /// How many items were re-encrypted under the new key.
        reencrypted: u64,
    },
}

impl AuditRecord {
    pub fn action(&self) -> AuditAction {
        match self {
            Self::RetrySingle { .. } => AuditAction::RetrySingle,
            Self::RetryBulk { .. } => AuditAction::RetryBulk,
            Self::DataRevealed { .. } => AuditAction::DataRevealed,
            Self::HistoryExported { .. } => AuditAction::HistoryExported,
            Self::KeysRotated { .. } => AuditAction::KeysRotated,
            Self::KeysExported { .. } => AuditAction::KeysExported,
            Self::KeysImported { .. } => AuditAction::KeysImported,
        }
    }

    /// The row to write, for `actor` at `at` (ms).
    pub fn into_event(self, actor: &str, at: i64) -> NewAuditEvent {
        let action = self.action();
        let (object, details) = match self {
            Self::RetrySingle {
                integration,
                retried_attempt_id,
                handoff_id,
                attempt_id,
                attempt_number,
                success,
                outcome,
                category,
            } => (
                Some(integration),
                json!({
                    "retriedAttemptId": retried_attempt_id, "handoffId": handoff_id,
                    "attemptId": attempt_id, "attemptNumber": attempt_number,
                    "success": success, "outcome": outcome, "category": category,
                }),
            ),
            Self::RetryBulk {
                integration,
                filter,
                matched,
                retried,
                succeeded,
                skipped,
            } => (
                integration,
                json!({
                    "filter": filter, "matched": matched, "retried": retried,
                    "succeeded": succeeded, "failed": retried - succeeded.min(retried),
                    "skipped": skipped,
                }),
            ),
            Self::DataRevealed {
                integration,
                handoff_id,
                attempt_id,
                fields,
            } => (
                integration,
                json!({"handoffId": handoff_id, "attemptId": attempt_id, "fields": fields}),
            ),
            Self::HistoryExported {
                integration,
                filter,
                destination,
                rows,
            } => (
                integration,
                json!({
                    "filter": filter,
                    "destination": destination.as_deref().map(redact_text),
                    "rows": rows,
                }),
            ),
            Self::KeysExported { keys, destination } => (
                Some(AuditObject {
                    object_type: ObjectType::Keys,
                    id: "store".into(),
                    name: None,
                }),
                json!({"keys": keys, "destination": destination}),
            ),
            Self::KeysImported { added, already } => (
                Some(AuditObject {
                    object_type: ObjectType::Keys,
                    id: "store".into(),
                    name: None,
                }),
                json!({"added": added, "already": already}),
            ),
            Self::KeysRotated { key, reencrypted } => (
                Some(AuditObject {
                    object_type: ObjectType::Keys,
                    id: key.clone(),
                    name: None,
                }),
                json!({"key": key, "reencrypted": reencrypted}),
            ),
        };
        NewAuditEvent {
            at,
            actor: actor.to_string(),
            action,
            object,
            details,
        }
    }
}

/// The details of a written secret: its slot's name and config path, never its value (nor a
/// hash of it).
pub fn secret_details(slot: SecretSlot) -> Value {
    json!({"secret": slot.name(), "path": slot.config_path()})
}

/// The longest actor name kept; longer ones are cut.
pub const MAX_ACTOR_CHARS: usize = 200;

/// The default actor: the OS user as the environment reports it (`USER`, or `USERNAME` on
/// Windows; on Unix without either, `uid <n>`), with the host name when one is known
/// (`alice@clinic-pc`), and the invoking user under sudo (`root (sudo from alice)@clinic-pc`).
/// It is what the environment says, not an authenticated identity: it tells honest operators
/// apart, it does not stop someone who can set `USER`.
pub fn os_actor() -> String {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let user = ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|v| var(v))
        .or_else(unix_uid)
        .unwrap_or_else(|| "unknown".to_string());
    actor_name(&user, var("SUDO_USER").as_deref(), host_name().as_deref())
}

fn actor_name(user: &str, sudo_user: Option<&str>, host: Option<&str>) -> String {
    let user = user.trim();
    let mut actor = match sudo_user.map(str::trim) {
        Some(by) if by != user => format!("{user} (sudo from {by})"),
        _ => user.to_string(),
    };
    if let Some(host) = host {
        actor = format!("{actor}@{host}");
    }
    clean_actor(&actor)
}

/// An actor name as stored: control characters dropped, whitespace trimmed, at most
/// [`MAX_ACTOR_CHARS`] characters.
pub fn clean_actor(actor: &str) -> String {
    actor
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .chars()
        .take(MAX_ACTOR_CHARS)
        .collect()
}

#[cfg(unix)]
fn unix_uid() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // The owner of this process's /proc entry is its real uid (Linux); no libc call needed.
    std::fs::metadata("/proc/self")
        .ok()
        .map(|m| format!("uid {}", m.uid()))
}

#[cfg(not(unix))]
fn unix_uid() -> Option<String> {
    None
}

pub(crate) fn host_name() -> Option<String> {
    let from_env = ["HOSTNAME", "COMPUTERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok());
    let host = from_env.or_else(|| {
        ["/etc/hostname", "/proc/sys/kernel/hostname"]
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok())
    })?;
    let host = host.trim();
    (!host.is_empty() && host.len() <= 253).then(|| host.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_round_trip_through_serde_and_parse() {
        for a in AuditAction::ALL {
            let json = serde_json::to_value(a).unwrap();
            assert_eq!(json, Value::String(a.as_str().into()));
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
        }
        assert_eq!(AuditAction::parse("integration.deleted"), None);
    }

    #[test]
    fn actors_are_cleaned_and_bounded() {
        assert_eq!(clean_actor("  al\x1bice\n "), "alice");
        assert_eq!(clean_actor(&"x".repeat(500)).len(), MAX_ACTOR_CHARS);
        assert!(!os_actor().is_empty());
        assert_eq!(actor_name("alice", None, Some("pc")), "alice@pc");
        assert_eq!(
            actor_name("root", Some("alice"), None),
            "root (sudo from alice)"
        );
        assert_eq!(actor_name("alice", Some("alice"), None), "alice");
    }
}

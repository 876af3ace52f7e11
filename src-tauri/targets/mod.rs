//! Targets: render -> send -> classify. Given an integration with its secrets and one handoff's
//! checked data, deliver it and say what happened as a [`Delivery`]: the outcome, the error
//! category and whether it is worth retrying, what was sent (secrets redacted) and what came
//! back. A failed delivery is a value, not an `Err`.

pub mod api;
pub mod database;

use crate::ids::{HandoffId, IntegrationId};
use crate::integrations::{IntegrationConfig, SecretSlot};
use crate::secrets::Secret;
use serde::Serialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

pub use crate::category::ErrorCategory;

/// One column of a row read back.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct StoredColumn {
    pub column: String,
    /// The column's type as the database names it.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Numbers and booleans as JSON; dates, times, timestamps and decimals as the database's
    /// text; JSON columns as JSON.
    pub value: serde_json::Value,
}

/// What one try of a delivery came to.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// `None` when delivered.
    pub failure: Option<ErrorCategory>,
    pub status_code: Option<u16>,
    /// What happened, in the console's own words, quoting the target's text where it helps (a
    /// response's error, a database's error message, the id it gave the row; `quoted` says
    /// where). The console's words never hold a collected value; the target's may echo one.
    pub message: String,
    /// Where `message` quotes the target (byte ranges): what is recorded masks these parts,
    /// and only these, by search (see [`Delivery::recorded_message`]).
    pub quoted: Vec<Range<usize>>,
    /// The id the target gave the submission (API response field, or the new row's id).
    pub submission_id: Option<String>,
    /// What was sent, secrets redacted: `{method, url, headers, body}` or `{sql, params}`,
    /// with the collected values as sent (a configuration test shows it to the person running
    /// it).
    pub request: serde_json::Value,
    /// What the attempt records: the same request built with each collected field's mask in
    /// its place (`masking::mask_field`), whatever the target was sent there; built-ins and
    /// fixed values as sent. `Null` when nothing was sent.
    pub recorded_request: serde_json::Value,
    /// Collected values in the forms the console made of them for the target (a date-time in
    /// UTC, the integer a phone number became), each with its field's mask as text: a target
    /// echoing them back in those forms is masked too.
    pub converted: Vec<(String, String)>,
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
    pub row: Option<Vec<StoredColumn>>,
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
    /// The message as recorded: the console's words as they are, each part quoting the target
    /// passed through `mask`.
    pub fn recorded_message(&self, mask: impl Fn(&str) -> String) -> String {
        self.wording().masked(mask)
    }

    /// Sets the message and where it quotes the target.
    pub fn say(&mut self, wording: Wording) {
        self.message = wording.text;
        self.quoted = wording.quoted;
    }

    /// The message and where it quotes the target.
    pub fn wording(&self) -> Wording {
        Wording {
            text: self.message.clone(),
            quoted: self.quoted.clone(),
        }
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
            quoted: Vec::new(),
            submission_id: None,
            request: serde_json::Value::Null,
            recorded_request: serde_json::Value::Null,
            converted: Vec::new(),
            response_excerpt: None,
            retry_after: None,
            details: DeliveryDetails::default(),
        }
    }
}

/// A message in the console's own words with the target's text quoted in it: the parts the
/// target wrote (which may echo a collected value) are kept apart, so that what is recorded
/// masks them and leaves the console's words whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wording {
    pub text: String,
    /// Byte ranges of `text` that quote the target, in order.
    pub quoted: Vec<Range<usize>>,
}

impl Wording {
    /// Starts with the console's own words.
    pub fn new(own: impl Into<String>) -> Self {
        Self {
            text: own.into(),
            quoted: Vec::new(),
        }
    }

    /// Adds the console's own words.
    pub fn own(mut self, words: &str) -> Self {
        self.text.push_str(words);
        self
    }

    /// Adds the target's text.
    pub fn quote(mut self, target: &str) -> Self {
        let start = self.text.len();
        self.text.push_str(target);
        if !target.is_empty() {
            self.quoted.push(start..self.text.len());
        }
        self
    }

    /// Adds another wording, its quotes kept.
    pub fn then(mut self, other: Wording) -> Self {
        let offset = self.text.len();
        self.text.push_str(&other.text);
        self.quoted.extend(
            other
                .quoted
                .into_iter()
                .map(|r| r.start + offset..r.end + offset),
        );
        self
    }

    /// The text with each quoted part passed through `mask`. Quotes that do not fit the text
    /// (which only a bug could make) mask the whole text: never less than asked.
    pub fn masked(&self, mask: impl Fn(&str) -> String) -> String {
        let mut out = String::with_capacity(self.text.len());
        let mut at = 0;
        for r in &self.quoted {
            let fits = at <= r.start
                && r.start <= r.end
                && self.text.is_char_boundary(r.start)
                && self.text.is_char_boundary(r.end)
                && r.end <= self.text.len();
            if !fits {
                return mask(&self.text);
            }
            out.push_str(&self.text[at..r.start]);
            out.push_str(&mask(&self.text[r.clone()]));
            at = r.end;
        }
        out.push_str(&self.text[at..]);
        out
    }

    /// The same wording with each quoted part passed through `f` (e.g. to blank out an
    /// echoed credential), its quotes moved to match.
    pub fn map_quoted(&self, f: impl Fn(&str) -> String) -> Self {
        let mut out = Wording::default();
        let mut at = 0;
        for r in &self.quoted {
            let fits = at <= r.start
                && r.start <= r.end
                && self.text.is_char_boundary(r.start)
                && self.text.is_char_boundary(r.end)
                && r.end <= self.text.len();
            if !fits {
                return Wording::default().quote(&f(&self.text));
            }
            out = out
                .own(&self.text[at..r.start])
                .quote(&f(&self.text[r.clone()]));
            at = r.end;
        }
        out.own(&self.text[at..])
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
pub use crate::secrets::redact::REDACTED;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_quoted_parts_of_a_wording_are_masked() {
        let w = Wording::new("500 Internal Server Error: ")
            .quote("no row for 500")
            .own(" (limit 500)");
        let masked = w.masked(|q| q.replace("500", "***"));
        assert_eq!(
            masked,
            "500 Internal Server Error: no row for *** (limit 500)"
        );
        let redacted = w.map_quoted(|q| q.replace("row", "[redacted]"));
        assert_eq!(
            redacted.text,
            "500 Internal Server Error: no [redacted] for 500 (limit 500)"
        );
        assert_eq!(
            redacted.masked(|q| format!("<{q}>")),
            "500 Internal Server Error: <no [redacted] for 500> (limit 500)"
        );
        let joined = Wording::new("a ")
            .then(Wording::new("b ").quote("c"))
            .own(" d");
        assert_eq!(joined.masked(|q| q.to_uppercase()), "a b C d");
    }

    #[test]
    fn quotes_that_do_not_fit_mask_the_whole_message() {
        let mut d = Delivery::refused(ErrorCategory::Server, "");
        d.message = "short".into();
        // A range past the end (the message was changed after it was quoted).
        d.quoted.push(2..40);
        assert_eq!(d.recorded_message(|q| format!("<{q}>")), "<short>");
    }
}

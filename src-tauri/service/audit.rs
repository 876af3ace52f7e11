//! The audit trail as the service offers it: who the actor is, recording an entry, listing
//! entries. The integration and secret changes build their entries here and write them in
//! their own transactions (service/integrations.rs).

use super::App;
use crate::audit::{
    self, AuditAction, AuditEvent, AuditFilter, AuditObject, AuditQuery, AuditRecord,
    DEFAULT_AUDIT_LIMIT, IntegrationMatch, MAX_AUDIT_LIMIT, NewAuditEvent,
};
use crate::error::AppError;
use crate::store::now_ms;
use serde_json::Value;

impl App {
    /// Who the entries this console writes name: the OS user (`user@host`) unless an adapter
    /// set another.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// Names the actor of every entry written from now on (e.g. an HTTP API's signed-in
    /// user). Control characters are dropped and it is cut at 200 characters; empty is refused.
    pub fn set_actor(&mut self, actor: &str) -> Result<(), AppError> {
        let actor = audit::clean_actor(actor);
        if actor.is_empty() {
            return Err(AppError::invalid("actor", "must not be empty"));
        }
        self.actor = actor;
        Ok(())
    }

    /// Records an action done outside the service's own changes (a reveal, an export, a key
    /// rotation; the retries use it too) and returns the entry's id. Call it once the action
    /// has succeeded; a failure to record is returned, so a caller that can still refuse the
    /// action (e.g. before showing data) should record first.
    pub async fn record_audit(&self, record: AuditRecord) -> Result<i64, AppError> {
        let event = record.into_event(&self.actor, now_ms());
        Ok(self.store.record_audit(&event).await?)
    }

    /// Records an action that already happened and cannot be taken back (a retry has been
    /// sent): a failure to record is logged, not returned, so that the caller does not report
    /// the action itself as failed (and have it repeated).
    pub(super) async fn record_audit_after(&self, record: AuditRecord) {
        let action = record.action();
        if let Err(e) = self.record_audit(record).await {
            tracing::error!(
                action = action.as_str(),
                "could not write the audit entry: {e}"
            );
        }
    }

    /// An entry by this console's actor, now, with `secrets` (values just given) scrubbed out
    /// of its details wherever they appear.
    pub(super) fn audit_event(
        &self,
        action: AuditAction,
        object: AuditObject,
        mut details: Value,
        secrets: &[&str],
    ) -> NewAuditEvent {
        audit::scrub_secrets(&mut details, secrets);
        NewAuditEvent {
            at: now_ms(),
            actor: self.actor.clone(),
            action,
            object: Some(object),
            details,
        }
    }

    /// Audit entries matching `filter`, newest first.
    pub async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, AppError> {
        let limit = filter.limit.unwrap_or(DEFAULT_AUDIT_LIMIT);
        if !(1..=MAX_AUDIT_LIMIT).contains(&limit) {
            return Err(AppError::invalid(
                "limit",
                format!("must be 1 to {MAX_AUDIT_LIMIT}"),
            ));
        }
        let integration = match filter.integration.as_deref().map(str::trim) {
            None => None,
            Some("") => return Err(AppError::invalid("integration", "must not be empty")),
            Some(given) => {
                let live = self.store.find_integration(given).await?;
                Some(IntegrationMatch {
                    id: live.map(|i| i.id.to_string()),
                    id_or_name: given.to_string(),
                })
            }
        };
        let actor = filter
            .actor
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string);
        let query = AuditQuery {
            action: filter.action,
            integration,
            actor,
            since_ms: filter.since_ms,
            until_ms: filter.until_ms,
            limit,
        };
        Ok(self.store.audit_log(&query).await?)
    }
}

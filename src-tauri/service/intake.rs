//! Intake as the service offers it: sources (added, changed, removed, their secrets rotated;
//! secrets in the secrets backend), accepting a pushed message (verify, limit, commit to the
//! inbox, then answer), turning an accepted message into its handoff (at once, and again after
//! a restart for any a stopped process left), and reading the inbox.

use super::App;
use super::handoffs::check_send_input;
use super::inbox::{HandoffBody, headers_aad};
use super::intake_seed::{SeedDatabaseBody, SeedPushBody, SeedTestAnswer, SeedTestBody, read};
use crate::audit::{AuditAction, AuditObject};
use crate::error::{AppError, FieldProblem};
use crate::ids::{HandoffId, InboxId, IntegrationId, SourceId};
use crate::intake::inbox::{
    InboxItem, InboxRecord, InboxStatus, IntakeEndpoint, NewInboxMessage, keepable_headers,
};
use crate::intake::limits::RateLimiter;
use crate::intake::listener::ListenerSettings;
use crate::intake::sources::{
    DEFAULT_RATE_PER_MINUTE, Source, SourceKind, SourceSettings, is_source_name_conflict,
};
use crate::intake::verify::{Keys, Rejection, Verification};
use crate::intake::{IntakeError, MAX_INTAKE_BODY};
use crate::secrets::{Secret, SecretsError};
use crate::store::now_ms;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a process trusts the source (and its keys) it loaded: a change another process
/// made (a rotated secret, a disabled source) is seen within this. A signature that fails
/// against keys older than [`RELOAD_AFTER`] is checked again against fresh ones, so a secret
/// rotated elsewhere is accepted at once.
const LIVE_TTL: Duration = Duration::from_secs(5);
const RELOAD_AFTER: Duration = Duration::from_secs(1);
/// How long the secret a rotation replaced stays accepted unless told otherwise, and at most.
const DEFAULT_KEEP_PREVIOUS_HOURS: u32 = 24;
const MAX_KEEP_PREVIOUS_HOURS: u32 = 30 * 24;
/// A source as the listener uses it: its settings and its prepared keys.
struct LiveSource {
    source: Source,
    keys: Keys,
    loaded: Instant,
}

/// The intake state of one console process.
#[derive(Default)]
pub(super) struct IntakeState {
    /// Each source's mappings and their integrations, kept between messages while the store
    /// says they are unchanged (`App::source_mappings`).
    pub(super) mappings: Mutex<HashMap<SourceId, Arc<super::inbox::SourceMappings>>>,
    live: Mutex<HashMap<String, Arc<LiveSource>>>,
    limiter: RateLimiter,
    /// Where this process's intake listener answers (`http://addr/intake/v1/`), while it
    /// listens.
    listening: std::sync::RwLock<Option<String>>,
    /// What starts and stops this process's listener as the setting says (the window, or a
    /// `serve` started without `--intake-bind`).
    host: std::sync::OnceLock<Arc<dyn ListenerHost>>,
}

/// Starts and stops a process's intake listener (an adapter's: the service knows no sockets).
pub trait ListenerHost: Send + Sync {
    /// Stops the listener this process runs, if any, and when `settings` is enabled starts one
    /// as it says; answers where it now listens.
    fn apply(
        &self,
        settings: ListenerSettings,
    ) -> futures_util::future::BoxFuture<'static, Result<Option<String>, AppError>>;
}

/// The intake listener's setting and what this process does with it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct ListenerStatus {
    pub settings: ListenerSettings,
    /// Where this process's listener answers now (`http(s)://addr/intake/v1/`).
    pub url: Option<String>,
    /// Whether a change of the setting applies here at once (the window; `serve` without
    /// `--intake-bind`), or at the next start.
    pub applies_now: bool,
}

/// A test event to send through a source (`send_test_event`).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestEventRequest {
    /// The body to send (default: a small `{"type": "handoff-console.test"}` event).
    #[cfg_attr(test, ts(optional, type = "unknown"))]
    pub body: Option<Value>,
    /// Headers to send with it (an event type read from a header, say).
    #[serde(default)]
    #[cfg_attr(test, ts(optional, type = "Record<string, string>"))]
    #[schemars(with = "std::collections::BTreeMap<String, String>")]
    pub headers: serde_json::Map<String, Value>,
}

/// The secrets-backend key of a source's current secret, or of the one its last rotation
/// replaced.
fn source_secret_key(id: SourceId, previous: bool) -> String {
    format!(
        "source/{id}/{}",
        if previous { "previous" } else { "current" }
    )
}

/// A new source as an admin describes it.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceRequest {
    /// The URL segment (`/intake/v1/<name>`).
    pub name: String,
    /// Default: the name.
    #[cfg_attr(test, ts(optional))]
    pub display_name: Option<String>,
    pub kind: SourceKind,
    pub verification: Verification,
    /// Default: true.
    #[cfg_attr(test, ts(optional))]
    pub enabled: Option<bool>,
    /// Default: 6000.
    #[cfg_attr(test, ts(optional))]
    pub rate_per_minute: Option<u32>,
    /// Integrations (ids or names) the source may name. Default: none.
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<Vec<String>>", optional))]
    pub integrations: Vec<String>,
    /// The secret the sender already has (a `whsec_` secret it generated, say). Default: the
    /// console makes one, shown once in the answer.
    #[cfg_attr(test, ts(optional))]
    pub secret: Option<String>,
}

/// Changes to a source; what is left out stays.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceChange {
    #[cfg_attr(test, ts(optional))]
    pub name: Option<String>,
    #[cfg_attr(test, ts(optional))]
    pub display_name: Option<String>,
    #[cfg_attr(test, ts(optional))]
    pub kind: Option<SourceKind>,
    /// Header names and the like; the mode itself only changes with a new secret
    /// (`rotate_source_secret`).
    #[cfg_attr(test, ts(optional))]
    pub verification: Option<Verification>,
    #[cfg_attr(test, ts(optional))]
    pub enabled: Option<bool>,
    #[cfg_attr(test, ts(optional))]
    pub rate_per_minute: Option<u32>,
    #[cfg_attr(test, ts(optional))]
    pub integrations: Option<Vec<String>>,
}

/// A new secret for a source.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateSecretRequest {
    /// The new secret. Default: the console makes one.
    #[cfg_attr(test, ts(optional))]
    pub secret: Option<String>,
    /// How long the secret it replaces is still accepted (0 to 720 hours; default 24), so the
    /// sender can switch without losing messages.
    #[cfg_attr(test, ts(optional))]
    pub keep_previous_hours: Option<u32>,
}

/// A source with its secret: the only answer that shows it (when it is made or rotated).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct SourceSecret {
    pub source: Source,
    /// Give it to the sender now: it is not shown again.
    pub secret: String,
}

/// What the listener answers for an accepted message (202).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct IntakeAccepted {
    /// The inbox message.
    pub id: InboxId,
    pub status: InboxStatus,
    /// The handoff it becomes, once known.
    pub handoff_id: Option<HandoffId>,
    /// The message id was seen before: this is the first message's answer.
    #[serde(skip)]
    pub repeat: bool,
}

impl App {
    // --- sources ---

    pub async fn sources(&self) -> Result<Vec<Source>, AppError> {
        Ok(self.store.sources().await?)
    }

    /// A source by id or name.
    pub async fn source(&self, id_or_name: &str) -> Result<Source, AppError> {
        self.store
            .find_source(id_or_name)
            .await?
            .ok_or_else(|| AppError::not_found("source", id_or_name))
    }

    /// Adds a source; its secret (given, or made now) goes to the secrets backend first and
    /// is answered once. Every problem of the request comes in one `invalid` error.
    pub async fn add_source(&self, req: SourceRequest) -> Result<SourceSecret, AppError> {
        let mut problems = Vec::new();
        let integrations = self
            .allowed_integrations(&req.integrations, &mut problems)
            .await?;
        let settings = SourceSettings {
            display_name: req.display_name.unwrap_or_else(|| req.name.clone()),
            name: req.name,
            kind: req.kind,
            verification: req.verification,
            enabled: req.enabled.unwrap_or(true),
            rate_per_minute: req.rate_per_minute.unwrap_or(DEFAULT_RATE_PER_MINUTE),
            integrations,
        };
        problems.extend(settings.check());
        if let Some(secret) = &req.secret
            && let Err(e) = settings.verification.check_secret(secret)
        {
            problems.push(FieldProblem {
                field: "secret".into(),
                reason: e.reason,
            });
        }
        if !problems.is_empty() {
            return Err(AppError::invalid_many(problems));
        }
        if self.store.find_source(&settings.name).await?.is_some() {
            return Err(name_taken(&settings.name));
        }
        let secret = req
            .secret
            .unwrap_or_else(|| settings.verification.new_secret());
        let id = SourceId::new();
        self.set_source_secret(id, false, &secret).await?;
        let audit = self.audit_event(
            AuditAction::SourceCreated,
            AuditObject::source(id, &settings.name),
            source_details(&settings),
            &[&secret],
        );
        match self.store.insert_source(id, &settings, &audit).await {
            Ok(source) => {
                tracing::info!(source = %id, name = %source.name, "intake source added");
                self.forget_live_source(&source.name);
                Ok(SourceSecret { source, secret })
            }
            Err(e) => {
                // Nothing half-saved: the secret goes with the source that failed.
                let _ = self.delete_source_secrets(id).await;
                if is_source_name_conflict(&e) {
                    Err(name_taken(&settings.name))
                } else {
                    Err(e.into())
                }
            }
        }
    }

    /// Changes a source's settings. The verification mode stays (a new mode needs a new
    /// secret: remove the source and add it again).
    pub async fn update_source(
        &self,
        id_or_name: &str,
        change: SourceChange,
    ) -> Result<Source, AppError> {
        let current = self.source(id_or_name).await?;
        let mut problems = Vec::new();
        let integrations = match &change.integrations {
            Some(given) => self.allowed_integrations(given, &mut problems).await?,
            None => current.integrations.clone(),
        };
        let settings = SourceSettings {
            name: change.name.unwrap_or_else(|| current.name.clone()),
            display_name: change
                .display_name
                .unwrap_or_else(|| current.display_name.clone()),
            kind: change.kind.unwrap_or(current.kind),
            verification: change
                .verification
                .unwrap_or_else(|| current.verification.clone()),
            enabled: change.enabled.unwrap_or(current.enabled),
            rate_per_minute: change.rate_per_minute.unwrap_or(current.rate_per_minute),
            integrations,
        };
        problems.extend(settings.check());
        if settings.verification.mode() != current.verification.mode() {
            problems.push(FieldProblem {
                field: "verification.mode".into(),
                reason: format!(
                    "stays {}: a new mode needs a new secret the sender must be given (remove \
                     the source and add it again)",
                    current.verification.mode()
                ),
            });
        }
        if !problems.is_empty() {
            return Err(AppError::invalid_many(problems));
        }
        let audit = self.audit_event(
            AuditAction::SourceUpdated,
            AuditObject::source(current.id, &settings.name),
            json!({ "before": source_details(&settings_of(&current)), "after": source_details(&settings) }),
            &[],
        );
        match self
            .store
            .update_source(current.id, &settings, None, &audit)
            .await
        {
            Ok(true) => {}
            Ok(false) => return Err(AppError::not_found("source", id_or_name)),
            Err(e) if is_source_name_conflict(&e) => return Err(name_taken(&settings.name)),
            Err(e) => return Err(e.into()),
        }
        self.forget_live_source(&current.name);
        self.forget_live_source(&settings.name);
        self.source(&current.id.to_string()).await
    }

    /// Removes a source and its secrets. Its inbox stays.
    pub async fn remove_source(&self, id_or_name: &str) -> Result<Source, AppError> {
        let current = self.source(id_or_name).await?;
        let audit = self.audit_event(
            AuditAction::SourceRemoved,
            AuditObject::source(current.id, &current.name),
            source_details(&settings_of(&current)),
            &[],
        );
        if !self.store.delete_source(current.id, &audit).await? {
            return Err(AppError::not_found("source", id_or_name));
        }
        self.forget_live_source(&current.name);
        self.intake.limiter.forget(current.id);
        self.intake
            .mappings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&current.id);
        if let Err(e) = self.delete_source_secrets(current.id).await {
            tracing::warn!(source = %current.id, "could not delete its secrets: {e}");
        }
        tracing::info!(source = %current.id, "intake source removed");
        Ok(current)
    }

    /// Gives a source a new secret (given, or made now), answered once. The one it replaces
    /// is still accepted for `keep_previous_hours`, so the sender can switch without losing a
    /// message.
    pub async fn rotate_source_secret(
        &self,
        id_or_name: &str,
        req: RotateSecretRequest,
    ) -> Result<SourceSecret, AppError> {
        let current = self.source(id_or_name).await?;
        let keep_hours = req
            .keep_previous_hours
            .unwrap_or(DEFAULT_KEEP_PREVIOUS_HOURS);
        if keep_hours > MAX_KEEP_PREVIOUS_HOURS {
            return Err(AppError::invalid(
                "keepPreviousHours",
                format!("must be 0 to {MAX_KEEP_PREVIOUS_HOURS} hours"),
            ));
        }
        if let Some(secret) = &req.secret
            && let Err(e) = current.verification.check_secret(secret)
        {
            return Err(AppError::invalid("secret", e.reason));
        }
        let secret = req
            .secret
            .unwrap_or_else(|| current.verification.new_secret());
        let id = current.id;
        let old = self.source_secret(id, false).await?;
        let until = (keep_hours > 0).then(|| now_ms() + i64::from(keep_hours) * 3_600_000);
        // The previous secret first, then the new current one: a failure part way leaves the
        // old secret accepted.
        if until.is_some()
            && let Some(old) = &old
        {
            self.set_source_secret(id, true, old.expose()).await?;
        }
        self.set_source_secret(id, false, &secret).await?;
        let audit = self.audit_event(
            AuditAction::SourceSecretRotated,
            AuditObject::source(id, &current.name),
            json!({
                "keepPreviousHours": keep_hours,
                "previousUntil": until.map(crate::store::from_ms),
            }),
            &[&secret],
        );
        let marked = self
            .store
            .update_source(id, &settings_of(&current), Some(until), &audit)
            .await;
        if let Err(e) = marked {
            // Put the old secret back: the change is not recorded, so it must not be in force.
            if let Some(old) = &old {
                let _ = self.set_source_secret(id, false, old.expose()).await;
            }
            return Err(e.into());
        }
        self.forget_live_source(&current.name);
        Ok(SourceSecret {
            source: self.source(&id.to_string()).await?,
            secret,
        })
    }

    /// Integrations named by id or name, as ids; a name that matches none is a problem of
    /// `integrations`.
    async fn allowed_integrations(
        &self,
        given: &[String],
        problems: &mut Vec<FieldProblem>,
    ) -> Result<Vec<IntegrationId>, AppError> {
        let mut ids = Vec::new();
        for name in given {
            match self.store.find_integration(name).await? {
                Some(i) if !ids.contains(&i.id) => ids.push(i.id),
                Some(_) => {}
                None => problems.push(FieldProblem {
                    field: "integrations".into(),
                    reason: format!("there is no integration '{name}'"),
                }),
            }
        }
        Ok(ids)
    }

    async fn set_source_secret(
        &self,
        id: SourceId,
        previous: bool,
        value: &str,
    ) -> Result<(), AppError> {
        let key = source_secret_key(id, previous);
        let value = Secret::new(value.to_string());
        self.with_secrets(move |backend| backend.set(&key, &value))
            .await
    }

    /// A source's secret from the backend (`None`: there is none).
    async fn source_secret(
        &self,
        id: SourceId,
        previous: bool,
    ) -> Result<Option<Secret<String>>, AppError> {
        let key = source_secret_key(id, previous);
        self.with_secrets(move |backend| match backend.get(&key) {
            Ok(v) => Ok(Some(v)),
            Err(SecretsError::Missing { .. }) => Ok(None),
            Err(e) => Err(e),
        })
        .await
    }

    async fn delete_source_secrets(&self, id: SourceId) -> Result<(), AppError> {
        let keys = [source_secret_key(id, false), source_secret_key(id, true)];
        self.with_secrets(move |backend| keys.iter().try_for_each(|k| backend.delete(k)))
            .await
    }

    fn forget_live_source(&self, name: &str) {
        self.intake
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
    }

    /// The source named `name` with its keys, from memory when loaded less than
    /// [`LIVE_TTL`] ago (or `fresh` ago, when given).
    async fn live_source(
        &self,
        name: &str,
        fresh: Option<Duration>,
    ) -> Result<Option<Arc<LiveSource>>, AppError> {
        let max_age = fresh.unwrap_or(LIVE_TTL);
        let cached = self
            .intake
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned();
        if let Some(live) = cached
            && live.loaded.elapsed() < max_age
        {
            return Ok(Some(live));
        }
        // Only names reach here: an id in the URL is not a source's address.
        if crate::intake::sources::check_source_name(name).is_err() {
            return Ok(None);
        }
        let Some(source) = self.store.find_source(name).await? else {
            self.forget_live_source(name);
            return Ok(None);
        };
        if source.name != name {
            return Ok(None);
        }
        let mut secrets = Vec::new();
        if let Some(current) = self.source_secret(source.id, false).await? {
            secrets.push(current);
        }
        if source.previous_secret_accepted(now_ms())
            && let Some(previous) = self.source_secret(source.id, true).await?
        {
            secrets.push(previous);
        }
        let keys = source
            .verification
            .keys(
                &secrets
                    .iter()
                    .map(|s| s.expose().as_str())
                    .collect::<Vec<_>>(),
            )
            .map_err(|e| {
                AppError::new(
                    crate::ErrorKind::Unavailable,
                    format!("the secret of source '{name}' cannot be used: {e}"),
                )
            })?;
        let live = Arc::new(LiveSource {
            source,
            keys,
            loaded: Instant::now(),
        });
        self.intake
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), Arc::clone(&live));
        Ok(Some(live))
    }

    /// Says where this process's intake listener answers (`None`: it stopped).
    pub fn set_intake_url(&self, url: Option<String>) {
        *self
            .intake
            .listening
            .write()
            .unwrap_or_else(|p| p.into_inner()) = url;
    }

    /// Where this process's intake listener answers (`http://addr/intake/v1/`), if it listens.
    pub fn intake_url(&self) -> Option<String> {
        self.intake
            .listening
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Gives this process a listener host: the setting is then applied here (now, and on
    /// every change). Once per process.
    pub async fn host_intake_listener(&self, host: Arc<dyn ListenerHost>) -> Result<(), AppError> {
        if self.intake.host.set(Arc::clone(&host)).is_err() {
            return Err(AppError::internal("the intake listener has a host already"));
        }
        let settings = ListenerSettings::load(self.data_dir())?;
        if settings.enabled {
            settings.check()?;
            let url = host.apply(settings).await?;
            self.set_intake_url(url);
        }
        Ok(())
    }

    /// The intake listener's setting, and where this process listens.
    pub async fn intake_listener(&self) -> Result<ListenerStatus, AppError> {
        Ok(ListenerStatus {
            settings: ListenerSettings::load(self.data_dir())?,
            url: self.intake_url(),
            applies_now: self.intake.host.get().is_some(),
        })
    }

    /// Saves the intake listener's setting and, where this process hosts the listener,
    /// applies it now (a setting that cannot be applied — a port in use, a certificate that
    /// does not load — is not saved).
    pub async fn set_intake_listener(
        &self,
        settings: ListenerSettings,
    ) -> Result<ListenerStatus, AppError> {
        settings.check()?;
        if let Some(host) = self.intake.host.get() {
            let previous = ListenerSettings::load(self.data_dir()).unwrap_or_default();
            match host.apply(settings.clone()).await {
                Ok(url) => self.set_intake_url(url),
                Err(e) => {
                    // Back to what ran before, so the listener is not left off.
                    if previous.enabled
                        && let Ok(url) = host.apply(previous).await
                    {
                        self.set_intake_url(url);
                    } else {
                        self.set_intake_url(None);
                    }
                    return Err(e);
                }
            }
        }
        settings.save(self.data_dir())?;
        self.intake_listener().await
    }

    /// Signs a test event with the source's own secret and takes it as the listener would
    /// (verification, rate, the inbox, its mappings): what a sender's first event would do.
    /// The answer is the listener's.
    pub async fn send_test_event(
        self: &Arc<Self>,
        id_or_name: &str,
        req: TestEventRequest,
    ) -> Result<IntakeAccepted, AppError> {
        let source = self.source(id_or_name).await?;
        let body = req.body.unwrap_or_else(
            || json!({"type": "handoff-console.test", "sentAt": crate::store::from_ms(now_ms())}),
        );
        let bytes = serde_json::to_vec(&body).map_err(AppError::internal)?;
        let secret = self.source_secret(source.id, false).await?.ok_or_else(|| {
            AppError::new(
                crate::ErrorKind::Unavailable,
                format!(
                    "the secret of source '{}' is missing from the secrets backend: rotate it",
                    source.name
                ),
            )
        })?;
        let message_id = format!("test-{}", InboxId::new());
        let mut headers = source
            .verification
            .sign(
                secret.expose(),
                &message_id,
                now_ms().div_euclid(1000),
                &bytes,
            )
            .map_err(AppError::from)?;
        for (k, v) in &req.headers {
            let Some(v) = v.as_str() else {
                return Err(AppError::invalid(format!("headers.{k}"), "must be text"));
            };
            headers.push((k.to_ascii_lowercase(), v.to_string()));
        }
        let headers: Vec<(String, String)> = headers
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        self.accept_intake(&source.name, IntakeEndpoint::Webhook, &headers, &bytes)
            .await
            .map_err(|e| match e {
                IntakeError::Invalid(e) | IntakeError::Unavailable(e) => e,
                IntakeError::Disabled => AppError::new(
                    crate::ErrorKind::Conflict,
                    format!("source '{}' is disabled: enable it to test it", source.name),
                ),
                other => AppError::new(crate::ErrorKind::Conflict, other.to_string()),
            })
    }

    // --- accepting messages ---

    /// The source named `source_name` once `body` and `headers` verify as its own, it is
    /// enabled and within its rate.
    async fn verified_source(
        &self,
        source_name: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<(Arc<LiveSource>, Option<String>), IntakeError> {
        if body.len() > MAX_INTAKE_BODY {
            return Err(IntakeError::TooLarge);
        }
        let unavailable = IntakeError::Unavailable;
        let unknown = || IntakeError::Unauthorized(format!("no source '{source_name}'"));
        let mut live = self
            .live_source(source_name, None)
            .await
            .map_err(unavailable)?
            .ok_or_else(unknown)?;
        let now_s = now_ms().div_euclid(1000);
        let verified = match live
            .source
            .verification
            .verify(&live.keys, headers, body, now_s)
        {
            Ok(v) => v,
            Err(Rejection::BadSignature | Rejection::BadKey)
                if live.loaded.elapsed() >= RELOAD_AFTER =>
            {
                // Perhaps rotated by another process: once more with fresh keys.
                live = self
                    .live_source(source_name, Some(Duration::ZERO))
                    .await
                    .map_err(unavailable)?
                    .ok_or_else(unknown)?;
                live.source
                    .verification
                    .verify(&live.keys, headers, body, now_s)
                    .map_err(|r| IntakeError::Unauthorized(r.to_string()))?
            }
            Err(r) => return Err(IntakeError::Unauthorized(r.to_string())),
        };
        if !live.source.enabled {
            return Err(IntakeError::Disabled);
        }
        self.intake
            .limiter
            .take(live.source.id, live.source.rate_per_minute)
            .map_err(IntakeError::RateLimited)?;
        Ok((live, verified.message_id))
    }

    /// Takes one pushed message: verifies it as its source says, applies the source's rate,
    /// commits it to the inbox (body and headers sealed, credentials left out) and only then
    /// answers. Its handoff id is chosen now; the message is mapped (or, for the routes that
    /// name their integration or mapping, read) into that handoff right after, in the
    /// background. A repeated message id is answered with the first message's answer.
    /// `headers`: names in lowercase.
    pub async fn accept_intake(
        self: &Arc<Self>,
        source_name: &str,
        endpoint: IntakeEndpoint,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<IntakeAccepted, IntakeError> {
        let unavailable = IntakeError::Unavailable;
        let (live, message_key) = self.verified_source(source_name, headers, body).await?;
        let source = &live.source;
        let mut message = NewInboxMessage {
            id: InboxId::new(),
            source_id: source.id,
            source_name: source.name.clone(),
            endpoint,
            message_key,
            sealed_body: String::new(),
            sealed_headers: None,
            body_bytes: body.len(),
            handoff_id: Some(HandoffId::new()),
            integration_id: None,
            session_id: None,
            mapping: None,
            received_at: now_ms(),
        };
        match endpoint {
            IntakeEndpoint::Webhook => {}
            IntakeEndpoint::Handoff => {
                let named = HandoffBody::read(body).map_err(IntakeError::Invalid)?;
                let (session_id, _) = check_send_input(&named.session_id, &named.data)
                    .map_err(IntakeError::Invalid)?;
                let integration = match self.store.find_integration(&named.integration).await {
                    Ok(Some(i)) if source.integrations.contains(&i.id) => i,
                    Ok(_) => return Err(IntakeError::NotAllowed(named.integration)),
                    Err(e) => return Err(unavailable(e.into())),
                };
                message.integration_id = Some(integration.id);
                message.session_id = Some(session_id.to_string());
            }
            IntakeEndpoint::Database => {
                let seed: SeedDatabaseBody = read(body, "the seed's {\"dbConfig\", \"data\"}")
                    .map_err(IntakeError::Invalid)?;
                let integration = self.seed_integration(source, &seed.db_config).await?;
                let session = seed
                    .session_id
                    .clone()
                    .or_else(|| message.message_key.clone())
                    .unwrap_or_else(|| message.id.to_string());
                let (session_id, _) =
                    check_send_input(&session, &seed.data).map_err(IntakeError::Invalid)?;
                message.integration_id = Some(integration.id);
                message.session_id = Some(session_id.to_string());
            }
            IntakeEndpoint::Push => {
                let push: SeedPushBody = read(body, "{\"system\", \"mapping\", \"data\"}")
                    .map_err(IntakeError::Invalid)?;
                if push.system != source.name {
                    return Err(IntakeError::Invalid(AppError::invalid(
                        "system",
                        format!("must be this source's name, '{}'", source.name),
                    )));
                }
                let mapping = self.seed_mapping(source, &push.mapping).await?;
                message.mapping = Some((mapping.id, mapping.name));
            }
        }
        let key = self.sealing_key().await.map_err(unavailable)?;
        message.sealed_body = key.seal(body, &message.id.to_string());
        let kept = keepable_headers(&source.verification, headers);
        if !kept.is_empty() {
            let text = Value::Object(kept.clone()).to_string();
            message.sealed_headers = Some(key.seal(text.as_bytes(), &headers_aad(message.id)));
        }
        // The row as written, kept in hand so that processing reads nothing back.
        let record = InboxRecord {
            item: InboxItem {
                id: message.id,
                source_id: message.source_id,
                source_name: message.source_name.clone(),
                endpoint,
                message_key: message.message_key.clone(),
                status: InboxStatus::Received,
                // Named once its handoff exists.
                handoff_id: None,
                integration_id: message.integration_id,
                integration_name: None,
                session_id: message.session_id.clone(),
                mapping_name: message.mapping.as_ref().map(|(_, name)| name.clone()),
                error: None,
                body_bytes: body.len() as u64,
                received_at: crate::store::from_ms(message.received_at),
                updated_at: crate::store::from_ms(message.received_at),
            },
            handoff_id: message.handoff_id,
            sealed_body: message.sealed_body.clone(),
            sealed_headers: message.sealed_headers.clone(),
            mapping_id: message.mapping.as_ref().map(|(id, _)| *id),
        };
        // A webhook a realtime mapping takes is written with its handoff, in one commit.
        if endpoint == IntakeEndpoint::Webhook
            && !self.store.is_shared()
            && let Some(answered) = self.start_on_acceptance(&message, body, &kept)
        {
            match answered.await {
                Ok(Ok(done)) => {
                    if done.begun.is_none() && !done.answer.repeat {
                        // Its mappings changed meanwhile: it was written alone, and is mapped
                        // now from the versions read in that commit.
                        let app = Arc::clone(self);
                        let body = body.to_vec();
                        tokio::spawn(async move {
                            let id = record.item.id;
                            if let Err(e) =
                                app.take_accepted(record, body, kept, done.versions).await
                            {
                                tracing::warn!(inbox = %id, "the message waits to be taken up again: {e}");
                            }
                        });
                    }
                    let answer = done.answer;
                    return Ok(IntakeAccepted {
                        id: answer.id,
                        status: answer.status,
                        handoff_id: answer.handoff_id,
                        repeat: answer.repeat,
                    });
                }
                Ok(Err(e)) => return Err(unavailable(e)),
                // Nothing was written (the attempt could not begin): the usual way, below.
                Err(_) => {}
            }
        }
        // A message its source's mappings take gets their versions read in the same commit.
        let (answer, versions) =
            if matches!(endpoint, IntakeEndpoint::Webhook | IntakeEndpoint::Push) {
                self.store.add_to_inbox_with_versions(message).await
            } else {
                self.store.add_to_inbox(message).await.map(|a| (a, None))
            }
            .map_err(|e| unavailable(e.into()))?;
        if !answer.repeat {
            let app = Arc::clone(self);
            let body = body.to_vec();
            tokio::spawn(async move {
                let id = record.item.id;
                if let Err(e) = app.take_accepted(record, body, kept, versions).await {
                    tracing::warn!(inbox = %id, "the message waits to be taken up again: {e}");
                }
            });
        }
        Ok(IntakeAccepted {
            id: answer.id,
            status: answer.status,
            handoff_id: answer.handoff_id,
            repeat: answer.repeat,
        })
    }

    /// The seed's database test on a source: the database integration its `dbConfig` names
    /// (one the source may name) checked as the health check does; nothing is written or kept
    /// in the inbox.
    pub async fn test_database_intake(
        &self,
        source_name: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<SeedTestAnswer, IntakeError> {
        let (live, _) = self.verified_source(source_name, headers, body).await?;
        let seed: SeedTestBody =
            read(body, "the seed's {\"dbConfig\", \"testOnly\"}").map_err(IntakeError::Invalid)?;
        let integration = self.seed_integration(&live.source, &seed.db_config).await?;
        self.seed_test(&integration).await
    }
}

/// What the audit trail keeps of a source's settings (no secret: there is none in them).
fn source_details(s: &SourceSettings) -> Value {
    json!({
        "name": s.name,
        "displayName": s.display_name.trim(),
        "kind": s.kind,
        "verification": s.verification,
        "enabled": s.enabled,
        "ratePerMinute": s.rate_per_minute,
        "integrations": s.integrations,
    })
}

fn settings_of(s: &Source) -> SourceSettings {
    SourceSettings {
        name: s.name.clone(),
        display_name: s.display_name.clone(),
        kind: s.kind,
        verification: s.verification.clone(),
        enabled: s.enabled,
        rate_per_minute: s.rate_per_minute,
        integrations: s.integrations.clone(),
    }
}

fn name_taken(name: &str) -> AppError {
    AppError::invalid("name", format!("a source named '{name}' exists already"))
}

//! Adding, changing, listing and removing integrations; their secrets go to the secrets backend.

use super::{App, secret_key};
use crate::audit::{self, AuditAction, AuditObject};
use crate::error::{AppError, FieldProblem};
use crate::ids::IntegrationId;
use crate::integrations::{
    self, ConfigDraft, Integration, IntegrationConfig, SecretSlot, TargetKind,
};
use crate::secrets::{Secret, SecretsError};
use crate::targets::ResolvedIntegration;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What checking a config answers when it has no problem (problems are an `invalid` error).
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct ConfigChecked {
    pub ok: bool,
}

/// Reads a config's text (an envelope, or a bare seed config named `name`) with its problems,
/// off the runtime's threads: reading goes on past each bad value, which can take many passes
/// over a large document. `field` names the text in a too-large error (`body`, `config`).
pub async fn read_config_text(
    text: String,
    name: Option<String>,
    field: &'static str,
) -> Result<ConfigDraft, AppError> {
    if text.len() > integrations::MAX_CONFIG_BYTES {
        return Err(AppError::invalid(
            field,
            format!("larger than {} bytes", integrations::MAX_CONFIG_BYTES),
        ));
    }
    tokio::task::spawn_blocking(move || integrations::read_config(&text, name.as_deref()))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::from)
}

impl App {
    /// Validates and saves a new integration; its secrets go to the secrets backend first, so a
    /// backend that cannot be reached leaves nothing behind. Every problem of the config
    /// (validation's, its name against the others', its secrets) is in one `invalid` error.
    pub async fn add_integration(
        &self,
        config: IntegrationConfig,
    ) -> Result<Integration, AppError> {
        self.add_integration_from(ConfigDraft::from(config)).await
    }

    /// As [`App::add_integration`], for a config read from its text: the problems found while
    /// reading it come in the same error as the rest.
    #[tracing::instrument(skip_all)]
    pub async fn add_integration_from(&self, draft: ConfigDraft) -> Result<Integration, AppError> {
        let (config, secrets) = self.checked_config(draft, None).await?;
        let id = IntegrationId::new();
        let audit = self.audit_event(
            AuditAction::IntegrationCreated,
            AuditObject::integration(id, &config.name),
            json!({
                "target": audit::target_summary(&config),
                "secrets": secrets.iter().map(|(s, _)| s.name()).collect::<Vec<_>>(),
            }),
            &secret_values(&secrets)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        if let Err(e) = self.store_secrets(id, secrets).await {
            // Some secrets may have been written before the failure: nothing half-saved.
            let _ = self.delete_secrets(id, &SecretSlot::ALL).await;
            return Err(e);
        }
        match self.store.insert_integration(id, &config, &audit).await {
            Ok(saved) => {
                tracing::info!(integration = %id, kind = config.kind.as_str(), "integration added");
                Ok(saved)
            }
            Err(e) => {
                // Undo the keyring writes: nothing half-saved.
                let _ = self.delete_secrets(id, &SecretSlot::ALL).await;
                if integrations::is_name_conflict(&e) {
                    Err(AppError::invalid_many(vec![name_taken(&config.name)]))
                } else {
                    Err(e.into())
                }
            }
        }
    }

    /// Replaces an integration's config. A secret given as the mask (or left out of a kind
    /// that still needs it) keeps the stored value. Problems are reported as
    /// [`App::add_integration`] reports them.
    pub async fn update_integration(
        &self,
        id_or_name: &str,
        config: IntegrationConfig,
    ) -> Result<Integration, AppError> {
        self.update_integration_from(id_or_name, ConfigDraft::from(config))
            .await
    }

    /// As [`App::update_integration`], for a config read from its text (see
    /// [`App::add_integration_from`]).
    #[tracing::instrument(skip_all, fields(integration = %id_or_name))]
    pub async fn update_integration_from(
        &self,
        id_or_name: &str,
        draft: ConfigDraft,
    ) -> Result<Integration, AppError> {
        let current = self.integration(id_or_name).await?;
        let (config, secrets) = self.checked_config(draft, Some(&current)).await?;
        let stored = current.config.secret_slots();
        // The given secrets' slots (the masked configs cannot show that they changed) and
        // values (scrubbed out of the entry wherever they might appear).
        let replaced: Vec<SecretSlot> = secrets.iter().map(|(s, _)| *s).collect();
        let values: Vec<Secret<String>> = secret_values(&secrets)
            .into_iter()
            .map(Secret::new)
            .collect();
        // The new secrets go to the backend before the store changes (a backend that cannot be
        // reached leaves the config as it was), so the values they replace are read first and
        // put back if the store's update fails: the stored config keeps working.
        let previous = self.current_secrets(current.id, &replaced).await?;
        if let Err(e) = self.store_secrets(current.id, secrets).await {
            self.put_back_secrets(current.id, previous).await;
            return Err(e);
        }
        let audit = |before: &IntegrationConfig| {
            let (changes, omitted) = audit::config_changes(before, &config, &replaced);
            self.audit_event(
                AuditAction::IntegrationUpdated,
                AuditObject::integration(current.id, &config.name),
                json!({"changes": changes, "omitted": omitted}),
                &values
                    .iter()
                    .map(|v| v.expose().as_str())
                    .collect::<Vec<_>>(),
            )
        };
        let unused: Vec<SecretSlot> = stored
            .into_iter()
            .filter(|s| !config.secret_slots().contains(s))
            .collect();
        let failure = match self
            .store
            .update_integration(current.id, &config, audit)
            .await
        {
            Ok(true) => None,
            Ok(false) => {
                // Removed meanwhile: its secrets went with it, and nothing of this update (nor
                // the values read before it) may stay behind under its id.
                let slots: Vec<SecretSlot> = previous.iter().map(|(s, _)| *s).collect();
                if let Err(e) = self.delete_secrets(current.id, &slots).await {
                    tracing::warn!(integration = %current.id, "could not delete the secrets of an integration removed meanwhile: {e}");
                }
                return Err(AppError::not_found("integration", id_or_name));
            }
            // Another integration took the name since it was checked.
            Err(e) if integrations::is_name_conflict(&e) => {
                Some(AppError::invalid_many(vec![name_taken(&config.name)]))
            }
            Err(e) => Some(e.into()),
        };
        if let Some(e) = failure {
            self.put_back_secrets(current.id, previous).await;
            return Err(e);
        }
        self.forget_cached(current.id).await;
        // The new config is saved; a leftover secret it no longer uses is only untidy.
        if let Err(e) = self.delete_secrets(current.id, &unused).await {
            tracing::warn!(integration = %current.id, "could not delete an unused secret: {e}");
        }
        self.integration(&current.id.to_string()).await
    }

    /// Checks a config as a save would (reading, validation, the name against the others, the
    /// secrets a save needs) and saves nothing: the editor asks it for the problems of the
    /// parts it could read when some of its inputs cannot be sent, so one save shows them all.
    /// `id_or_name` is the integration being edited, if any.
    pub async fn check_integration_from(
        &self,
        id_or_name: Option<&str>,
        draft: ConfigDraft,
    ) -> Result<ConfigChecked, AppError> {
        let current = match id_or_name {
            Some(i) => Some(self.integration(i).await?),
            None => None,
        };
        self.checked_config(draft, current.as_ref()).await?;
        Ok(ConfigChecked { ok: true })
    }

    /// A config to save, checked in one pass: what reading and validation found, the name
    /// against the other integrations (`current` is the one being updated), and the secrets a
    /// save needs. Answers the config normalised with its secrets taken out, or one `invalid`
    /// error holding every problem.
    async fn checked_config(
        &self,
        draft: ConfigDraft,
        current: Option<&Integration>,
    ) -> Result<(IntegrationConfig, Vec<(SecretSlot, String)>), AppError> {
        let (mut config, mut problems) = draft.validate();
        if !config.name.is_empty()
            && !problems.iter().any(|p| p.field == "name")
            && let Some(other) = self.store.find_integration(&config.name).await?
            && current.is_none_or(|c| c.id != other.id)
        {
            problems.push(name_taken(&config.name));
        }
        let mut secrets = config.take_secrets();
        let mut headers_checked = true;
        if let Err(e) = self
            .complete_header_secrets(current.map(|c| c.id), &config, &mut secrets)
            .await
        {
            if e.kind != crate::ErrorKind::Invalid {
                // The backend could not be asked: the config's own problems come first.
                return Err(if problems.is_empty() {
                    e
                } else {
                    AppError::invalid_many(problems)
                });
            }
            problems.extend(e.details);
            headers_checked = false;
        }
        let given: Vec<SecretSlot> = secrets.iter().map(|(s, _)| *s).collect();
        let stored = current.map(|c| c.config.secret_slots()).unwrap_or_default();
        for slot in config.secret_slots() {
            if given.contains(&slot) || (slot == SecretSlot::ApiHeaders && !headers_checked) {
                continue;
            }
            let reason = match current {
                None => "must be given (the mask only keeps a stored value)",
                Some(_) if !stored.contains(&slot) => {
                    "must be given: no value is stored for it yet"
                }
                Some(c) if !c.config.keeps_secret_destination(&config, slot) => {
                    "must be given again: the target changed (server, user, TLS or endpoint \
                     origin), and a stored secret is only sent where it was saved for"
                }
                Some(_) => continue,
            };
            problems.push(FieldProblem {
                field: slot.config_path().to_string(),
                reason: reason.to_string(),
            });
        }
        if problems.is_empty() {
            Ok((config, secrets))
        } else {
            Err(AppError::invalid_many(problems))
        }
    }

    /// Removes an integration and its secrets. Its history stays.
    pub async fn remove_integration(&self, id_or_name: &str) -> Result<Integration, AppError> {
        let current = self.integration(id_or_name).await?;
        let audit = self.audit_event(
            AuditAction::IntegrationRemoved,
            AuditObject::of(&current),
            json!({"target": audit::target_summary(&current.config)}),
            &[],
        );
        self.store.delete_integration(current.id, &audit).await?;
        self.forget_cached(current.id).await;
        // The integration is gone; secrets left behind are reported, not a failed removal.
        if let Err(e) = self.delete_secrets(current.id, &SecretSlot::ALL).await {
            tracing::warn!(integration = %current.id, "could not delete its secrets: {e}");
        }
        tracing::info!(integration = %current.id, "integration removed");
        Ok(current)
    }

    /// Sets one secret (e.g. a rotated token) without touching the rest of the config.
    pub async fn set_integration_secret(
        &self,
        id_or_name: &str,
        slot: SecretSlot,
        value: String,
    ) -> Result<(), AppError> {
        let current = self.integration(id_or_name).await?;
        if !current.config.secret_slots().contains(&slot) {
            return Err(AppError::invalid(
                slot.config_path(),
                "this integration's config has no such credential",
            ));
        }
        if value.is_empty() {
            return Err(AppError::invalid(slot.config_path(), "must not be empty"));
        }
        // As saving a config refuses them: an API credential may be sent as a header, where a
        // line break would start another one. (A database password goes to the server as is.)
        if slot != SecretSlot::DatabasePassword
            && slot != SecretSlot::ApiHeaders
            && value.chars().any(char::is_control)
        {
            return Err(AppError::invalid(
                slot.config_path(),
                "must not contain control characters (a line break or a tab, for example)",
            ));
        }
        if slot == SecretSlot::ApiHeaders {
            let names = current.config.secret_headers();
            let given: Option<serde_json::Map<String, serde_json::Value>> =
                serde_json::from_str(&value).ok();
            let usable = |v: &serde_json::Value| {
                v.as_str().is_some_and(|s| {
                    !s.is_empty() && s.len() <= 8192 && !s.chars().any(char::is_control)
                })
            };
            let complete = given.as_ref().is_some_and(|m| {
                names.iter().all(|n| m.get(n).is_some_and(usable))
                    && m.keys().all(|k| names.contains(k))
            });
            if !complete {
                return Err(AppError::invalid(
                    slot.config_path(),
                    format!(
                        "must be a JSON object with a non-empty, single-line text value for each \
                         of: {}",
                        names.join(", ")
                    ),
                ));
            }
        }
        // "set" where no value was stored, "rotated" where one was replaced; the value it
        // replaces is put back if the store cannot mark the change.
        let previous = self.current_secrets(current.id, &[slot]).await?;
        let replaced = previous.iter().any(|(_, v)| v.is_some());
        if let Err(e) = self.store_secrets(current.id, vec![(slot, value)]).await {
            self.put_back_secrets(current.id, previous).await;
            return Err(e);
        }
        let action = if replaced {
            AuditAction::SecretRotated
        } else {
            AuditAction::SecretSet
        };
        let audit = self.audit_event(
            action,
            AuditObject::of(&current),
            audit::secret_details(slot),
            &[],
        );
        // The keyring write is done; the entry goes in with the change that marks it.
        if let Err(e) = self.store.touch_integration(current.id, &audit).await {
            self.put_back_secrets(current.id, previous).await;
            return Err(e.into());
        }
        self.forget_cached(current.id).await;
        Ok(())
    }

    /// An integration by id or name.
    pub async fn integration(&self, id_or_name: &str) -> Result<Integration, AppError> {
        self.store
            .find_integration(id_or_name)
            .await?
            .ok_or_else(|| AppError::not_found("integration", id_or_name))
    }

    pub async fn integrations(
        &self,
        kind: Option<TargetKind>,
    ) -> Result<Vec<Integration>, AppError> {
        Ok(self.store.integrations(kind).await?)
    }

    /// Makes the `api.headers` secret complete: values given in the config, else the stored
    /// ones (a header given as the mask keeps its value), for exactly the config's credential
    /// headers. Nothing is written when nothing changes.
    async fn complete_header_secrets(
        &self,
        id: Option<IntegrationId>,
        config: &IntegrationConfig,
        secrets: &mut Vec<(SecretSlot, String)>,
    ) -> Result<(), AppError> {
        use serde_json::{Map, Value};
        // The mask stands for a stored credential: a header not kept as one cannot take it
        // (e.g. a credential header renamed to a plain name).
        if let Some(api) = &config.api
            && let Some(name) = api.headers.iter().find_map(|(n, v)| {
                (v == integrations::SECRET_MASK && !integrations::is_secret_header(n)).then_some(n)
            })
        {
            return Err(AppError::invalid(
                format!("api.headers.{name}"),
                "is the mask, but this header's name does not mark it as a credential, so no \
                 value is kept for it: give its value",
            ));
        }
        let names = config.secret_headers();
        let given: Map<String, Value> = secrets
            .iter()
            .find(|(s, _)| *s == SecretSlot::ApiHeaders)
            .and_then(|(_, v)| serde_json::from_str(v).ok())
            .unwrap_or_default();
        secrets.retain(|(s, _)| *s != SecretSlot::ApiHeaders);
        if names.is_empty() {
            return Ok(());
        }
        // What is stored, to keep values given as the mask and to write nothing when the
        // values given are the ones stored.
        let mut stored: Map<String, Value> = Map::new();
        if let Some(id) = id {
            let key = secret_key(id, SecretSlot::ApiHeaders);
            match self.with_secrets(move |b| b.get(&key)).await {
                Ok(v) => stored = serde_json::from_str(v.expose()).unwrap_or_default(),
                Err(e) if e.kind == crate::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        let mut merged = Map::new();
        for name in &names {
            match given.get(name).or_else(|| stored.get(name)) {
                Some(v) => {
                    merged.insert(name.clone(), v.clone());
                }
                None => {
                    return Err(AppError::invalid(
                        format!("api.headers.{name}"),
                        "must be given: it carries a credential, kept in the secrets backend, \
                         and none is stored for it yet (the mask only keeps a stored value)",
                    ));
                }
            }
        }
        if merged != stored {
            secrets.push((SecretSlot::ApiHeaders, Value::Object(merged).to_string()));
        }
        Ok(())
    }

    async fn store_secrets(
        &self,
        id: IntegrationId,
        secrets: Vec<(SecretSlot, String)>,
    ) -> Result<(), AppError> {
        if secrets.is_empty() {
            return Ok(());
        }
        let entries: Vec<(String, Secret<String>)> = secrets
            .into_iter()
            .map(|(slot, v)| (secret_key(id, slot), Secret::new(v)))
            .collect();
        self.with_secrets(move |backend| {
            entries
                .iter()
                .try_for_each(|(key, value)| backend.set(key, value))
        })
        .await
    }

    /// The values stored in `slots` now (`None` where there is none), to put back with
    /// [`App::put_back_secrets`]. A backend that cannot say fails the update before anything
    /// is written.
    async fn current_secrets(
        &self,
        id: IntegrationId,
        slots: &[SecretSlot],
    ) -> Result<Vec<(SecretSlot, Option<Secret<String>>)>, AppError> {
        if slots.is_empty() {
            return Ok(Vec::new());
        }
        let slots = slots.to_vec();
        self.with_secrets(move |backend| {
            slots
                .into_iter()
                .map(|slot| match backend.get(&secret_key(id, slot)) {
                    Ok(v) => Ok((slot, Some(v))),
                    Err(SecretsError::Missing { .. }) => Ok((slot, None)),
                    Err(e) => Err(e),
                })
                .collect()
        })
        .await
    }

    /// Restores what [`App::current_secrets`] read: each value written back, or the entry
    /// deleted where there was none. Every slot is tried; one that fails is logged (by name,
    /// never its value), as the caller is already answering the failure that led here.
    async fn put_back_secrets(
        &self,
        id: IntegrationId,
        previous: Vec<(SecretSlot, Option<Secret<String>>)>,
    ) {
        if previous.is_empty() {
            return;
        }
        let slots: Vec<SecretSlot> = previous.iter().map(|(s, _)| *s).collect();
        let failed = self
            .with_secrets(move |backend| {
                let failed: Vec<(SecretSlot, String)> = previous
                    .iter()
                    .filter_map(|(slot, value)| {
                        let key = secret_key(id, *slot);
                        let done = match value {
                            Some(v) => backend.set(&key, v),
                            None => backend.delete(&key),
                        };
                        done.err().map(|e| (*slot, e.to_string()))
                    })
                    .collect();
                Ok(failed)
            })
            .await
            .unwrap_or_else(|e| slots.into_iter().map(|s| (s, e.message.clone())).collect());
        for (slot, why) in failed {
            tracing::error!(
                integration = %id,
                "the update failed, and the previous value of secret {} could not be put back \
                 ({why}): set it again (integration set-secret)",
                slot.name()
            );
        }
        // A delivery may have read the new value meanwhile (and built a pool with it).
        self.forget_cached(id).await;
    }

    async fn delete_secrets(
        &self,
        id: IntegrationId,
        slots: &[SecretSlot],
    ) -> Result<(), AppError> {
        if slots.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = slots.iter().map(|s| secret_key(id, *s)).collect();
        self.with_secrets(move |backend| keys.iter().try_for_each(|k| backend.delete(k)))
            .await
    }

    async fn forget_cached(&self, id: IntegrationId) {
        self.secret_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        self.targets.forget(id).await;
    }

    /// The integration with its secrets, ready to deliver.
    pub(super) async fn resolve(
        &self,
        integration: &Integration,
    ) -> Result<ResolvedIntegration, AppError> {
        let version = integration.updated_at.timestamp_millis();
        let cached = self
            .secret_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&integration.id)
            .filter(|(v, _)| *v == version)
            .map(|(_, s)| Arc::clone(s));
        let secrets = match cached {
            Some(s) => s,
            None => {
                let slots = integration.config.secret_slots();
                let id = integration.id;
                let read = self
                    .with_secrets(move |backend| {
                        let mut read = BTreeMap::new();
                        for slot in &slots {
                            match backend.get(&secret_key(id, *slot)) {
                                Ok(v) => {
                                    read.insert(*slot, v);
                                }
                                // A config saved before credential headers were kept in the
                                // backend still holds their values itself.
                                Err(SecretsError::Missing { .. })
                                    if *slot == SecretSlot::ApiHeaders => {}
                                Err(e) => return Err(e),
                            }
                        }
                        Ok(read)
                    })
                    .await?;
                let read = Arc::new(read);
                self.secret_cache
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(integration.id, (version, Arc::clone(&read)));
                read
            }
        };
        Ok(ResolvedIntegration {
            id: integration.id,
            config: integration.config.clone(),
            secrets: (*secrets).clone(),
        })
    }
}

/// The problem of a name another integration has.
fn name_taken(name: &str) -> FieldProblem {
    FieldProblem {
        field: "name".into(),
        reason: format!("an integration named '{name}' exists already; choose another name"),
    }
}

/// The secret values of a save, each on its own (the header secrets' values out of their JSON),
/// to scrub out of an audit entry.
fn secret_values(secrets: &[(SecretSlot, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (slot, value) in secrets {
        if *slot == SecretSlot::ApiHeaders
            && let Ok(serde_json::Value::Object(m)) = serde_json::from_str(value)
        {
            out.extend(m.values().filter_map(|v| v.as_str().map(str::to_string)));
        }
        out.push(value.clone());
    }
    out
}

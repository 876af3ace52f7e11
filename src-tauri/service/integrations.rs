//! Adding, changing, listing and removing integrations; their secrets go to the secrets backend.

use super::{App, secret_key};
use crate::error::AppError;
use crate::ids::IntegrationId;
use crate::integrations::{self, Integration, IntegrationConfig, SecretSlot, TargetKind};
use crate::secrets::Secret;
use crate::targets::ResolvedIntegration;
use std::collections::BTreeMap;
use std::sync::Arc;

impl App {
    /// Validates and saves a new integration; its secrets go to the secrets backend first, so a
    /// backend that cannot be reached leaves nothing behind.
    #[tracing::instrument(skip_all, fields(name = %config.name))]
    pub async fn add_integration(
        &self,
        config: IntegrationConfig,
    ) -> Result<Integration, AppError> {
        let mut config = integrations::validate(config)?;
        let secrets = config.take_secrets();
        let given: Vec<SecretSlot> = secrets.iter().map(|(s, _)| *s).collect();
        if let Some(slot) = config
            .secret_slots()
            .into_iter()
            .find(|s| !given.contains(s))
        {
            return Err(AppError::invalid(
                slot.config_path(),
                "must be given (the mask only keeps a stored value)",
            ));
        }
        if self.store.find_integration(&config.name).await?.is_some() {
            return Err(AppError::conflict(format!(
                "name: an integration named '{}' exists already",
                config.name
            )));
        }
        let id = IntegrationId::new();
        if let Err(e) = self.store_secrets(id, secrets).await {
            // Some secrets may have been written before the failure: nothing half-saved.
            let _ = self.delete_secrets(id, &SecretSlot::ALL).await;
            return Err(e);
        }
        match self.store.insert_integration(id, &config).await {
            Ok(saved) => {
                tracing::info!(integration = %id, kind = config.kind.as_str(), "integration added");
                Ok(saved)
            }
            Err(e) => {
                // Undo the keyring writes: nothing half-saved.
                let _ = self.delete_secrets(id, &SecretSlot::ALL).await;
                if integrations::is_name_conflict(&e) {
                    Err(AppError::conflict(format!(
                        "name: an integration named '{}' exists already",
                        config.name
                    )))
                } else {
                    Err(e.into())
                }
            }
        }
    }

    /// Replaces an integration's config. A secret given as the mask (or left out of a kind
    /// that still needs it) keeps the stored value.
    #[tracing::instrument(skip_all, fields(integration = %id_or_name))]
    pub async fn update_integration(
        &self,
        id_or_name: &str,
        config: IntegrationConfig,
    ) -> Result<Integration, AppError> {
        let current = self.integration(id_or_name).await?;
        let mut config = integrations::validate(config)?;
        let secrets = config.take_secrets();
        let stored = current.config.secret_slots();
        let given: Vec<SecretSlot> = secrets.iter().map(|(s, _)| *s).collect();
        if let Some(slot) = config
            .secret_slots()
            .into_iter()
            .find(|s| !given.contains(s) && !stored.contains(s))
        {
            return Err(AppError::invalid(
                slot.config_path(),
                "must be given: no value is stored for it yet",
            ));
        }
        if let Some(other) = self.store.find_integration(&config.name).await?
            && other.id != current.id
        {
            return Err(AppError::conflict(format!(
                "name: an integration named '{}' exists already",
                config.name
            )));
        }
        self.store_secrets(current.id, secrets).await?;
        let unused: Vec<SecretSlot> = stored
            .into_iter()
            .filter(|s| !config.secret_slots().contains(s))
            .collect();
        if !self.store.update_integration(current.id, &config).await? {
            return Err(AppError::not_found("integration", id_or_name));
        }
        self.forget_cached(current.id).await;
        // The new config is saved; a leftover secret it no longer uses is only untidy.
        if let Err(e) = self.delete_secrets(current.id, &unused).await {
            tracing::warn!(integration = %current.id, "could not delete an unused secret: {e}");
        }
        self.integration(&current.id.to_string()).await
    }

    /// Removes an integration and its secrets. Its history stays.
    pub async fn remove_integration(&self, id_or_name: &str) -> Result<Integration, AppError> {
        let current = self.integration(id_or_name).await?;
        self.store.delete_integration(current.id).await?;
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
        self.store_secrets(current.id, vec![(slot, value)]).await?;
        self.store.touch_integration(current.id).await?;
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
                        slots
                            .iter()
                            .map(|slot| backend.get(&secret_key(id, *slot)).map(|v| (*slot, v)))
                            .collect::<Result<BTreeMap<_, _>, _>>()
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

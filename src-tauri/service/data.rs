//! Collected data at rest: the data key (made on first use, kept in the secrets backend),
//! sealing a new handoff's data, opening it again for a retry, and the audited reveal.

use super::App;
use crate::attempts::{HandoffRecord, StoredData};
use crate::audit::{AuditObject, AuditRecord};
use crate::crypto::{self, CryptoError, DataKey};
use crate::error::AppError;
use crate::ids::HandoffId;
use crate::secrets::SecretsError;
use serde_json::Value;
use std::sync::Arc;

/// The data keys read so far in this process, by id.
pub(super) type DataKeys = tokio::sync::Mutex<std::collections::HashMap<String, Arc<DataKey>>>;

impl App {
    /// The key that seals new data: the current one, or a new one made now (stored in the
    /// secrets backend first, then named current in the store; if another process named one
    /// first, that one is used).
    pub(super) async fn sealing_key(&self) -> Result<Arc<DataKey>, AppError> {
        if let Some(id) = self.store.current_data_key().await? {
            return self.data_key(&id).await;
        }
        let made = DataKey::generate();
        let (key_name, value) = (crypto::backend_key(&made.id), made.export());
        self.with_secrets(move |b| b.set(&key_name, &value)).await?;
        let current = self.store.adopt_data_key(&made.id).await?;
        if current == made.id {
            tracing::info!(key = %made.id, "made the data key that seals collected data");
            let made = Arc::new(made);
            self.data_keys
                .lock()
                .await
                .insert(made.id.clone(), made.clone());
            return Ok(made);
        }
        // Another process was first; ours sealed nothing and is dropped from the backend.
        let key_name = crypto::backend_key(&made.id);
        let _ = self.with_secrets(move |b| b.delete(&key_name)).await;
        self.data_key(&current).await
    }

    /// The data key `id`, from the cache or the secrets backend.
    async fn data_key(&self, id: &str) -> Result<Arc<DataKey>, AppError> {
        let mut keys = self.data_keys.lock().await;
        if let Some(k) = keys.get(id) {
            return Ok(k.clone());
        }
        let key_name = crypto::backend_key(id);
        let stored = match self.with_secrets(move |b| b.get(&key_name)).await {
            Ok(v) => v,
            Err(e) if e.kind == crate::ErrorKind::NotFound => {
                return Err(AppError::unavailable(format!(
                    "the data key {id} is not in the secrets backend ({}): handoff data sealed \
                     with it cannot be read here (another machine, or the key was deleted); the \
                     history, statuses and masked data are still available",
                    self.secrets.name()
                )));
            }
            Err(e) => return Err(e),
        };
        let key = Arc::new(
            DataKey::import(id, &stored)
                .map_err(|e| AppError::from(SecretsError::Backend(e.to_string())))?,
        );
        keys.insert(id.to_string(), key.clone());
        Ok(key)
    }

    /// Seals a new handoff's data (its JSON text) for the handoff `id`.
    pub(super) async fn seal_data(&self, id: HandoffId, text: &str) -> Result<String, AppError> {
        Ok(self
            .sealing_key()
            .await?
            .seal(text.as_bytes(), &id.to_string()))
    }

    /// A handoff's collected data as it was collected: opened with its data key.
    pub(super) async fn open_data(&self, h: &HandoffRecord) -> Result<Value, AppError> {
        let record = match &h.data {
            StoredData::Plain(v) => return Ok(v.clone()),
            StoredData::Sealed(record) => record,
        };
        let id = h.summary.handoff_id;
        let key_id = crypto::key_id(record).unwrap_or_default();
        let key = self.data_key(key_id).await?;
        let plain = key.open(record, &id.to_string()).map_err(|e| match e {
            CryptoError::Tampered => AppError::new(
                crate::ErrorKind::Internal,
                format!(
                    "the data of handoff {id} fails authentication: it was changed, damaged or \
                     moved from another handoff, and is not used"
                ),
            ),
            other => AppError::internal(other),
        })?;
        serde_json::from_slice(&plain).map_err(AppError::internal)
    }

    /// The raw collected data of a handoff, for a person who asked to see it. Recorded in the
    /// audit trail (which fields, never their values) before it is returned.
    pub async fn reveal(&self, handoff_id: HandoffId) -> Result<Value, AppError> {
        let handoff = self
            .store
            .handoff(handoff_id)
            .await?
            .ok_or_else(|| AppError::not_found("handoff", &handoff_id.to_string()))?;
        let data = self.open_data(&handoff).await?;
        let integration = self
            .store
            .integration(handoff.summary.integration_id)
            .await?
            .map(|i| AuditObject::of(&i));
        let fields = data
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        // Audited first: if the entry cannot be written, nothing is shown.
        self.record_audit(AuditRecord::DataRevealed {
            integration,
            handoff_id,
            attempt_id: handoff.summary.last_attempt_id,
            fields,
        })
        .await?;
        Ok(data)
    }
}

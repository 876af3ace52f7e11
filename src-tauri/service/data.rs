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

    /// Re-seals every handoff's data under a new data key (and seals data recorded before
    /// encryption), then deletes the old keys from the secrets backend. Resumable: when an
    /// earlier rotation was cut short (data still under a retired key), it finishes that one
    /// instead of starting another. At most `limit` handoffs are re-sealed per call (all when
    /// `None`); progress is `(done, total)`.
    pub async fn rotate_data_key(
        &self,
        limit: Option<u64>,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<KeyRotation, AppError> {
        let retired = self.store.retired_data_keys().await?;
        let current = self.store.current_data_key().await?;
        let unfinished = match &current {
            Some(c) => !retired.is_empty() && self.store.unsealed_handoffs(c, 0).await?.0 > 0,
            None => false,
        };
        let (key, resumed) = match (current, unfinished) {
            (Some(c), true) => (self.data_key(&c).await?, true),
            (None, _) => (self.sealing_key().await?, false),
            (Some(_), false) => {
                let made = DataKey::generate();
                let (name, value) = (crypto::backend_key(&made.id), made.export());
                self.with_secrets(move |b| b.set(&name, &value)).await?;
                self.store.rotate_in_data_key(&made.id).await?;
                let made = Arc::new(made);
                self.data_keys
                    .lock()
                    .await
                    .insert(made.id.clone(), made.clone());
                tracing::info!(key = %made.id, "rotated in a new data key");
                (made, false)
            }
        };
        let (total, _) = self.store.unsealed_handoffs(&key.id, 0).await?;
        let budget = limit.unwrap_or(u64::MAX).min(total);
        let mut done = 0u64;
        let mut fields: std::collections::HashMap<String, Vec<crate::integrations::FieldSpec>> =
            Default::default();
        progress(0, budget);
        while done < budget {
            let batch = (budget - done).min(500) as u32;
            let (_, rows) = self.store.unsealed_handoffs(&key.id, batch).await?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                let id: HandoffId = row.handoff_id.parse().map_err(AppError::internal)?;
                let plain = if crypto::is_sealed(&row.data) {
                    let old = self
                        .data_key(crypto::key_id(&row.data).unwrap_or_default())
                        .await?;
                    old.open(&row.data, &row.handoff_id)
                        .map_err(|e| AppError::internal(format!("handoff {id}: {e}")))?
                } else {
                    row.data.clone().into_bytes()
                };
                let masked = match &row.data_masked {
                    Some(m) => m.clone(),
                    None => {
                        if !fields.contains_key(&row.integration_id) {
                            let specs = match row.integration_id.parse() {
                                Ok(i) => self
                                    .store
                                    .integration(i)
                                    .await?
                                    .map(|i| i.config.fields)
                                    .unwrap_or_default(),
                                Err(_) => Vec::new(),
                            };
                            fields.insert(row.integration_id.clone(), specs);
                        }
                        let specs = &fields[&row.integration_id];
                        match serde_json::from_slice::<Value>(&plain) {
                            Ok(Value::Object(m)) => {
                                Value::Object(crate::masking::mask_data(specs, &m)).to_string()
                            }
                            _ => "{}".to_string(),
                        }
                    }
                };
                let sealed = key.seal(&plain, &row.handoff_id);
                self.store
                    .reseal_handoff(&row.handoff_id, &row.data, &sealed, &masked)
                    .await?;
                done += 1;
                if done.is_multiple_of(100) || done == budget {
                    progress(done, budget);
                }
                if done >= budget {
                    break;
                }
            }
        }
        let (left, _) = self.store.unsealed_handoffs(&key.id, 0).await?;
        if done > 0
            && let Err(e) = self.store.checkpoint_truncate().await
        {
            tracing::warn!("could not empty the WAL after re-sealing: {e}");
        }
        let mut deleted = Vec::new();
        if left == 0 {
            // Nothing is sealed under the old keys any more: they go.
            for old in self.store.retired_data_keys().await? {
                let name = crypto::backend_key(&old);
                self.with_secrets(move |b| b.delete(&name)).await?;
                self.data_keys.lock().await.remove(&old);
                deleted.push(old);
            }
        }
        self.record_audit_after(AuditRecord::KeysRotated {
            key: "data".into(),
            reencrypted: done,
        })
        .await;
        Ok(KeyRotation {
            key: key.id.clone(),
            resumed,
            resealed: done,
            remaining: left,
            deleted_keys: deleted.len(),
        })
    }
}

/// What a key rotation did.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRotation {
    /// The data key everything is (or will be) sealed under.
    pub key: String,
    /// Whether it finished an earlier rotation instead of starting one.
    pub resumed: bool,
    pub resealed: u64,
    /// Handoffs still under an old key (or plain); run it again to finish.
    pub remaining: u64,
    /// Old keys deleted from the secrets backend (when nothing is sealed under them any more).
    pub deleted_keys: usize,
}

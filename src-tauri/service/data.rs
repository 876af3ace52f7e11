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

/// The key new data is sealed with, and when it was looked up: a send does not ask the store
/// each time. Kept far shorter than [`KEEP_RETIRED`], so that a key another process retired
/// is no longer used by the time it may be deleted.
pub(super) type SealingCache = std::sync::Mutex<Option<(Arc<DataKey>, std::time::Instant)>>;

/// How long a process keeps sealing with the key it looked up.
const SEALING_KEY_TTL: std::time::Duration = std::time::Duration::from_secs(30);

impl App {
    /// Re-seals every inbox message not under `key` (body and headers); answers how many were
    /// re-sealed and how many could not be opened.
    async fn reseal_inbox(&self, key: &DataKey) -> Result<(u64, u64), AppError> {
        let (mut done, mut unreadable) = (0, 0);
        let mut after = String::new();
        loop {
            let rows = self.store.unsealed_inbox(&key.id, &after, 500).await?;
            if rows.is_empty() {
                return Ok((done, unreadable));
            }
            for (id, body, headers) in rows {
                after = id.clone();
                let headers_aad = format!("{id}/headers");
                let body_plain = self.open_sealed(&body, &id).await.ok();
                let headers_plain = match &headers {
                    Some(h) => self.open_sealed(h, &headers_aad).await.ok().map(Some),
                    None => Some(None),
                };
                let (Some(body_plain), Some(headers_plain)) = (body_plain, headers_plain) else {
                    tracing::warn!(inbox = %id, "not re-sealed: the message cannot be opened");
                    unreadable += 1;
                    continue;
                };
                let sealed_body = key.seal(&body_plain, &id);
                let sealed_headers = headers_plain.map(|h| key.seal(&h, &headers_aad));
                if self
                    .store
                    .reseal_inbox(
                        &id,
                        (&body, headers.as_deref()),
                        (&sealed_body, sealed_headers.as_deref()),
                        &key.id,
                    )
                    .await?
                {
                    done += 1;
                }
            }
        }
    }
}

/// Why sealed bytes could not be opened.
pub(super) enum Opened {
    /// They fail authentication: changed, damaged, or sealed for something else.
    Tampered,
    Other(AppError),
}

impl App {
    /// The key that seals new data: the current one, or a new one made now (stored in the
    /// secrets backend first, then named current in the store; if another process named one
    /// first, that one is used).
    pub(super) async fn sealing_key(&self) -> Result<Arc<DataKey>, AppError> {
        let cached = self
            .sealing_cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some((key, at)) = cached
            && at.elapsed() < SEALING_KEY_TTL
        {
            return Ok(key);
        }
        let key = self.look_up_sealing_key().await?;
        *self.sealing_cache.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((key.clone(), std::time::Instant::now()));
        Ok(key)
    }

    /// [`App::sealing_key`] from the store and the backend.
    async fn look_up_sealing_key(&self) -> Result<Arc<DataKey>, AppError> {
        let current = self.store.current_data_key().await?;
        if let Some(id) = &current {
            match self.data_key(id).await {
                Ok(k) => return Ok(k),
                // A shared store's key is every instance's: one that lacks it must not make
                // a new one current (the others could not read what it sealed), so it seals
                // nothing until the key is brought here.
                Err(e) if e.kind == crate::ErrorKind::Unavailable && self.store.is_shared() => {
                    return Err(if self.key_is_missing(id).await {
                        AppError::unavailable(format!(
                            "this console's secrets backend ({}) lacks the shared store's data \
                             key {id}, so it takes no new handoffs or intake and cannot reveal \
                             or retry: bring the key here (`keys export` on a console that has \
                             it, `keys import` here; or the same vault file and passphrase); \
                             the history, statuses and masked data are still available",
                            self.secrets.name()
                        ))
                    } else {
                        e
                    });
                }
                // The current key is gone from the backend (another machine's store, a deleted
                // key): new data gets a new key; what the old one sealed stays unreadable here.
                Err(e)
                    if e.kind == crate::ErrorKind::Unavailable && self.key_is_missing(id).await =>
                {
                    tracing::warn!(key = %id, "the current data key is missing; making a new one");
                    let made = self.new_key().await?;
                    if self
                        .store
                        .rotate_in_data_key(Some(id), &made.id, false)
                        .await?
                    {
                        return Ok(self.cache_key(made).await);
                    }
                    self.drop_key(&made.id).await;
                    let now = self.store.current_data_key().await?.unwrap_or_default();
                    return self.data_key(&now).await;
                }
                Err(e) => return Err(e),
            }
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

    /// Whether the secrets backend holds the data key `id` (`None`: it could not be asked).
    pub(super) async fn holds_data_key(&self, id: &str) -> Option<bool> {
        let name = crypto::backend_key(id);
        match self.with_secrets(move |b| b.get(&name)).await {
            Ok(_) => Some(true),
            Err(e) if e.kind == crate::ErrorKind::NotFound => Some(false),
            Err(_) => None,
        }
    }

    /// Whether the backend says it has no entry for the data key `id` (not merely that it
    /// could not be asked).
    async fn key_is_missing(&self, id: &str) -> bool {
        let name = crypto::backend_key(id);
        matches!(
            self.with_secrets(move |b| b.get(&name)).await,
            Err(e) if e.kind == crate::ErrorKind::NotFound
        )
    }

    /// A new key, stored in the secrets backend (not yet named current).
    async fn new_key(&self) -> Result<DataKey, AppError> {
        let made = DataKey::generate();
        let (name, value) = (crypto::backend_key(&made.id), made.export());
        self.with_secrets(move |b| b.set(&name, &value)).await?;
        Ok(made)
    }

    async fn cache_key(&self, key: DataKey) -> Arc<DataKey> {
        let key = Arc::new(key);
        self.data_keys
            .lock()
            .await
            .insert(key.id.clone(), key.clone());
        key
    }

    /// Deletes a key that sealed nothing from the backend (best effort).
    async fn drop_key(&self, id: &str) {
        let name = crypto::backend_key(id);
        let _ = self.with_secrets(move |b| b.delete(&name)).await;
        self.data_keys.lock().await.remove(id);
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
        let plain = self
            .open_sealed(record, &id.to_string())
            .await
            .map_err(|e| match e {
                Opened::Tampered => AppError::new(
                    crate::ErrorKind::Internal,
                    format!(
                        "the data of handoff {id} fails authentication: it was changed, damaged \
                         or moved from another handoff, and is not used"
                    ),
                ),
                Opened::Other(e) => e,
            })?;
        serde_json::from_slice(&plain).map_err(AppError::internal)
    }

    /// Opens what [`DataKey::seal`] sealed for `aad` with whichever data key it names.
    pub(super) async fn open_sealed(&self, record: &str, aad: &str) -> Result<Vec<u8>, Opened> {
        let key_id = crypto::key_id(record).unwrap_or_default();
        let key = self.data_key(key_id).await.map_err(Opened::Other)?;
        key.open(record, aad).map_err(|e| match e {
            CryptoError::Tampered => Opened::Tampered,
            other => Opened::Other(AppError::internal(other)),
        })
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
    /// encryption, masking what its attempts recorded), then deletes old keys nothing uses any
    /// more once they have been retired for `options.keep_retired` (a send that read the old key
    /// just before the rotation may still be storing data under it). Resumable: when an earlier
    /// rotation was cut short (data still under a retired key), it finishes that one instead of
    /// starting another. Handoffs whose data cannot be opened (their key is missing, or the
    /// record was changed) are skipped and counted. Progress is `(done, total)`.
    pub async fn rotate_data_key(
        &self,
        options: RotationOptions,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<KeyRotation, AppError> {
        let current = self.store.current_data_key().await?;
        let unfinished = match &current {
            Some(c) => self.store.rotation_pending(c).await?,
            None => false,
        };
        let (key, resumed) = match (&current, unfinished) {
            (Some(c), true) => (self.data_key(c).await?, true),
            (None, _) => (self.sealing_key().await?, false),
            (Some(c), false) => {
                let made = self.new_key().await?;
                if !self
                    .store
                    .rotate_in_data_key(Some(c), &made.id, true)
                    .await?
                {
                    self.drop_key(&made.id).await;
                    return Err(AppError::conflict(
                        "another key rotation started at the same time; run keys rotate again \
                         when it has finished",
                    ));
                }
                tracing::info!(key = %made.id, "rotated in a new data key");
                *self.sealing_cache.lock().unwrap_or_else(|p| p.into_inner()) = None;
                (self.cache_key(made).await, false)
            }
        };
        let (total, _) = self.store.unsealed_handoffs(&key.id, "", 0).await?;
        // The limit counts re-sealed handoffs: skipped ones never use it up.
        let budget = options.limit.unwrap_or(u64::MAX).min(total);
        // Skipped: data that cannot be opened; raced: changed while being re-sealed.
        let (mut done, mut skipped, mut raced) = (0u64, 0u64, 0u64);
        let mut after = String::new();
        let mut fields: std::collections::HashMap<String, Vec<crate::integrations::FieldSpec>> =
            Default::default();
        progress(0, budget);
        'pages: while done < budget {
            let batch = 500;
            let (_, rows) = self.store.unsealed_handoffs(&key.id, &after, batch).await?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                after = row.handoff_id.clone();
                let opened = if crypto::is_sealed(&row.data) {
                    match self
                        .data_key(crypto::key_id(&row.data).unwrap_or_default())
                        .await
                    {
                        Ok(old) => old.open(&row.data, &row.handoff_id).ok(),
                        Err(_) => None,
                    }
                } else {
                    Some(row.data.clone().into_bytes())
                };
                let Some(plain) = opened else {
                    tracing::warn!(handoff_id = %row.handoff_id, "not re-sealed: its data cannot be opened");
                    skipped += 1;
                    continue;
                };
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
                let value: Value = serde_json::from_slice(&plain).unwrap_or(Value::Null);
                let masked = match &row.data_masked {
                    Some(m) => m.clone(),
                    None => match &value {
                        Value::Object(m) => {
                            Value::Object(crate::masking::mask_data(specs, m)).to_string()
                        }
                        _ => "{}".to_string(),
                    },
                };
                if !crypto::is_sealed(&row.data) {
                    // Recorded before encryption: its attempts may hold the raw values too.
                    let echo = crate::masking::EchoMask::new(specs, &value);
                    self.store.remask_attempts(&row.handoff_id, &echo).await?;
                }
                let sealed = key.seal(&plain, &row.handoff_id);
                if self
                    .store
                    .reseal_handoff(&row.handoff_id, &row.data, &sealed, &key.id, &masked)
                    .await?
                {
                    done += 1;
                } else if self.store.current_data_key().await?.as_deref() != Some(&key.id) {
                    // Another rotation took over: it finishes the work.
                    break 'pages;
                } else {
                    // Changed meanwhile (a retry does not change data; a rare race): next run.
                    raced += 1;
                }
                if done.is_multiple_of(100) || done == budget {
                    progress(done, budget);
                }
                if done >= budget {
                    break 'pages;
                }
            }
        }
        // The inbox's messages are sealed under the same keys: re-sealed too (all of them; the
        // limit counts handoffs), so the old key can go.
        if done < budget || budget == total {
            let (messages, unreadable) = self.reseal_inbox(&key).await?;
            done += messages;
            skipped += unreadable;
        }
        let (left, _) = self.store.unsealed_handoffs(&key.id, "", 0).await?;
        if raced == 0 && left <= skipped {
            // All that is left cannot be opened: this rotation has done what it can.
            self.store.finish_rotation(&key.id).await?;
        }
        if done > 0
            && let Err(e) = self.store.checkpoint_truncate().await
        {
            tracing::warn!("could not empty the WAL after re-sealing: {e}");
        }
        let mut deleted = 0;
        let now = crate::store::now_ms();
        let keep_ms = i64::try_from(options.keep_retired.as_millis()).unwrap_or(i64::MAX);
        for (old, retired_at) in self.store.retired_data_keys().await? {
            // Only keys nothing uses, retired long enough ago that no send still holds them.
            if now.saturating_sub(retired_at) >= keep_ms && self.store.forget_data_key(&old).await?
            {
                self.drop_key(&old).await;
                deleted += 1;
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
            skipped,
            remaining: left,
            deleted_keys: deleted,
        })
    }
}

/// How a key rotation runs.
#[derive(Debug, Clone)]
pub struct RotationOptions {
    /// Re-seal at most this many handoffs now (all when `None`).
    pub limit: Option<u64>,
    /// Old keys are deleted only after being retired this long.
    pub keep_retired: std::time::Duration,
}

impl Default for RotationOptions {
    fn default() -> Self {
        Self {
            limit: None,
            keep_retired: KEEP_RETIRED,
        }
    }
}

/// How long a retired key stays in the backend at least: far longer than any send takes from
/// reading the current key to storing the sealed data.
pub const KEEP_RETIRED: std::time::Duration = std::time::Duration::from_secs(600);

/// What a key rotation did.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRotation {
    /// The data key everything is (or will be) sealed under.
    pub key: String,
    /// Whether it finished an earlier rotation instead of starting one.
    pub resumed: bool,
    pub resealed: u64,
    /// Handoffs whose data could not be opened (its key is missing, or it was changed).
    pub skipped: u64,
    /// Handoffs still under an old key (or plain); run it again to finish.
    pub remaining: u64,
    /// Old keys deleted from the secrets backend (unused, and retired long enough ago).
    pub deleted_keys: usize,
}

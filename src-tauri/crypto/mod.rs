//! Encryption at rest of collected data: every handoff's data is sealed with AES-256-GCM under
//! the data key before it reaches the store, with a fresh random nonce per record and the
//! handoff's id as associated data (so a record moved to another handoff fails to open).
//!
//! The data key lives in the secrets backend (keyring or vault) as `data-key/<id>`; the store
//! only records which id is current (`data_keys`), so a record names the key that sealed it
//! (`hc1:<key id>:<base64 of nonce ‖ ciphertext>`) and a key rotation can proceed record by
//! record. Without the key the history still opens: statuses, timings and masked copies are
//! plain; only reading the raw data (retry, reveal) needs it.

pub mod bundle;

use crate::secrets::Secret;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// What a sealed record starts with (and the layout version).
const PREFIX: &str = "hc1:";
const NONCE_LEN: usize = 12;
const KEY_LEN: usize = 32;

/// A data key: its id and its 32 bytes (wiped on drop, never printed).
pub struct DataKey {
    pub id: String,
    key: Secret<Vec<u8>>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the data key '{0}' is malformed")]
    BadKey(String),
    #[error("the record is not sealed data")]
    NotSealed,
    #[error("the record was sealed with data key '{0}'")]
    OtherKey(String),
    #[error("the record fails authentication: changed, damaged, or moved from another handoff")]
    Tampered,
}

impl DataKey {
    /// A new random key with a new id.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; KEY_LEN];
        rand::fill(bytes.as_mut_slice());
        Self {
            id: uuid::Uuid::now_v7().simple().to_string(),
            key: Secret::new(bytes),
        }
    }

    /// The key as the secrets backend keeps it (base64).
    pub fn export(&self) -> Secret<String> {
        Secret::new(B64.encode(self.key.expose()))
    }

    /// A key read back from the secrets backend.
    pub fn import(id: &str, encoded: &Secret<String>) -> Result<Self, CryptoError> {
        let bytes = B64
            .decode(encoded.expose().trim())
            .map_err(|_| CryptoError::BadKey(id.to_string()))?;
        if bytes.len() != KEY_LEN {
            return Err(CryptoError::BadKey(id.to_string()));
        }
        Ok(Self {
            id: id.to_string(),
            key: Secret::new(bytes),
        })
    }

    fn cipher(&self) -> Aes256Gcm {
        // The length was checked when the key was made or imported.
        Aes256Gcm::new_from_slice(self.key.expose()).expect("a 32-byte key")
    }

    /// Seals `plain` for the handoff `aad` (its id).
    pub fn seal(&self, plain: &[u8], aad: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: aad.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer");
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}:{}", self.id, B64.encode(out))
    }

    /// Opens a record sealed by this key for the handoff `aad`.
    pub fn open(&self, record: &str, aad: &str) -> Result<Vec<u8>, CryptoError> {
        let (id, body) = parse(record).ok_or(CryptoError::NotSealed)?;
        if id != self.id {
            return Err(CryptoError::OtherKey(id.to_string()));
        }
        let bytes = B64.decode(body).map_err(|_| CryptoError::Tampered)?;
        if bytes.len() < NONCE_LEN + 16 {
            return Err(CryptoError::Tampered);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce).map_err(|_| CryptoError::Tampered)?;
        self.cipher()
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Tampered)
    }
}

/// Whether a stored value is sealed (as opposed to plain JSON from before encryption).
pub fn is_sealed(record: &str) -> bool {
    record.starts_with(PREFIX)
}

/// The id of the key that sealed a record.
pub fn key_id(record: &str) -> Option<&str> {
    parse(record).map(|(id, _)| id)
}

fn parse(record: &str) -> Option<(&str, &str)> {
    record.strip_prefix(PREFIX)?.split_once(':')
}

/// The secrets-backend name of a data key.
pub fn backend_key(id: &str) -> String {
    format!("data-key/{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_record_opens_only_with_its_key_and_its_handoff() {
        let key = DataKey::generate();
        let record = key.seal(br#"{"fullName":"Ann Lee"}"#, "handoff-1");
        assert!(is_sealed(&record));
        assert_eq!(key_id(&record), Some(key.id.as_str()));
        assert!(!record.contains("Ann"));
        assert_eq!(
            key.open(&record, "handoff-1").unwrap(),
            br#"{"fullName":"Ann Lee"}"#
        );
        // Moved to another handoff.
        assert_eq!(key.open(&record, "handoff-2"), Err(CryptoError::Tampered));
        // Another key.
        let other = DataKey::generate();
        assert!(matches!(
            other.open(&record, "handoff-1"),
            Err(CryptoError::OtherKey(_))
        ));
        // Plain data.
        assert_eq!(key.open("{}", "handoff-1"), Err(CryptoError::NotSealed));
    }

    #[test]
    fn every_changed_byte_is_detected_and_nonces_are_fresh() {
        let key = DataKey::generate();
        let record = key.seal(b"abc", "h");
        assert_ne!(record, key.seal(b"abc", "h"), "a fresh nonce each time");
        let prefix = format!("{PREFIX}{}:", key.id);
        let body = B64.decode(&record[prefix.len()..]).unwrap();
        for i in 0..body.len() {
            let mut changed = body.clone();
            changed[i] ^= 0x01;
            let tampered = format!("{prefix}{}", B64.encode(&changed));
            assert_eq!(
                key.open(&tampered, "h"),
                Err(CryptoError::Tampered),
                "byte {i}"
            );
        }
        assert_eq!(
            key.open(&format!("{prefix}!!"), "h"),
            Err(CryptoError::Tampered)
        );
        assert_eq!(key.open(&prefix, "h"), Err(CryptoError::Tampered));
    }

    #[test]
    fn a_key_survives_the_backend_round_trip_and_bad_ones_are_refused() {
        let key = DataKey::generate();
        let again = DataKey::import(&key.id, &key.export()).unwrap();
        let record = key.seal(b"x", "h");
        assert_eq!(again.open(&record, "h").unwrap(), b"x");
        assert!(DataKey::import("k", &Secret::new("c2hvcnQ=".into())).is_err());
        assert!(DataKey::import("k", &Secret::new("not base64!".into())).is_err());
    }
}

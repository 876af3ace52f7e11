//! Key bundles: the data keys of a store, sealed under a passphrase, to move them to another
//! machine's secrets backend (`keys export` / `keys import`), e.g. a second console on a shared
//! store. AES-256-GCM under a key Argon2id derives from the passphrase (the vault's derivation,
//! `secrets::Kdf`); the file names no key material in the clear, only the format.
//!
//! ```text
//! {"format":"handoff-console-keys","version":1,"kdf":{…},"nonce":"…","ciphertext":"…"}
//! ```
//! The sealed text is `{"keys":{"<key id>":"<key, base64>",…}}`.

use crate::secrets::{Kdf, Secret};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use zeroize::Zeroizing;

const FORMAT: &str = "handoff-console-keys";
const VERSION: u32 = 1;
const AAD: &[u8] = b"handoff-console-keys/1";
const NONCE_LEN: usize = 12;
/// A bundle is a few hundred bytes per key; anything far larger is not one.
pub const MAX_BUNDLE_BYTES: usize = 256 * 1024;
/// The shortest passphrase a bundle is sealed under: it guards every key in it.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BundleError {
    #[error("not a key bundle: {0}")]
    Malformed(String),
    #[error(
        "the passphrase is not the one this key bundle was sealed with (or the file was changed)"
    )]
    WrongPassphrase,
    #[error(
        "the passphrase must have at least {MIN_PASSPHRASE_CHARS} characters: it guards every key in the bundle"
    )]
    WeakPassphrase,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleFile {
    format: String,
    version: u32,
    kdf: Kdf,
    nonce: String,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    keys: BTreeMap<String, String>,
}

/// Seals `keys` (id → the key as the secrets backend keeps it) under `passphrase`.
pub fn seal(
    keys: &[(String, Secret<String>)],
    passphrase: &Secret<String>,
) -> Result<String, BundleError> {
    if passphrase.expose().chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(BundleError::WeakPassphrase);
    }
    let kdf = Kdf::new();
    let key = kdf
        .derive(passphrase.expose().as_bytes())
        .map_err(BundleError::Malformed)?;
    let plain = Zeroizing::new(
        serde_json::to_vec(&Keys {
            keys: keys
                .iter()
                .map(|(id, k)| (id.clone(), k.expose().clone()))
                .collect(),
        })
        .map_err(|e| BundleError::Malformed(e.to_string()))?,
    );
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce);
    let ciphertext = cipher(&key)
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &plain,
                aad: AAD,
            },
        )
        .map_err(|e| BundleError::Malformed(format!("encryption failed: {e}")))?;
    serde_json::to_string(&BundleFile {
        format: FORMAT.into(),
        version: VERSION,
        kdf,
        nonce: B64.encode(nonce),
        ciphertext: B64.encode(ciphertext),
    })
    .map_err(|e| BundleError::Malformed(e.to_string()))
}

/// The keys `text` holds (id → the key as the secrets backend keeps it), opened with
/// `passphrase`.
pub fn open(
    text: &str,
    passphrase: &Secret<String>,
) -> Result<Vec<(String, Secret<String>)>, BundleError> {
    if text.len() > MAX_BUNDLE_BYTES {
        return Err(BundleError::Malformed(format!(
            "it is larger than {MAX_BUNDLE_BYTES} bytes"
        )));
    }
    let file: BundleFile = serde_json::from_str(text)
        .map_err(|e| BundleError::Malformed(format!("its contents: {e}")))?;
    if file.format != FORMAT || file.version != VERSION {
        return Err(BundleError::Malformed(format!(
            "its format is {} {}, not {FORMAT} {VERSION}",
            file.format, file.version
        )));
    }
    let nonce: [u8; NONCE_LEN] = B64
        .decode(&file.nonce)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or_else(|| BundleError::Malformed("its nonce".into()))?;
    let ciphertext = B64
        .decode(&file.ciphertext)
        .map_err(|_| BundleError::Malformed("its ciphertext is not base64".into()))?;
    let key = file
        .kdf
        .derive(passphrase.expose().as_bytes())
        .map_err(BundleError::Malformed)?;
    let plain = Zeroizing::new(
        cipher(&key)
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &ciphertext,
                    aad: AAD,
                },
            )
            .map_err(|_| BundleError::WrongPassphrase)?,
    );
    let keys: Keys = serde_json::from_slice(&plain)
        .map_err(|_| BundleError::Malformed("its sealed keys".into()))?;
    Ok(keys
        .keys
        .into_iter()
        .map(|(id, k)| (id, Secret::new(k)))
        .collect())
}

fn cipher(key: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new_from_slice(key).expect("a 32-byte key")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(p: &str) -> Secret<String> {
        Secret::new(p.to_string())
    }

    #[test]
    fn a_bundle_opens_with_its_passphrase_only_and_shows_no_key() {
        // Ids with a `-`, keys longer than a chance match: neither can be in base64 by luck.
        let keys = vec![
            ("key-one".to_string(), pass("S0VZLU9ORS1CWVRFUw==")),
            ("key-two".to_string(), pass("S0VZLVRXTy1CWVRFUw==")),
        ];
        let text = seal(&keys, &pass("correct horse battery")).unwrap();
        assert!(!text.contains("S0VZLU9ORS1CWVRFUw=="), "{text}");
        assert!(!text.contains("key-one"), "key ids are sealed too: {text}");
        let opened = open(&text, &pass("correct horse battery")).unwrap();
        let opened: Vec<(String, String)> = opened
            .into_iter()
            .map(|(id, k)| (id, k.expose().clone()))
            .collect();
        assert_eq!(
            opened,
            [
                ("key-one".to_string(), "S0VZLU9ORS1CWVRFUw==".to_string()),
                ("key-two".to_string(), "S0VZLVRXTy1CWVRFUw==".to_string())
            ]
        );
        assert_eq!(
            open(&text, &pass("correct horse battery!")).unwrap_err(),
            BundleError::WrongPassphrase
        );
        // A changed byte of the ciphertext fails as a wrong passphrase would: nothing opens.
        let mut file: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut ct = B64.decode(file["ciphertext"].as_str().unwrap()).unwrap();
        ct[0] ^= 1;
        file["ciphertext"] = B64.encode(ct).into();
        assert_eq!(
            open(&file.to_string(), &pass("correct horse battery")).unwrap_err(),
            BundleError::WrongPassphrase
        );
    }

    #[test]
    fn weak_passphrases_and_foreign_files_are_refused() {
        assert_eq!(
            seal(&[], &pass("short")).unwrap_err(),
            BundleError::WeakPassphrase
        );
        for text in ["", "{}", r#"{"format":"other","version":1}"#, "[1,2]"] {
            assert!(
                matches!(
                    open(text, &pass("whatever")),
                    Err(BundleError::Malformed(_))
                ),
                "{text}"
            );
        }
    }
}

//! The encrypted-file vault, for machines with no OS keyring: every secret in one file in the
//! data dir (`secrets.vault`), created with the first secret, encrypted with AES-256-GCM under a
//! key derived with Argon2id from the passphrase in `HANDOFF_VAULT_PASSPHRASE`.
//!
//! The file is two lines:
//!
//! ```text
//! handoff-console-vault 1 sha256:<hex of line 2>
//! {"kdf":{"algorithm":"argon2id","memoryKib":..,"iterations":..,"parallelism":..,"salt":".."},
//!  "check":{"nonce":"..","ciphertext":".."},"entries":{"nonce":"..","ciphertext":".."}}
//! ```
//!
//! The checksum makes any damaged byte "damaged" (not "wrong passphrase"); `check` is a known
//! text encrypted under the key, so a failure there means the passphrase is not the vault's;
//! `entries` (the whole map as JSON) failing after `check` passed means it was tampered with
//! (the checksum was recomputed). Every write encrypts with fresh random nonces and replaces
//! the file atomically (temp file + rename) under an exclusive lock on `secrets.vault.lock`, so
//! concurrent writers (threads or processes) neither lose an update nor tear the file.

use super::{Secret, SecretsBackend, SecretsError, SecretsStatus};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use zeroize::{Zeroize, Zeroizing};

/// The vault's file name in the data dir.
pub const VAULT_FILE: &str = "secrets.vault";
/// The environment variable the vault's passphrase is read from.
pub const PASSPHRASE_ENV: &str = "HANDOFF_VAULT_PASSPHRASE";
/// The most a vault file may hold; a larger file is refused unread (it is not ours).
pub const MAX_VAULT_BYTES: usize = 1024 * 1024;

const MAGIC: &str = "handoff-console-vault";
const FORMAT_VERSION: u32 = 1;
const CHECK_TEXT: &[u8] = b"handoff-console vault key check";
const CHECK_AAD: &[u8] = b"handoff-console-vault/1/check";
const ENTRIES_AAD: &[u8] = b"handoff-console-vault/1/entries";
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 12;

/// Argon2id's cost for new vaults: OWASP's minimum (19 MiB, 2 passes, 1 lane), ~50 ms on a
/// laptop. Kept in the file, so a later version can raise it for new vaults.
const NEW_KDF: (u32, u32, u32) = (19 * 1024, 2, 1);
/// The most a file may ask for: a damaged or hostile file must not make opening it take
/// gigabytes or minutes.
const MAX_MEMORY_KIB: u32 = 1024 * 1024;
const MAX_ITERATIONS: u32 = 16;
const MAX_PARALLELISM: u32 = 8;

/// How a key is derived from a passphrase (Argon2id, its cost and salt): kept beside what the
/// key sealed (the vault file, a key bundle of `crypto::bundle`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Kdf {
    algorithm: String,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    salt: String,
}

impl Kdf {
    /// Argon2id at the cost new vaults get, with a fresh random salt.
    pub(crate) fn new() -> Self {
        new_kdf()
    }

    /// Why this console refuses to derive with it (an unknown algorithm, or a cost a damaged or
    /// hostile file must not impose: gigabytes, minutes), if it does.
    fn refusal(&self) -> Option<String> {
        (self.algorithm != "argon2id"
            || self.memory_kib > MAX_MEMORY_KIB
            || self.iterations > MAX_ITERATIONS
            || self.parallelism > MAX_PARALLELISM)
            .then(|| {
                format!(
                    "its key derivation ({}, {} KiB, {} passes, {} lanes) is not one this \
                     console accepts",
                    self.algorithm, self.memory_kib, self.iterations, self.parallelism
                )
            })
    }

    /// The 32-byte key derived from `passphrase`; the error says what in `self` is wrong.
    pub(crate) fn derive(&self, passphrase: &[u8]) -> Result<Zeroizing<[u8; 32]>, String> {
        if let Some(refusal) = self.refusal() {
            return Err(refusal);
        }
        let salt = B64
            .decode(&self.salt)
            .map_err(|_| "the salt is not base64".to_string())?;
        let params =
            argon2::Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
                .map_err(|e| format!("the key derivation's parameters: {e}"))?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut key = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passphrase, &salt, key.as_mut_slice())
            .map_err(|e| format!("the key derivation: {e}"))?;
        Ok(key)
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sealed {
    nonce: String,
    ciphertext: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VaultFile {
    kdf: Kdf,
    check: Sealed,
    entries: Sealed,
}

/// The decrypted map; its values are wiped when it is dropped.
#[derive(Default, Serialize, Deserialize)]
#[serde(transparent)]
struct Entries(BTreeMap<String, String>);

/// The keys only: the values are secrets.
impl std::fmt::Debug for Entries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Drop for Entries {
    fn drop(&mut self) {
        self.0.values_mut().for_each(Zeroize::zeroize);
    }
}

/// A key derived for one salt and cost; derived once per process, not per call.
struct DerivedKey {
    kdf: Kdf,
    key: Zeroizing<[u8; 32]>,
}

/// The vault at one path. Reading the passphrase, deriving the key and touching the file all
/// wait for the first call, so a console whose vault is not set up still opens (and says so
/// when a secret is needed, or in `secrets status`).
pub struct VaultBackend {
    path: PathBuf,
    passphrase: Option<Secret<String>>,
    key: Mutex<Option<DerivedKey>>,
}

impl std::fmt::Debug for VaultBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultBackend")
            .field("path", &self.path)
            .field("passphrase", &self.passphrase.as_ref().map(|_| "***"))
            .finish()
    }
}

impl VaultBackend {
    /// The vault in `data_dir` with the passphrase from `HANDOFF_VAULT_PASSPHRASE` (an unset
    /// or empty variable is reported when a secret is first needed).
    pub fn from_env(data_dir: &Path) -> Self {
        let passphrase = std::env::var(PASSPHRASE_ENV).ok().map(Secret::new);
        Self::new(data_dir.join(VAULT_FILE), passphrase)
    }

    pub fn new(path: PathBuf, passphrase: Option<Secret<String>>) -> Self {
        let passphrase = passphrase.filter(|p| !p.expose().is_empty());
        Self {
            path,
            passphrase,
            key: Mutex::new(None),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn passphrase(&self) -> Result<&[u8], SecretsError> {
        self.passphrase
            .as_ref()
            .map(|p| p.expose().as_bytes())
            .ok_or(SecretsError::PassphraseNotSet)
    }

    fn damaged(&self, reason: impl Into<String>) -> SecretsError {
        SecretsError::VaultDamaged {
            path: self.path.display().to_string(),
            reason: reason.into(),
        }
    }

    fn io_error(&self, doing: &str, e: std::io::Error) -> SecretsError {
        SecretsError::VaultUnreadable {
            path: self.path.display().to_string(),
            reason: format!("{doing}: {e}"),
        }
    }

    /// The cipher for `kdf`: the cached key when the salt and cost match, else derived now.
    fn cipher(&self, kdf: &Kdf) -> Result<Aes256Gcm, SecretsError> {
        let mut cached = self.key.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = cached.as_ref().filter(|k| k.kdf == *kdf) {
            return Aes256Gcm::new_from_slice(k.key.as_slice())
                .map_err(|e| SecretsError::Backend(e.to_string()));
        }
        let key = kdf
            .derive(self.passphrase()?)
            .map_err(|reason| self.damaged(reason))?;
        let cipher = Aes256Gcm::new_from_slice(key.as_slice())
            .map_err(|e| SecretsError::Backend(e.to_string()))?;
        *cached = Some(DerivedKey {
            kdf: kdf.clone(),
            key,
        });
        Ok(cipher)
    }

    /// The file's bytes, or `None` when there is no vault yet.
    fn read_file(&self) -> Result<Option<Vec<u8>>, SecretsError> {
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io_error("cannot open it", e)),
        };
        let mut bytes = Vec::new();
        file.take(MAX_VAULT_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| self.io_error("cannot read it", e))?;
        if bytes.len() > MAX_VAULT_BYTES {
            return Err(self.damaged(format!("it is larger than {MAX_VAULT_BYTES} bytes")));
        }
        Ok(Some(bytes))
    }

    /// Checks, parses and decrypts a vault file.
    fn open(&self, bytes: &[u8]) -> Result<(Kdf, Entries), SecretsError> {
        let text = std::str::from_utf8(bytes).map_err(|_| self.damaged("it is not text"))?;
        let (header, body) = text
            .split_once('\n')
            .ok_or_else(|| self.damaged("it has no header line"))?;
        let mut words = header.split(' ');
        if words.next() != Some(MAGIC) {
            return Err(self.damaged("it does not start with the vault header"));
        }
        match words.next().map(str::parse::<u32>) {
            Some(Ok(FORMAT_VERSION)) => {}
            Some(Ok(v)) => {
                return Err(self.damaged(format!(
                    "its format version {v} is not one this console reads (a newer console wrote it?)"
                )));
            }
            _ => return Err(self.damaged("its header has no format version")),
        }
        let body = body.strip_suffix('\n').unwrap_or(body);
        let expected = words
            .next()
            .and_then(|w| w.strip_prefix("sha256:"))
            .ok_or_else(|| self.damaged("its header has no checksum"))?;
        if words.next().is_some() || !expected.eq_ignore_ascii_case(&sha256_hex(body.as_bytes())) {
            return Err(self.damaged("its checksum does not match its contents"));
        }
        let file: VaultFile = serde_json::from_str(body)
            .map_err(|e| self.damaged(format!("its contents are not a vault: {e}")))?;
        let kdf = &file.kdf;
        if let Some(refusal) = kdf.refusal() {
            return Err(self.damaged(refusal));
        }
        let cipher = self.cipher(kdf)?;
        let check = self.unseal(&cipher, &file.check, CHECK_AAD)?;
        if check.is_none_or(|c| c.as_slice() != CHECK_TEXT) {
            return Err(SecretsError::WrongPassphrase {
                path: self.path.display().to_string(),
            });
        }
        let plain = self
            .unseal(&cipher, &file.entries, ENTRIES_AAD)?
            .ok_or_else(|| self.damaged("its entries fail authentication (tampered with)"))?;
        let entries: Entries = serde_json::from_slice(&plain)
            .map_err(|_| self.damaged("its decrypted entries are not a map"))?;
        Ok((file.kdf, entries))
    }

    /// Decrypts one sealed part: `None` when authentication fails (a wrong key or a changed
    /// byte), an error when it is not even shaped like one.
    fn unseal(
        &self,
        cipher: &Aes256Gcm,
        sealed: &Sealed,
        aad: &[u8],
    ) -> Result<Option<Zeroizing<Vec<u8>>>, SecretsError> {
        let nonce = B64
            .decode(&sealed.nonce)
            .ok()
            .and_then(|n| Nonce::try_from(n.as_slice()).ok())
            .ok_or_else(|| self.damaged("a nonce is malformed"))?;
        let ciphertext = B64
            .decode(&sealed.ciphertext)
            .map_err(|_| self.damaged("a ciphertext is not base64"))?;
        Ok(cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: &ciphertext,
                    aad,
                },
            )
            .ok()
            .map(Zeroizing::new))
    }

    fn seal(&self, cipher: &Aes256Gcm, plain: &[u8], aad: &[u8]) -> Result<Sealed, SecretsError> {
        // A fresh random nonce for every encryption: a nonce is never reused under a key.
        let nonce_bytes: [u8; NONCE_LEN] = random_bytes();
        let nonce = Nonce::from(nonce_bytes);
        let ciphertext = cipher
            .encrypt(&nonce, Payload { msg: plain, aad })
            .map_err(|e| SecretsError::Backend(format!("encryption failed: {e}")))?;
        Ok(Sealed {
            nonce: B64.encode(nonce_bytes),
            ciphertext: B64.encode(ciphertext),
        })
    }

    /// The vault's entries, or none when there is no vault yet.
    fn load(&self) -> Result<Option<(Kdf, Entries)>, SecretsError> {
        self.passphrase()?;
        match self.read_file()? {
            None => Ok(None),
            Some(bytes) => self.open(&bytes).map(Some),
        }
    }

    /// Read-modify-write under the exclusive lock, replacing the file atomically. `change`
    /// returns whether it changed anything (nothing is written otherwise).
    fn update(&self, change: impl FnOnce(&mut Entries) -> bool) -> Result<(), SecretsError> {
        self.passphrase()?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| self.io_error("cannot create its folder", e))?;
        let lock_path = self.path.with_extension("vault.lock");
        let lock = private_file(&lock_path, false)
            .map_err(|e| self.io_error("cannot open its lock file", e))?;
        lock.lock()
            .map_err(|e| self.io_error("cannot lock it", e))?;
        let (kdf, mut entries) = match self.load()? {
            Some(found) => found,
            None => (new_kdf(), Entries::default()),
        };
        if !change(&mut entries) {
            return Ok(());
        }
        let cipher = self.cipher(&kdf)?;
        let plain = Zeroizing::new(
            serde_json::to_vec(&entries).map_err(|e| SecretsError::Backend(e.to_string()))?,
        );
        let file = VaultFile {
            check: self.seal(&cipher, CHECK_TEXT, CHECK_AAD)?,
            entries: self.seal(&cipher, &plain, ENTRIES_AAD)?,
            kdf,
        };
        let body =
            serde_json::to_string(&file).map_err(|e| SecretsError::Backend(e.to_string()))?;
        let text = format!(
            "{MAGIC} {FORMAT_VERSION} sha256:{}\n{body}\n",
            sha256_hex(body.as_bytes())
        );
        if text.len() > MAX_VAULT_BYTES {
            return Err(SecretsError::VaultFull {
                path: self.path.display().to_string(),
                limit: MAX_VAULT_BYTES,
            });
        }
        let tmp = self.path.with_extension("vault.tmp");
        let written = private_file(&tmp, true).and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        });
        written
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                self.io_error("cannot write it", e)
            })?;
        // The rename is durable once the folder is synced (best effort: not every OS allows
        // opening a folder).
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        drop(lock);
        Ok(())
    }

    /// How many secrets the vault holds (0 when it does not exist yet).
    pub fn count(&self) -> Result<usize, SecretsError> {
        Ok(self.load()?.map_or(0, |(_, e)| e.0.len()))
    }
}

fn new_kdf() -> Kdf {
    let salt: [u8; SALT_LEN] = random_bytes();
    let (memory_kib, iterations, parallelism) = NEW_KDF;
    Kdf {
        algorithm: "argon2id".into(),
        memory_kib,
        iterations,
        parallelism,
        salt: B64.encode(salt),
    }
}

fn random_bytes<const N: usize>() -> [u8; N] {
    use rand::Rng;
    let mut bytes = [0u8; N];
    // ThreadRng: a CSPRNG seeded (and reseeded) from the OS.
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Opens (creating) a file only its owner can read; `truncate` for the temp file.
fn private_file(path: &Path, truncate: bool) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options
        .read(true)
        .write(true)
        .create(true)
        .truncate(truncate);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

impl SecretsBackend for VaultBackend {
    fn name(&self) -> &'static str {
        "vault"
    }

    fn set(&self, key: &str, value: &Secret<String>) -> Result<(), SecretsError> {
        self.update(|entries| {
            if let Some(mut old) = entries.0.insert(key.to_string(), value.expose().clone()) {
                old.zeroize();
            }
            true
        })
    }

    fn get(&self, key: &str) -> Result<Secret<String>, SecretsError> {
        let missing = || SecretsError::Missing {
            what: key.to_string(),
        };
        let (_, mut entries) = self.load()?.ok_or_else(missing)?;
        entries.0.remove(key).map(Secret::new).ok_or_else(missing)
    }

    fn delete(&self, key: &str) -> Result<(), SecretsError> {
        if self.load()?.is_none() {
            return Ok(());
        }
        self.update(|entries| entries.0.remove(key).map(|mut v| v.zeroize()).is_some())
    }

    fn status(&self) -> SecretsStatus {
        let path = Some(self.path.clone());
        match self.count() {
            Ok(n) => SecretsStatus {
                available: true,
                detail: if n == 0 && !self.path.exists() {
                    "no vault yet: it is created with the first secret".into()
                } else {
                    format!("the vault opens with this passphrase; {n} secret(s)")
                },
                path,
                entries: Some(n),
            },
            Err(e) => SecretsStatus {
                available: false,
                detail: e.to_string(),
                path,
                entries: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault(dir: &Path, passphrase: &str) -> VaultBackend {
        VaultBackend::new(
            dir.join(VAULT_FILE),
            Some(Secret::new(passphrase.to_string())),
        )
    }

    #[test]
    fn every_write_uses_fresh_nonces_and_the_file_holds_no_plaintext() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault(dir.path(), "correct horse");
        v.set("a/api.token", &Secret::new("tok-PLAIN-123".into()))
            .unwrap();
        let first = std::fs::read_to_string(&v.path).unwrap();
        v.set("a/api.token", &Secret::new("tok-PLAIN-123".into()))
            .unwrap();
        let second = std::fs::read_to_string(&v.path).unwrap();
        assert!(!first.contains("tok-PLAIN-123"));
        let nonces = |text: &str| -> Vec<String> {
            let file: VaultFile = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
            vec![file.check.nonce, file.entries.nonce]
        };
        let (a, b) = (nonces(&first), nonces(&second));
        assert!(a.iter().all(|n| !b.contains(n)), "{a:?} {b:?}");
        assert_ne!(a[0], a[1]);
    }

    #[test]
    fn a_hostile_cost_is_refused_before_deriving() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault(dir.path(), "pw");
        let kdf = Kdf {
            memory_kib: u32::MAX,
            ..new_kdf()
        };
        let sealed = || Sealed {
            nonce: B64.encode([0u8; NONCE_LEN]),
            ciphertext: String::new(),
        };
        let body = serde_json::to_string(&VaultFile {
            kdf,
            check: sealed(),
            entries: sealed(),
        })
        .unwrap();
        let text = format!("{MAGIC} 1 sha256:{}\n{body}\n", sha256_hex(body.as_bytes()));
        let err = v.open(text.as_bytes()).unwrap_err();
        assert!(matches!(err, SecretsError::VaultDamaged { .. }), "{err}");
    }
}

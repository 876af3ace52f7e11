//! How a source proves a message is its own: Standard Webhooks signatures, an HMAC-SHA256 hex
//! signature header, a shared-secret header or a scoped intake key, checked in constant time.
//!
//! A source's secrets are prepared once into [`Keys`] (decoded, or hashed), and every message is
//! checked against all of them: the first is the current secret, the others are retired ones
//! still accepted while the sender rotates. Every rejection is answered the same way by the
//! listener (a plain 401); [`Rejection`]'s text is for the log and never holds a secret, nor the
//! signature or key that was presented.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::mem::{Discriminant, discriminant};
use subtle::{Choice, ConstantTimeEq};
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

/// How far (seconds) a message's timestamp may be from now, in either direction.
pub const TOLERANCE_SECS: i64 = 300;
/// The most secrets a source may have at once (the current one and retired ones): each message
/// is checked against all of them.
pub const MAX_SECRETS: usize = 8;
/// Bounds of the `webhook-signature` header.
pub const MAX_SIGNATURE_HEADER_BYTES: usize = 8 * 1024;
pub const MAX_SIGNATURES: usize = 16;
/// Bounds of a message id (`webhook-id` or `Idempotency-Key`).
pub const MAX_MESSAGE_ID_CHARS: usize = 200;
pub const MAX_HEADER_NAME_CHARS: usize = 64;
pub const MAX_PREFIX_CHARS: usize = 32;

pub const WEBHOOK_ID: &str = "webhook-id";
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
pub const AUTHORIZATION: &str = "authorization";

/// Headers the listener reads itself, so a source cannot name them for its signature or secret.
pub const RESERVED_HEADERS: [&str; 8] = [
    AUTHORIZATION,
    "content-type",
    "content-length",
    "host",
    IDEMPOTENCY_KEY,
    WEBHOOK_ID,
    WEBHOOK_TIMESTAMP,
    WEBHOOK_SIGNATURE,
];

const WHSEC_PREFIX: &str = "whsec_";
const INTAKE_KEY_PREFIX: &str = "hik_";
/// `whsec_` keys: 16..=64 bytes once decoded.
const WHSEC_BYTES: std::ops::RangeInclusive<usize> = 16..=64;
/// Other secrets: 16..=256 printable ASCII characters.
const TEXT_SECRET_CHARS: std::ops::RangeInclusive<usize> = 16..=256;
/// Base64 of `whsec_` secrets and `v1,` signatures, with or without its padding (senders differ;
/// the reference libraries pad).
const BASE64_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// How a source proves a message is its own (stored as JSON with the source).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[serde(
    tag = "mode",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields,
    from = "VerificationJson"
)]
pub enum Verification {
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp` (integer seconds) and
    /// `webhook-signature` (space-separated `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
    /// entries; any one matching any accepted secret passes). Secrets are `whsec_<base64>`; the
    /// key is the decoded bytes.
    StandardWebhooks,
    /// HMAC-SHA256 of the raw body (or of `"{timestamp}.{body}"` when `timestamp_header` is set)
    /// as hex (either case) in `header`, after `prefix` (its case ignored; e.g.
    /// `X-Signature: sha256=<hex>`). The secret's UTF-8 bytes are the key (as
    /// `openssl dgst -sha256 -hmac KEY` uses it). The timestamp is integer seconds.
    HmacHex {
        header: String,
        #[serde(default)]
        prefix: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(test, ts(optional))]
        timestamp_header: Option<String>,
    },
    /// The secret itself in `header` (e.g. `X-Webhook-Secret`).
    SharedSecret { header: String },
    /// A scoped intake key: `Authorization: Bearer <key>`.
    IntakeKey,
}

/// What [`Verification`] is read from. serde lets a unit variant of an internally tagged enum
/// pass unknown fields (`{"mode":"intakeKey","header":"X"}`), so here those variants are empty
/// structs, where `deny_unknown_fields` holds.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(
    tag = "mode",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
enum VerificationJson {
    StandardWebhooks {},
    HmacHex {
        header: String,
        #[serde(default)]
        prefix: String,
        #[serde(default)]
        timestamp_header: Option<String>,
    },
    SharedSecret {
        header: String,
    },
    IntakeKey {},
}

impl From<VerificationJson> for Verification {
    fn from(json: VerificationJson) -> Self {
        match json {
            VerificationJson::StandardWebhooks {} => Self::StandardWebhooks,
            VerificationJson::HmacHex {
                header,
                prefix,
                timestamp_header,
            } => Self::HmacHex {
                header,
                prefix,
                timestamp_header,
            },
            VerificationJson::SharedSecret { header } => Self::SharedSecret { header },
            VerificationJson::IntakeKey {} => Self::IntakeKey,
        }
    }
}

/// A source's settings or secret that cannot be used; `field` names it as the source's JSON does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct SetupError {
    pub field: &'static str,
    pub reason: String,
}

impl SetupError {
    fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

impl From<SetupError> for crate::error::AppError {
    fn from(e: SetupError) -> Self {
        crate::error::AppError::invalid(e.field, e.reason)
    }
}

/// Why a message was not accepted. For the log only: the listener answers every one with the
/// same plain 401. Holds header names and fixed reasons, never a presented value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("missing header {0}")]
    MissingHeader(String),
    #[error("malformed header {header}: {reason}")]
    MalformedHeader {
        header: String,
        reason: &'static str,
    },
    /// `skew_secs` is the message's timestamp minus now (positive: the sender's clock is ahead).
    #[error(
        "timestamp {skew_secs} s from now, outside the {TOLERANCE_SECS} s tolerance (is the sender's clock right?)"
    )]
    StaleTimestamp { skew_secs: i64 },
    #[error("no signature matches an accepted secret")]
    BadSignature,
    #[error("the presented key or secret matches no accepted one")]
    BadKey,
    /// A bug, not the sender's fault: `verify` was given keys made for another mode.
    #[error("the keys were prepared for another verification mode")]
    KeysForAnotherMode,
}

/// What a verified message said about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// `webhook-id` (Standard Webhooks), otherwise the `Idempotency-Key` header when sent.
    pub message_id: Option<String>,
    /// The signed timestamp (seconds), when the mode has one.
    pub timestamp: Option<i64>,
}

/// A source's secrets, prepared once for [`Verification::verify`]: HMAC keys (decoded) for the
/// signature modes, SHA-256 digests of the secrets for the modes that send the secret itself.
/// Wiped from memory when dropped; its `Debug` shows only how many there are.
pub struct Keys {
    mode: Discriminant<Verification>,
    material: Vec<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("count", &self.material.len())
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// How many secrets are accepted (the current one and retired ones).
    pub fn len(&self) -> usize {
        self.material.len()
    }
    pub fn is_empty(&self) -> bool {
        self.material.is_empty()
    }
}

/// A message's headers. Lookup by name must ignore ASCII case (implementors ensure it).
pub trait Headers {
    fn header(&self, name: &str) -> Option<&str>;
}

/// Name-value pairs (tests, the CLI, what [`Verification::sign`] returns): the first pair whose
/// name matches, ignoring ASCII case.
impl<K: AsRef<str>, V: AsRef<str>> Headers for [(K, V)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Headers for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl Verification {
    /// The mode's wire name (`standardWebhooks`, `hmacHex`, `sharedSecret`, `intakeKey`).
    pub fn mode(&self) -> &'static str {
        match self {
            Self::StandardWebhooks => "standardWebhooks",
            Self::HmacHex { .. } => "hmacHex",
            Self::SharedSecret { .. } => "sharedSecret",
            Self::IntakeKey => "intakeKey",
        }
    }

    /// Checks the header names and prefix an admin chose.
    pub fn validate(&self) -> Result<(), SetupError> {
        match self {
            Self::StandardWebhooks | Self::IntakeKey => Ok(()),
            Self::HmacHex {
                header,
                prefix,
                timestamp_header,
            } => {
                check_header_name("verification.header", header)?;
                check_prefix(prefix)?;
                if let Some(ts) = timestamp_header {
                    check_header_name("verification.timestampHeader", ts)?;
                    if ts.eq_ignore_ascii_case(header) {
                        return Err(SetupError::new(
                            "verification.timestampHeader",
                            "must differ from the signature header",
                        ));
                    }
                }
                Ok(())
            }
            Self::SharedSecret { header } => check_header_name("verification.header", header),
        }
    }

    /// A fresh random secret in this mode's form: `whsec_<base64>` (Standard Webhooks), 64 hex
    /// characters (HMAC hex, shared secret) or `hik_<base64url>` (intake key), of 32 random bytes.
    pub fn new_secret(&self) -> String {
        let bytes = Zeroizing::new(rand::random::<[u8; 32]>());
        match self {
            Self::StandardWebhooks => format!("{WHSEC_PREFIX}{}", STANDARD.encode(*bytes)),
            Self::HmacHex { .. } | Self::SharedSecret { .. } => hex_lower(&*bytes),
            Self::IntakeKey => format!("{INTAKE_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(*bytes)),
        }
    }

    /// Checks a secret an admin supplies: a `whsec_` secret must decode to 16..=64 bytes; the
    /// others must be 16..=256 printable ASCII characters without whitespace.
    pub fn check_secret(&self, secret: &str) -> Result<(), SetupError> {
        self.key_material(secret).map(drop)
    }

    /// Prepares the accepted secrets once: `secrets[0]` is the current one, the rest are retired
    /// ones still accepted during a rotation.
    pub fn keys(&self, secrets: &[impl AsRef<str>]) -> Result<Keys, SetupError> {
        if secrets.is_empty() {
            return Err(SetupError::new("secret", "at least one secret is needed"));
        }
        if secrets.len() > MAX_SECRETS {
            return Err(SetupError::new(
                "secret",
                format!("at most {MAX_SECRETS} secrets may be accepted at once"),
            ));
        }
        let mut material = Vec::with_capacity(secrets.len());
        for (i, secret) in secrets.iter().enumerate() {
            let key = self.key_material(secret.as_ref()).map_err(|e| match i {
                0 => e,
                _ => SetupError::new(e.field, format!("retired secret {i}: {}", e.reason)),
            })?;
            material.push(key);
        }
        Ok(Keys {
            mode: discriminant(self),
            material,
        })
    }

    /// Checks a message: its headers and body against every accepted key, its timestamp (when
    /// the mode has one) against `now_secs`.
    pub fn verify(
        &self,
        keys: &Keys,
        headers: &(impl Headers + ?Sized),
        body: &[u8],
        now_secs: i64,
    ) -> Result<Verified, Rejection> {
        if keys.mode != discriminant(self) {
            return Err(Rejection::KeysForAnotherMode);
        }
        match self {
            Self::StandardWebhooks => verify_standard_webhooks(keys, headers, body, now_secs),
            Self::HmacHex {
                header,
                prefix,
                timestamp_header,
            } => {
                let value = required(headers, header)?;
                let presented = strip_prefix_ignore_ascii_case(value, prefix)
                    .ok_or_else(|| malformed(header, "does not start with the expected prefix"))?;
                let presented = decode_hex_32(presented)
                    .ok_or_else(|| malformed(header, "is not 64 hexadecimal digits"))?;
                let timestamp = match timestamp_header {
                    Some(name) => {
                        let text = required(headers, name)?;
                        Some((text, timestamp(name, text, now_secs)?))
                    }
                    None => None,
                };
                let message_id = idempotency_key(headers)?;
                let mut matched = Choice::from(0);
                for key in &keys.material {
                    let mut mac = hmac(key);
                    if let Some((text, _)) = timestamp {
                        mac.update(text.as_bytes());
                        mac.update(b".");
                    }
                    mac.update(body);
                    matched |= mac.finalize().into_bytes().as_slice().ct_eq(&presented);
                }
                if bool::from(matched) {
                    Ok(Verified {
                        message_id,
                        timestamp: timestamp.map(|(_, t)| t),
                    })
                } else {
                    Err(Rejection::BadSignature)
                }
            }
            Self::SharedSecret { header } => {
                let presented = required(headers, header)?;
                verify_digest(keys, presented)?;
                Ok(Verified {
                    message_id: idempotency_key(headers)?,
                    timestamp: None,
                })
            }
            Self::IntakeKey => {
                let value = required(headers, AUTHORIZATION)?;
                let presented = bearer_token(value)
                    .ok_or_else(|| malformed(AUTHORIZATION, "is not a Bearer credential"))?;
                verify_digest(keys, presented)?;
                Ok(Verified {
                    message_id: idempotency_key(headers)?,
                    timestamp: None,
                })
            }
        }
    }

    /// The headers a sender sends with `body` (the console's signed test event, the benchmark's
    /// clients): the mode's signature, secret or key, and the message id (`webhook-id`, or
    /// `Idempotency-Key`).
    pub fn sign(
        &self,
        secret: &str,
        message_id: &str,
        now_secs: i64,
        body: &[u8],
    ) -> Result<Vec<(String, String)>, SetupError> {
        self.validate()?;
        let key = self.key_material(secret)?;
        if !is_message_id(message_id) {
            return Err(SetupError::new(
                "messageId",
                format!("must be 1 to {MAX_MESSAGE_ID_CHARS} printable ASCII characters"),
            ));
        }
        if now_secs < 0 {
            return Err(SetupError::new("timestamp", "must not be negative"));
        }
        let timestamp = now_secs.to_string();
        let idempotency = (IDEMPOTENCY_KEY.to_owned(), message_id.to_owned());
        Ok(match self {
            Self::StandardWebhooks => {
                let mut mac = hmac(&key);
                for part in [
                    message_id.as_bytes(),
                    b".",
                    timestamp.as_bytes(),
                    b".",
                    body,
                ] {
                    mac.update(part);
                }
                let signature = STANDARD.encode(mac.finalize().into_bytes());
                vec![
                    (WEBHOOK_ID.to_owned(), message_id.to_owned()),
                    (WEBHOOK_TIMESTAMP.to_owned(), timestamp),
                    (WEBHOOK_SIGNATURE.to_owned(), format!("v1,{signature}")),
                ]
            }
            Self::HmacHex {
                header,
                prefix,
                timestamp_header,
            } => {
                let mut mac = hmac(&key);
                let mut headers = Vec::with_capacity(3);
                if let Some(name) = timestamp_header {
                    mac.update(timestamp.as_bytes());
                    mac.update(b".");
                    headers.push((name.clone(), timestamp));
                }
                mac.update(body);
                let signature = hex_lower(&mac.finalize().into_bytes());
                headers.push((header.clone(), format!("{prefix}{signature}")));
                headers.push(idempotency);
                headers
            }
            Self::SharedSecret { header } => vec![(header.clone(), secret.to_owned()), idempotency],
            Self::IntakeKey => vec![
                (AUTHORIZATION.to_owned(), format!("Bearer {secret}")),
                idempotency,
            ],
        })
    }

    /// What [`Keys`] holds for one secret: the HMAC key, or the digest of the secret itself.
    fn key_material(&self, secret: &str) -> Result<Zeroizing<Vec<u8>>, SetupError> {
        match self {
            Self::StandardWebhooks => {
                let encoded = secret.strip_prefix(WHSEC_PREFIX).ok_or_else(|| {
                    SetupError::new("secret", format!("must start with {WHSEC_PREFIX}"))
                })?;
                let key = Zeroizing::new(BASE64_ANY_PADDING.decode(encoded).map_err(|_| {
                    SetupError::new("secret", format!("must be {WHSEC_PREFIX} and base64"))
                })?);
                if !WHSEC_BYTES.contains(&key.len()) {
                    return Err(SetupError::new(
                        "secret",
                        format!(
                            "must decode to {} to {} bytes",
                            WHSEC_BYTES.start(),
                            WHSEC_BYTES.end()
                        ),
                    ));
                }
                Ok(key)
            }
            Self::HmacHex { .. } | Self::SharedSecret { .. } | Self::IntakeKey => {
                let printable = secret.bytes().all(|b| b.is_ascii_graphic());
                if !printable || !TEXT_SECRET_CHARS.contains(&secret.len()) {
                    return Err(SetupError::new(
                        "secret",
                        format!(
                            "must be {} to {} printable ASCII characters without spaces",
                            TEXT_SECRET_CHARS.start(),
                            TEXT_SECRET_CHARS.end()
                        ),
                    ));
                }
                Ok(Zeroizing::new(match self {
                    Self::HmacHex { .. } => secret.as_bytes().to_vec(),
                    _ => Sha256::digest(secret.as_bytes()).to_vec(),
                }))
            }
        }
    }
}

fn verify_standard_webhooks(
    keys: &Keys,
    headers: &(impl Headers + ?Sized),
    body: &[u8],
    now_secs: i64,
) -> Result<Verified, Rejection> {
    let id = required(headers, WEBHOOK_ID)?;
    let timestamp_text = required(headers, WEBHOOK_TIMESTAMP)?;
    let signatures = required(headers, WEBHOOK_SIGNATURE)?;
    if !is_message_id(id) {
        return Err(malformed(
            WEBHOOK_ID,
            "is not 1 to 200 printable ASCII characters",
        ));
    }
    let timestamp = timestamp(WEBHOOK_TIMESTAMP, timestamp_text, now_secs)?;
    let presented = v1_signatures(signatures)?;
    let mut matched = Choice::from(0);
    for key in &keys.material {
        let mut mac = hmac(key);
        for part in [id.as_bytes(), b".", timestamp_text.as_bytes(), b".", body] {
            mac.update(part);
        }
        let expected = mac.finalize().into_bytes();
        // Every entry against every key: the time taken says nothing about which one matched.
        for signature in &presented {
            matched |= expected.as_slice().ct_eq(signature);
        }
    }
    if bool::from(matched) {
        Ok(Verified {
            message_id: Some(id.to_owned()),
            timestamp: Some(timestamp),
        })
    } else {
        Err(Rejection::BadSignature)
    }
}

/// The `v1` entries of a `webhook-signature` header that decode to a SHA-256 MAC. Entries of
/// other versions, and `v1` entries that cannot be a MAC, are passed over (a sender may add
/// newer schemes beside `v1`).
fn v1_signatures(header: &str) -> Result<Vec<[u8; 32]>, Rejection> {
    if header.len() > MAX_SIGNATURE_HEADER_BYTES {
        return Err(malformed(WEBHOOK_SIGNATURE, "is longer than 8 KiB"));
    }
    let entries = header.split(' ').filter(|e| !e.is_empty());
    if entries.clone().count() > MAX_SIGNATURES {
        return Err(malformed(WEBHOOK_SIGNATURE, "has more than 16 signatures"));
    }
    let mut found = Vec::new();
    for entry in entries {
        let Some(("v1", encoded)) = entry.split_once(',') else {
            continue;
        };
        // Room for more than 32 bytes, so that a longer value fails the length check instead
        // of being cut.
        let mut decoded = [0u8; 48];
        if let Ok(32) = BASE64_ANY_PADDING.decode_slice(encoded, &mut decoded) {
            let mut signature = [0u8; 32];
            signature.copy_from_slice(&decoded[..32]);
            found.push(signature);
        }
    }
    if found.is_empty() {
        return Err(malformed(WEBHOOK_SIGNATURE, "has no v1 signature"));
    }
    Ok(found)
}

/// Compares the SHA-256 of a presented secret or key with every accepted one's: in constant
/// time, and without revealing the accepted secrets' lengths.
fn verify_digest(keys: &Keys, presented: &str) -> Result<(), Rejection> {
    let digest = Sha256::digest(presented.as_bytes());
    let mut matched = Choice::from(0);
    for expected in &keys.material {
        matched |= expected.as_slice().ct_eq(digest.as_slice());
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(Rejection::BadKey)
    }
}

fn hmac(key: &[u8]) -> HmacSha256 {
    <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

fn required<'h>(headers: &'h (impl Headers + ?Sized), name: &str) -> Result<&'h str, Rejection> {
    headers
        .header(name)
        .ok_or_else(|| Rejection::MissingHeader(name.to_owned()))
}

fn malformed(header: &str, reason: &'static str) -> Rejection {
    Rejection::MalformedHeader {
        header: header.to_owned(),
        reason,
    }
}

/// A timestamp header: integer seconds (ASCII digits), within [`TOLERANCE_SECS`] of now.
fn timestamp(header: &str, text: &str, now_secs: i64) -> Result<i64, Rejection> {
    // Digits only (no sign, no fraction); 18 of them always fit an i64 and are far past any
    // real clock.
    let digits = !text.is_empty() && text.len() <= 18 && text.bytes().all(|b| b.is_ascii_digit());
    let seconds = digits
        .then(|| text.parse::<i64>().ok())
        .flatten()
        .ok_or_else(|| malformed(header, "is not integer seconds"))?;
    if seconds.abs_diff(now_secs) > TOLERANCE_SECS.unsigned_abs() {
        return Err(Rejection::StaleTimestamp {
            skew_secs: seconds.saturating_sub(now_secs),
        });
    }
    Ok(seconds)
}

fn idempotency_key(headers: &(impl Headers + ?Sized)) -> Result<Option<String>, Rejection> {
    match headers.header(IDEMPOTENCY_KEY) {
        None => Ok(None),
        Some(id) if is_message_id(id) => Ok(Some(id.to_owned())),
        Some(_) => Err(malformed(
            IDEMPOTENCY_KEY,
            "is not 1 to 200 printable ASCII characters",
        )),
    }
}

/// 1..=200 printable ASCII characters (spaces only inside).
fn is_message_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    (1..=MAX_MESSAGE_ID_CHARS).contains(&bytes.len())
        && bytes.iter().all(|b| (0x20..=0x7e).contains(b))
        && bytes.first() != Some(&b' ')
        && bytes.last() != Some(&b' ')
}

/// The credential of `Bearer <token>` (the scheme's case ignored, as HTTP says).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim_start_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn strip_prefix_ignore_ascii_case<'v>(value: &'v str, prefix: &str) -> Option<&'v str> {
    let head = value.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &value[prefix.len()..])
}

fn decode_hex_32(text: &str) -> Option<[u8; 32]> {
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
    }
    Some(out)
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// An HTTP header name (RFC 9110 token), not too long, and not one the listener reads itself.
fn check_header_name(field: &'static str, name: &str) -> Result<(), SetupError> {
    const TOKEN_SYMBOLS: &[u8] = b"!#$%&'*+-.^_`|~";
    if name.is_empty() || name.len() > MAX_HEADER_NAME_CHARS {
        return Err(SetupError::new(
            field,
            format!("must be 1 to {MAX_HEADER_NAME_CHARS} characters"),
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || TOKEN_SYMBOLS.contains(&b))
    {
        return Err(SetupError::new(
            field,
            "is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)",
        ));
    }
    if RESERVED_HEADERS
        .iter()
        .any(|reserved| reserved.eq_ignore_ascii_case(name))
    {
        return Err(SetupError::new(
            field,
            format!("{name} is read by the intake listener itself; choose another header"),
        ));
    }
    Ok(())
}

fn check_prefix(prefix: &str) -> Result<(), SetupError> {
    let printable = prefix.bytes().all(|b| (0x20..=0x7e).contains(&b));
    if prefix.len() > MAX_PREFIX_CHARS || !printable || prefix.starts_with(' ') {
        return Err(SetupError::new(
            "verification.prefix",
            format!(
                "must be at most {MAX_PREFIX_CHARS} printable ASCII characters, not starting with a space"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;

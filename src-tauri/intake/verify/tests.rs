//! The verification modes against their own signing, hand-made bad input, a known answer, and
//! seeded random input.

use super::*;
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};

const NOW: i64 = 1_700_000_000;
const BODY: &[u8] = br#"{"type":"patient.created","data":{"id":42}}"#;

fn hmac_hex(timestamp_header: Option<&str>) -> Verification {
    Verification::HmacHex {
        header: "X-Signature".into(),
        prefix: "sha256=".into(),
        timestamp_header: timestamp_header.map(Into::into),
    }
}

fn shared_secret() -> Verification {
    Verification::SharedSecret {
        header: "X-Webhook-Secret".into(),
    }
}

fn every_mode() -> Vec<Verification> {
    vec![
        Verification::StandardWebhooks,
        hmac_hex(None),
        hmac_hex(Some("X-Signature-Timestamp")),
        shared_secret(),
        Verification::IntakeKey,
    ]
}

fn keys_of(mode: &Verification, secret: &str) -> Keys {
    mode.keys(&[secret]).expect("the test's secret is valid")
}

fn signed(mode: &Verification, secret: &str, now: i64, body: &[u8]) -> Vec<(String, String)> {
    mode.sign(secret, "msg_1", now, body)
        .expect("the test's inputs are valid")
}

fn without(headers: &[(String, String)], name: &str) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case(name))
        .cloned()
        .collect()
}

fn with(headers: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut out = without(headers, name);
    out.push((name.to_owned(), value.to_owned()));
    out
}

fn malformed_header(r: &Result<Verified, Rejection>) -> Option<&str> {
    match r {
        Err(Rejection::MalformedHeader { header, .. }) => Some(header.as_str()),
        _ => None,
    }
}

#[test]
fn the_json_form_is_tagged_by_mode_in_camel_case() {
    let cases = [
        (
            r#"{"mode":"standardWebhooks"}"#,
            Verification::StandardWebhooks,
        ),
        (r#"{"mode":"intakeKey"}"#, Verification::IntakeKey),
        (
            r#"{"mode":"sharedSecret","header":"X-Webhook-Secret"}"#,
            shared_secret(),
        ),
        (
            r#"{"mode":"hmacHex","header":"X-Signature","prefix":"sha256=","timestampHeader":"X-Signature-Timestamp"}"#,
            hmac_hex(Some("X-Signature-Timestamp")),
        ),
    ];
    for (json, expected) in cases {
        let parsed: Verification = serde_json::from_str(json).expect(json);
        assert_eq!(parsed, expected, "{json}");
        let again: Verification =
            serde_json::from_str(&serde_json::to_string(&parsed).unwrap()).unwrap();
        assert_eq!(again, expected);
    }
    assert_eq!(
        serde_json::to_value(hmac_hex(None)).unwrap(),
        serde_json::json!({"mode": "hmacHex", "header": "X-Signature", "prefix": "sha256="})
    );
    // prefix and timestampHeader may be left out.
    let minimal: Verification =
        serde_json::from_str(r#"{"mode":"hmacHex","header":"X-Sig"}"#).unwrap();
    assert_eq!(
        minimal,
        Verification::HmacHex {
            header: "X-Sig".into(),
            prefix: String::new(),
            timestamp_header: None
        }
    );
    for bad in [
        r#"{"mode":"hmacHex","header":"X-Sig","prefx":"sha256="}"#,
        r#"{"mode":"hmac_hex","header":"X-Sig"}"#,
        r#"{"mode":"sharedSecret"}"#,
        r#"{"mode":"intakeKey","header":"X-Key"}"#,
        r#"{"mode":"standardWebhooks","secret":"whsec_x"}"#,
        r#"{"header":"X-Sig"}"#,
    ] {
        assert!(
            serde_json::from_str::<Verification>(bad).is_err(),
            "accepted {bad}"
        );
    }
}

#[test]
fn what_each_mode_signs_verifies() {
    for mode in every_mode() {
        let secret = mode.new_secret();
        let headers = signed(&mode, &secret, NOW, BODY);
        let verified = mode
            .verify(&keys_of(&mode, &secret), &headers, BODY, NOW)
            .unwrap_or_else(|r| panic!("{mode:?}: {r}"));
        assert_eq!(verified.message_id.as_deref(), Some("msg_1"), "{mode:?}");
        let timestamped = matches!(
            mode,
            Verification::StandardWebhooks
                | Verification::HmacHex {
                    timestamp_header: Some(_),
                    ..
                }
        );
        assert_eq!(verified.timestamp, timestamped.then_some(NOW), "{mode:?}");
    }
}

#[test]
fn the_standard_webhooks_known_answer_verifies() {
    // The example of the Standard Webhooks reference libraries' tests.
    let mode = Verification::StandardWebhooks;
    let keys = keys_of(&mode, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    let body = br#"{"test": 2432232314}"#;
    let headers = [
        ("Webhook-Id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
        ("Webhook-Timestamp", "1614265330"),
        (
            "Webhook-Signature",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ),
    ];
    let verified = mode.verify(&keys, &headers[..], body, 1_614_265_330 + 10);
    assert_eq!(
        verified,
        Ok(Verified {
            message_id: Some("msg_p5jXN8AQM9LWM0D4loKWxJek".into()),
            timestamp: Some(1_614_265_330),
        })
    );
    let signed = mode
        .sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            body,
        )
        .unwrap();
    assert_eq!(
        signed.header(WEBHOOK_SIGNATURE),
        Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    );
}

#[test]
fn the_hmac_hex_header_is_the_prefix_and_lowercase_hex_and_uppercase_also_verifies() {
    let mode = hmac_hex(None);
    let secret = "0123456789abcdef-not-random";
    let headers = signed(&mode, secret, NOW, BODY);
    let value = headers.header("x-signature").unwrap();
    let hex = value
        .strip_prefix("sha256=")
        .expect("the prefix comes first");
    assert_eq!(hex.len(), 64);
    assert!(
        hex.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    );
    let upper = with(
        &headers,
        "X-Signature",
        &format!("SHA256={}", hex.to_uppercase()),
    );
    assert!(
        mode.verify(&keys_of(&mode, secret), &upper, BODY, NOW)
            .is_ok()
    );
    // No timestamp: the same headers verify at any time.
    assert!(
        mode.verify(&keys_of(&mode, secret), &headers, BODY, 0)
            .is_ok()
    );
}

#[test]
fn another_secret_is_rejected_in_every_mode() {
    for mode in every_mode() {
        let headers = signed(&mode, &mode.new_secret(), NOW, BODY);
        let other = keys_of(&mode, &mode.new_secret());
        let expected = match mode {
            Verification::SharedSecret { .. } | Verification::IntakeKey => Rejection::BadKey,
            _ => Rejection::BadSignature,
        };
        assert_eq!(
            mode.verify(&other, &headers, BODY, NOW),
            Err(expected),
            "{mode:?}"
        );
    }
}

#[test]
fn an_altered_body_or_signed_header_is_rejected() {
    for mode in [
        Verification::StandardWebhooks,
        hmac_hex(None),
        hmac_hex(Some("X-Signature-Timestamp")),
    ] {
        let secret = mode.new_secret();
        let keys = keys_of(&mode, &secret);
        let headers = signed(&mode, &secret, NOW, BODY);
        let altered = br#"{"type":"patient.created","data":{"id":43}}"#;
        assert_eq!(
            mode.verify(&keys, &headers, altered, NOW),
            Err(Rejection::BadSignature),
            "{mode:?}"
        );
        assert_eq!(
            mode.verify(&keys, &headers, b"", NOW),
            Err(Rejection::BadSignature)
        );
    }
    // The id and the timestamp are signed too.
    let mode = Verification::StandardWebhooks;
    let secret = mode.new_secret();
    let headers = signed(&mode, &secret, NOW, BODY);
    let keys = keys_of(&mode, &secret);
    for (name, value) in [(WEBHOOK_ID, "msg_2"), (WEBHOOK_TIMESTAMP, "1700000001")] {
        assert_eq!(
            mode.verify(&keys, &with(&headers, name, value), BODY, NOW),
            Err(Rejection::BadSignature),
            "{name}"
        );
    }
    let mode = hmac_hex(Some("X-Signature-Timestamp"));
    let headers = signed(&mode, "a-secret-of-enough-length", NOW, BODY);
    let changed = with(&headers, "X-Signature-Timestamp", "1700000001");
    assert_eq!(
        mode.verify(
            &keys_of(&mode, "a-secret-of-enough-length"),
            &changed,
            BODY,
            NOW
        ),
        Err(Rejection::BadSignature)
    );
}

#[test]
fn a_timestamp_more_than_five_minutes_away_is_rejected_either_way() {
    for mode in [
        Verification::StandardWebhooks,
        hmac_hex(Some("X-Signature-Timestamp")),
    ] {
        let secret = mode.new_secret();
        let keys = keys_of(&mode, &secret);
        let headers = signed(&mode, &secret, NOW, BODY);
        for now in [NOW - TOLERANCE_SECS, NOW + TOLERANCE_SECS] {
            assert!(mode.verify(&keys, &headers, BODY, now).is_ok(), "{mode:?}");
        }
        // The message is from 301 s ago, or 301 s in the future.
        assert_eq!(
            mode.verify(&keys, &headers, BODY, NOW + TOLERANCE_SECS + 1),
            Err(Rejection::StaleTimestamp { skew_secs: -301 })
        );
        assert_eq!(
            mode.verify(&keys, &headers, BODY, NOW - TOLERANCE_SECS - 1),
            Err(Rejection::StaleTimestamp { skew_secs: 301 })
        );
        for now in [i64::MIN, i64::MAX, 0, -1] {
            assert!(matches!(
                mode.verify(&keys, &headers, BODY, now),
                Err(Rejection::StaleTimestamp { .. })
            ));
        }
    }
}

#[test]
fn each_missing_header_is_named() {
    let cases: Vec<(Verification, Vec<&str>)> = vec![
        (
            Verification::StandardWebhooks,
            vec![WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE],
        ),
        (hmac_hex(None), vec!["X-Signature"]),
        (
            hmac_hex(Some("X-Signature-Timestamp")),
            vec!["X-Signature", "X-Signature-Timestamp"],
        ),
        (shared_secret(), vec!["X-Webhook-Secret"]),
        (Verification::IntakeKey, vec![AUTHORIZATION]),
    ];
    for (mode, names) in cases {
        let secret = mode.new_secret();
        let keys = keys_of(&mode, &secret);
        let headers = signed(&mode, &secret, NOW, BODY);
        for name in names {
            assert_eq!(
                mode.verify(&keys, &without(&headers, name), BODY, NOW),
                Err(Rejection::MissingHeader(name.to_owned())),
                "{mode:?}"
            );
        }
        // The Idempotency-Key is optional outside Standard Webhooks.
        if mode != Verification::StandardWebhooks {
            let verified = mode
                .verify(&keys, &without(&headers, IDEMPOTENCY_KEY), BODY, NOW)
                .unwrap();
            assert_eq!(verified.message_id, None);
        }
    }
}

#[test]
fn header_names_are_matched_ignoring_case() {
    for mode in every_mode() {
        let secret = mode.new_secret();
        let shouted: Vec<(String, String)> = signed(&mode, &secret, NOW, BODY)
            .into_iter()
            .map(|(k, v)| (k.to_uppercase(), v))
            .collect();
        assert!(
            mode.verify(&keys_of(&mode, &secret), &shouted, BODY, NOW)
                .is_ok(),
            "{mode:?}"
        );
    }
}

#[test]
fn malformed_standard_webhooks_headers_are_named() {
    let mode = Verification::StandardWebhooks;
    let secret = mode.new_secret();
    let keys = keys_of(&mode, &secret);
    let headers = signed(&mode, &secret, NOW, BODY);
    let signature = headers.header(WEBHOOK_SIGNATURE).unwrap().to_owned();
    let cases: Vec<(&str, String)> = vec![
        (WEBHOOK_ID, String::new()),
        (WEBHOOK_ID, "x".repeat(201)),
        (WEBHOOK_ID, "msg\u{7f}1".into()),
        (WEBHOOK_ID, "msg_é".into()),
        (WEBHOOK_TIMESTAMP, String::new()),
        (WEBHOOK_TIMESTAMP, "soon".into()),
        (WEBHOOK_TIMESTAMP, "-1700000000".into()),
        (WEBHOOK_TIMESTAMP, "+1700000000".into()),
        (WEBHOOK_TIMESTAMP, "1700000000.5".into()),
        (WEBHOOK_TIMESTAMP, "1.7e9".into()),
        (WEBHOOK_TIMESTAMP, "9".repeat(19)),
        (WEBHOOK_TIMESTAMP, "9".repeat(400)),
        (WEBHOOK_SIGNATURE, String::new()),
        (WEBHOOK_SIGNATURE, "v1".into()),
        (WEBHOOK_SIGNATURE, "v1,not base64!".into()),
        (WEBHOOK_SIGNATURE, "v1,AAAA".into()),
        (WEBHOOK_SIGNATURE, signature.replace("v1,", "v2,")),
        (WEBHOOK_SIGNATURE, signature.replace("v1,", "v1a,")),
        (
            WEBHOOK_SIGNATURE,
            format!("{}{signature}", "v2,AAAA ".repeat(16)),
        ),
        (
            WEBHOOK_SIGNATURE,
            format!("{signature} {}", " ".repeat(8 * 1024)),
        ),
    ];
    for (name, value) in cases {
        let result = mode.verify(&keys, &with(&headers, name, &value), BODY, NOW);
        assert_eq!(
            malformed_header(&result),
            Some(name),
            "{name}: {value:?} gave {result:?}"
        );
    }
}

#[test]
fn one_valid_signature_among_several_passes_and_other_versions_are_ignored() {
    let mode = Verification::StandardWebhooks;
    let secret = mode.new_secret();
    let keys = keys_of(&mode, &secret);
    let headers = signed(&mode, &secret, NOW, BODY);
    let valid = headers.header(WEBHOOK_SIGNATURE).unwrap().to_owned();
    let other = signed(&mode, &mode.new_secret(), NOW, BODY)
        .header(WEBHOOK_SIGNATURE)
        .unwrap()
        .to_owned();
    let v2_of_valid = valid.replace("v1,", "v2,");
    for value in [
        format!("{other} {valid}"),
        format!("{valid} {other}"),
        format!("v1,garbage!! {other}  {valid} v1a,AAAA"),
        format!("{v2_of_valid} v1,AAAA {valid}"),
        format!("{} {valid}", "v2,AAAA ".repeat(15).trim_end()),
    ] {
        assert!(
            mode.verify(&keys, &with(&headers, WEBHOOK_SIGNATURE, &value), BODY, NOW)
                .is_ok(),
            "{value}"
        );
    }
    // A v2 entry holding the v1 MAC is not taken for a v1 one.
    assert_eq!(
        mode.verify(
            &keys,
            &with(
                &headers,
                WEBHOOK_SIGNATURE,
                &format!("{v2_of_valid} {other}")
            ),
            BODY,
            NOW
        ),
        Err(Rejection::BadSignature)
    );
    // Unpadded base64 is read too.
    let unpadded = valid.trim_end_matches('=');
    assert!(
        mode.verify(
            &keys,
            &with(&headers, WEBHOOK_SIGNATURE, unpadded),
            BODY,
            NOW
        )
        .is_ok()
    );
}

#[test]
fn retired_secrets_are_still_accepted_during_a_rotation() {
    for mode in every_mode() {
        let (old, new, unknown) = (mode.new_secret(), mode.new_secret(), mode.new_secret());
        let rotating = mode.keys(&[new.as_str(), old.as_str()]).unwrap();
        assert_eq!(rotating.len(), 2);
        for secret in [&old, &new] {
            let headers = signed(&mode, secret, NOW, BODY);
            assert!(
                mode.verify(&rotating, &headers, BODY, NOW).is_ok(),
                "{mode:?}"
            );
        }
        let headers = signed(&mode, &unknown, NOW, BODY);
        assert!(mode.verify(&rotating, &headers, BODY, NOW).is_err());
        // Once the old secret is dropped, it no longer passes.
        let rotated = mode.keys(&[new.as_str()]).unwrap();
        let headers = signed(&mode, &old, NOW, BODY);
        assert!(mode.verify(&rotated, &headers, BODY, NOW).is_err());
    }
}

#[test]
fn malformed_credentials_of_the_other_modes_are_named() {
    let mode = hmac_hex(None);
    let secret = mode.new_secret();
    let keys_hex = keys_of(&mode, &secret);
    let headers = signed(&mode, &secret, NOW, BODY);
    let hex = headers.header("X-Signature").unwrap()["sha256=".len()..].to_owned();
    for value in [
        hex.clone(),
        format!("sha256={}", &hex[1..]),
        format!("sha256={hex}0"),
        format!("sha256={}g", &hex[1..]),
        format!("sha256={}é", &hex[2..]),
        "sha".to_owned(),
        String::new(),
    ] {
        let result = mode.verify(&keys_hex, &with(&headers, "X-Signature", &value), BODY, NOW);
        assert_eq!(malformed_header(&result), Some("X-Signature"), "{value}");
    }

    let mode = Verification::IntakeKey;
    let key = mode.new_secret();
    let keys_intake = keys_of(&mode, &key);
    let headers = signed(&mode, &key, NOW, BODY);
    for value in ["", "Bearer", "Bearer ", &format!("Basic {key}"), &key] {
        let result = mode.verify(
            &keys_intake,
            &with(&headers, AUTHORIZATION, value),
            BODY,
            NOW,
        );
        assert_eq!(malformed_header(&result), Some(AUTHORIZATION), "{value}");
    }
    for value in [format!("bearer {key}"), format!("BEARER   {key}")] {
        assert!(
            mode.verify(
                &keys_intake,
                &with(&headers, AUTHORIZATION, &value),
                BODY,
                NOW
            )
            .is_ok()
        );
    }
    // The key must match whole: a prefix, or the key with more after it, is another key.
    for value in [
        format!("Bearer {}", &key[..key.len() - 1]),
        format!("Bearer {key}x"),
    ] {
        assert_eq!(
            mode.verify(
                &keys_intake,
                &with(&headers, AUTHORIZATION, &value),
                BODY,
                NOW
            ),
            Err(Rejection::BadKey)
        );
    }

    for value in [
        String::new(),
        "x".repeat(201),
        "id\twith tab".into(),
        " padded".into(),
    ] {
        let result = mode.verify(
            &keys_intake,
            &with(&headers, IDEMPOTENCY_KEY, &value),
            BODY,
            NOW,
        );
        assert_eq!(
            malformed_header(&result),
            Some(IDEMPOTENCY_KEY),
            "{value:?}"
        );
    }
}

#[test]
fn keys_for_another_mode_are_refused() {
    let sw = Verification::StandardWebhooks;
    let secret = sw.new_secret();
    let headers = signed(&sw, &secret, NOW, BODY);
    let hex_keys = keys_of(&hmac_hex(None), "a-secret-of-enough-length");
    assert_eq!(
        sw.verify(&hex_keys, &headers, BODY, NOW),
        Err(Rejection::KeysForAnotherMode)
    );
}

#[test]
fn rejections_and_keys_never_show_the_secret_or_what_was_presented() {
    for mode in every_mode() {
        let secret = mode.new_secret();
        let keys = keys_of(&mode, &secret);
        let headers = signed(&mode, &secret, NOW, BODY);
        let presented: Vec<&str> = headers.iter().map(|(_, v)| v.as_str()).collect();
        let other_keys = mode.keys(&[mode.new_secret()]).unwrap();
        let mut rejections = vec![mode.verify(&other_keys, &headers, BODY, NOW).unwrap_err()];
        if let Err(r) = mode.verify(&keys, &headers, b"changed", NOW + 1000) {
            rejections.push(r);
        }
        for (name, _) in &headers {
            if let Err(r) = mode.verify(&keys, &with(&headers, name, "x"), BODY, NOW) {
                rejections.push(r);
            }
        }
        let shown = format!(
            "{:?} {:?} {keys:?}",
            rejections,
            rejections
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        );
        for value in presented.iter().filter(|v| **v != "msg_1") {
            // Short values (a timestamp) could appear by chance in the numbers.
            if value.len() > 12 {
                assert!(!shown.contains(*value), "{mode:?} shows {value}: {shown}");
            }
        }
        assert!(!shown.contains(&secret), "{mode:?}: {shown}");
        let material = keys
            .material
            .iter()
            .map(|k| hex_lower(k))
            .collect::<Vec<_>>();
        for m in material {
            assert!(!shown.contains(&m));
        }
    }
}

#[test]
fn new_secrets_have_their_mode_form_and_pass_the_secret_check() {
    let sw = Verification::StandardWebhooks.new_secret();
    let encoded = sw.strip_prefix("whsec_").expect("whsec_ prefix");
    assert_eq!(STANDARD.decode(encoded).unwrap().len(), 32);
    let hex = hmac_hex(None).new_secret();
    assert_eq!(hex.len(), 64);
    assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(shared_secret().new_secret().len(), 64);
    let key = Verification::IntakeKey.new_secret();
    let encoded = key.strip_prefix("hik_").expect("hik_ prefix");
    assert_eq!(URL_SAFE_NO_PAD.decode(encoded).unwrap().len(), 32);
    for mode in every_mode() {
        let (a, b) = (mode.new_secret(), mode.new_secret());
        assert_ne!(a, b);
        assert_eq!(mode.check_secret(&a), Ok(()), "{mode:?}");
    }
}

#[test]
fn unusable_secrets_are_refused_naming_the_secret() {
    let sw = Verification::StandardWebhooks;
    for bad in [
        "",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_",
        "whsec_not*base64*at*all*",
        "whsec_AAAAAAAAAAAAAAAAAAAA",
        &format!("whsec_{}", STANDARD.encode([7u8; 65])),
    ] {
        let e = sw.check_secret(bad).unwrap_err();
        assert_eq!(e.field, "secret");
        if bad.len() > 8 {
            assert!(!e.to_string().contains(bad), "{e}");
        }
    }
    for ok in [
        format!("whsec_{}", STANDARD.encode([7u8; 16])),
        format!("whsec_{}", STANDARD.encode([7u8; 64])),
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
    ] {
        assert_eq!(sw.check_secret(&ok), Ok(()), "{ok}");
    }
    for mode in [hmac_hex(None), shared_secret(), Verification::IntakeKey] {
        for bad in [
            "short-secret",
            "sixteen chars ok",
            "tab\tinside-the-secret",
            "non-ascii-sécret-value",
            &"x".repeat(257),
        ] {
            assert_eq!(mode.check_secret(bad).unwrap_err().field, "secret", "{bad}");
        }
        for ok in ["0123456789abcdef", &"~".repeat(256)] {
            assert_eq!(mode.check_secret(ok), Ok(()));
        }
    }
}

#[test]
fn keys_need_one_to_eight_usable_secrets_and_say_which_is_wrong() {
    let mode = Verification::IntakeKey;
    let none: [&str; 0] = [];
    assert_eq!(mode.keys(&none).unwrap_err().field, "secret");
    let nine: Vec<String> = (0..9).map(|_| mode.new_secret()).collect();
    assert!(mode.keys(&nine).is_err());
    assert_eq!(mode.keys(&nine[..8]).unwrap().len(), 8);
    let e = mode.keys(&[nine[0].as_str(), "bad"]).unwrap_err();
    assert!(e.reason.starts_with("retired secret 1:"), "{e}");
    let e = crate::error::AppError::from(e);
    assert_eq!(e.field.as_deref(), Some("secret"));
}

#[test]
fn header_names_and_prefixes_are_checked() {
    let hex = |header: &str, prefix: &str, ts: Option<&str>| Verification::HmacHex {
        header: header.into(),
        prefix: prefix.into(),
        timestamp_header: ts.map(Into::into),
    };
    assert_eq!(hmac_hex(Some("X-Signature-Timestamp")).validate(), Ok(()));
    assert_eq!(shared_secret().validate(), Ok(()));
    assert_eq!(hex("X-Hub-Signature-256", "", None).validate(), Ok(()));
    assert_eq!(
        hex(&"x".repeat(64), &"p".repeat(32), None).validate(),
        Ok(())
    );
    let cases = [
        (hex("", "", None), "verification.header"),
        (hex(&"x".repeat(65), "", None), "verification.header"),
        (hex("X Signature", "", None), "verification.header"),
        (hex("X-Signature:", "", None), "verification.header"),
        (hex("X-Sïgnature", "", None), "verification.header"),
        (hex("Content-Type", "", None), "verification.header"),
        (hex("AUTHORIZATION", "", None), "verification.header"),
        (hex("webhook-signature", "", None), "verification.header"),
        (hex("X-Sig", &"p".repeat(33), None), "verification.prefix"),
        (hex("X-Sig", "sha256=\n", None), "verification.prefix"),
        (hex("X-Sig", " sha256=", None), "verification.prefix"),
        (
            hex("X-Sig", "", Some("x-sig")),
            "verification.timestampHeader",
        ),
        (
            hex("X-Sig", "", Some("Idempotency-Key")),
            "verification.timestampHeader",
        ),
        (hex("X-Sig", "", Some("")), "verification.timestampHeader"),
        (
            Verification::SharedSecret {
                header: "Host".into(),
            },
            "verification.header",
        ),
    ];
    for (mode, field) in cases {
        assert_eq!(mode.validate().unwrap_err().field, field, "{mode:?}");
        // Nothing is signed with an unusable setup either.
        assert!(mode.sign("0123456789abcdef", "m", NOW, BODY).is_err());
    }
}

#[test]
fn sign_refuses_bad_ids_and_negative_times() {
    let mode = Verification::StandardWebhooks;
    let secret = mode.new_secret();
    for id in ["", " x", "a\nb", &"x".repeat(201)] {
        assert_eq!(
            mode.sign(&secret, id, NOW, BODY).unwrap_err().field,
            "messageId"
        );
    }
    assert_eq!(
        mode.sign(&secret, "m", -1, BODY).unwrap_err().field,
        "timestamp"
    );
    assert_eq!(
        mode.sign("whsec_x", "m", NOW, BODY).unwrap_err().field,
        "secret"
    );
}

// Random input, from a fixed seed so a failure repeats.

const ALPHABET: &[char] = &[
    'a', 'v', '1', '2', '0', '9', 'Z', '=', '+', '/', ',', '.', ' ', '-', '_', '\t', '\0', 'é',
    '\u{7f}', '∑', 'B', 'e', 'r',
];

fn random_text(rng: &mut StdRng, max_len: usize) -> String {
    let len = rng.random_range(0..=max_len);
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())])
        .collect()
}

fn random_bytes(rng: &mut StdRng, max_len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; rng.random_range(0..=max_len)];
    rng.fill_bytes(&mut bytes);
    bytes
}

/// A secret in `mode`'s form, from the seeded generator.
fn random_secret(rng: &mut StdRng, mode: &Verification) -> String {
    let bytes = random_bytes(rng, 64);
    match mode {
        Verification::StandardWebhooks => {
            let mut key = bytes;
            key.resize(key.len().max(16), 1);
            format!("whsec_{}", STANDARD.encode(key))
        }
        _ => {
            let len = rng.random_range(16..=256);
            (0..len)
                .map(|_| char::from(rng.random_range(0x21u8..=0x7e)))
                .collect()
        }
    }
}

fn random_header_value(rng: &mut StdRng, signed: &[(String, String)], name: &str) -> String {
    let original = signed.header(name).unwrap_or("").to_owned();
    match rng.random_range(0..10) {
        0 => random_text(rng, 300),
        1 => format!("v1,{}", STANDARD.encode(random_bytes(rng, 40))),
        2 => (0..rng.random_range(0..40))
            .map(|_| format!("v{},{}", rng.random_range(0..3), random_text(rng, 50)))
            .collect::<Vec<_>>()
            .join(" "),
        3 => rng.random::<i64>().to_string(),
        4 => "9".repeat(rng.random_range(1..40)),
        5 => format!("Bearer {}", random_text(rng, 80)),
        6 => format!("sha256={}", hex_lower(&random_bytes(rng, 40))),
        7 => "x".repeat(rng.random_range(8000..9000)),
        8 if !original.is_empty() => {
            // The real value with one character changed.
            let mut chars: Vec<char> = original.chars().collect();
            let at = rng.random_range(0..chars.len());
            chars[at] = ALPHABET[rng.random_range(0..ALPHABET.len())];
            chars.into_iter().collect()
        }
        _ => original,
    }
}

#[test]
fn random_headers_bodies_secrets_and_clocks_never_panic() {
    let mut rng = StdRng::seed_from_u64(0x1ab_5eed);
    let names = [
        WEBHOOK_ID,
        WEBHOOK_TIMESTAMP,
        WEBHOOK_SIGNATURE,
        "X-Signature",
        "X-Signature-Timestamp",
        "X-Webhook-Secret",
        AUTHORIZATION,
        IDEMPOTENCY_KEY,
    ];
    let modes = every_mode();
    let mut accepted = 0;
    for _ in 0..3000 {
        let mode = &modes[rng.random_range(0..modes.len())];
        let secret = random_secret(&mut rng, mode);
        let keys = keys_of(mode, &secret);
        let body = random_bytes(&mut rng, 256);
        let sent_at = match rng.random_range(0..4) {
            0 => i64::MAX,
            1 => rng.random::<i64>(),
            _ => NOW,
        };
        let signed = mode
            .sign(&secret, "msg_1", sent_at, &body)
            .unwrap_or_default();
        let mut headers = Vec::new();
        for name in names {
            if rng.random_bool(0.85) {
                let value = random_header_value(&mut rng, &signed, name);
                headers.push((name.to_owned(), value));
            }
        }
        let now = match rng.random_range(0..4) {
            0 => i64::MIN,
            1 => i64::MAX,
            2 => rng.random::<i64>(),
            _ => NOW,
        };
        if mode.verify(&keys, &headers, &body, now).is_ok() {
            accepted += 1;
        }
        // Whatever an admin might type.
        let text = random_text(&mut rng, 300);
        let _ = mode.check_secret(&text);
        let _ = mode.keys(&[text.as_str()]);
        let _ = mode.sign(&text, &text, rng.random(), &body);
        let _ = Verification::HmacHex {
            header: text.clone(),
            prefix: text.clone(),
            timestamp_header: Some(text),
        }
        .validate();
    }
    // Unchanged headers at the right time do pass: the loop tried both sides.
    assert!(accepted > 30, "only {accepted} accepted");
}

#[test]
fn any_single_byte_change_to_a_signed_body_is_rejected() {
    let mut rng = StdRng::seed_from_u64(0xb0d1);
    for mode in [
        Verification::StandardWebhooks,
        hmac_hex(None),
        hmac_hex(Some("X-Signature-Timestamp")),
    ] {
        for _ in 0..400 {
            let secret = random_secret(&mut rng, &mode);
            let keys = keys_of(&mode, &secret);
            let mut body = random_bytes(&mut rng, 2048);
            if body.is_empty() {
                body.push(0);
            }
            let headers = signed(&mode, &secret, NOW, &body);
            assert!(mode.verify(&keys, &headers, &body, NOW).is_ok());
            let at = rng.random_range(0..body.len());
            body[at] ^= rng.random_range(1u8..=255);
            assert_eq!(
                mode.verify(&keys, &headers, &body, NOW),
                Err(Rejection::BadSignature),
                "{mode:?}: byte {at} changed"
            );
        }
    }
}

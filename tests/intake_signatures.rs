//! Signatures made by independent implementations are accepted, and ours are accepted by them:
//! the reference Standard Webhooks library (Python, pinned in
//! `tests/intake_signatures/requirements.txt`, installed by `scripts/deps.sh test`) and
//! `openssl dgst -sha256 -hmac` for the HMAC hex header. A missing tool fails the test, saying
//! what to run: these tests never pass without the other side.

use handoff_console::intake::verify::{Headers, Rejection, Verification, Verified};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

const HELPER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/intake_signatures/standard_webhooks.py"
);
const REQUIREMENTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/intake_signatures/requirements.txt"
);
/// A body as senders send them: JSON with non-ASCII text, escapes and a newline.
const BODY: &str =
    "{\"type\":\"patient.created\",\"data\":{\"name\":\"Zoë Ünal\",\"note\":\"a\\\"b\"}}\n";
/// The secret of the Standard Webhooks specification's examples (24 bytes, unpadded base64).
const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn now() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(since_epoch.as_secs()).expect("seconds since 1970 fit an i64")
}

fn venv() -> PathBuf {
    match std::env::var_os("HANDOFF_PY_VENV") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(&std::env::var_os("HOME").expect("HOME is set"))
            .join(".cache/handoff-console/py"),
    }
}

fn pinned_version() -> String {
    let requirements = std::fs::read_to_string(REQUIREMENTS).expect("the requirements file");
    requirements
        .lines()
        .find_map(|line| line.strip_prefix("standardwebhooks=="))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("standardwebhooks is pinned")
        .to_owned()
}

/// Runs one batch of signing and verifying with the reference library (one process).
fn reference_library(request: Value) -> Value {
    let python = venv().join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `scripts/deps.sh test` to install the reference Standard Webhooks \
         library there (or set HANDOFF_PY_VENV to a venv that has it)",
        python.display()
    );
    let mut child = Command::new(&python)
        .arg(HELPER)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(request.to_string().as_bytes())
        .expect("the helper reads its request");
    let output = child.wait_with_output().expect("the helper ends");
    assert!(
        output.status.success(),
        "the reference library's helper failed ({}); run `scripts/deps.sh test` if the library \
         is missing:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_slice(&output.stdout).expect("the helper answers JSON");
    assert_eq!(
        answer["version"].as_str(),
        Some(pinned_version().as_str()),
        "the venv has another version of standardwebhooks than the pinned one: run \
         `scripts/deps.sh test`"
    );
    answer
}

fn webhook_headers(id: &str, timestamp: i64, signature: &str) -> Vec<(String, String)> {
    vec![
        ("webhook-id".into(), id.into()),
        ("webhook-timestamp".into(), timestamp.to_string()),
        ("webhook-signature".into(), signature.into()),
    ]
}

fn as_json_object(headers: &[(String, String)]) -> Value {
    Value::Object(
        headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

#[test]
fn signatures_of_the_reference_standard_webhooks_library_are_accepted() {
    let mode = Verification::StandardWebhooks;
    let secret = mode.new_secret();
    let now = now();
    let answer = reference_library(json!({
        "sign": [
            {"secret": secret, "id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "timestamp": now, "body": BODY},
            {"secret": SPEC_SECRET, "id": "evt.42", "timestamp": now - 200, "body": ""},
        ],
        "verify": [],
    }));
    let signed = &answer["signed"];

    let keys = mode.keys(&[secret.as_str()]).unwrap();
    let headers = webhook_headers(
        "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
        now,
        signed[0].as_str().unwrap(),
    );
    assert_eq!(
        mode.verify(&keys, &headers, BODY.as_bytes(), now),
        Ok(Verified {
            message_id: Some("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W".into()),
            timestamp: Some(now),
        })
    );
    // During a rotation, under the retired secret.
    let rotating = mode.keys(&[mode.new_secret(), secret.clone()]).unwrap();
    assert!(
        mode.verify(&rotating, &headers, BODY.as_bytes(), now)
            .is_ok()
    );
    // A secret of another length (the specification's), an empty body, a dot in the id.
    let keys = mode.keys(&[SPEC_SECRET]).unwrap();
    let headers = webhook_headers("evt.42", now - 200, signed[1].as_str().unwrap());
    assert!(mode.verify(&keys, &headers, b"", now).is_ok());
}

#[test]
fn the_reference_standard_webhooks_library_accepts_our_signatures() {
    let mode = Verification::StandardWebhooks;
    let (secret, other) = (mode.new_secret(), mode.new_secret());
    let now = now();
    let ours = mode
        .sign(&secret, "msg_ours_1", now, BODY.as_bytes())
        .unwrap();
    let spec = mode.sign(SPEC_SECRET, "msg_ours_2", now, b"").unwrap();
    let answer = reference_library(json!({
        "sign": [],
        "verify": [
            {"secret": secret, "headers": as_json_object(&ours), "body": BODY},
            {"secret": SPEC_SECRET, "headers": as_json_object(&spec), "body": ""},
            // Controls: the library does reject what it should.
            {"secret": other, "headers": as_json_object(&ours), "body": BODY},
            {"secret": secret, "headers": as_json_object(&ours), "body": BODY.replace("Zoë", "Zoe")},
        ],
    }));
    let verified = answer["verified"].as_array().unwrap();
    assert_eq!(verified[0], Value::Null, "ours rejected: {}", verified[0]);
    assert_eq!(verified[1], Value::Null, "ours rejected: {}", verified[1]);
    assert!(
        verified[2].is_string(),
        "the library accepted another secret"
    );
    assert!(
        verified[3].is_string(),
        "the library accepted an altered body"
    );
}

#[test]
fn the_reference_library_s_signatures_with_another_secret_an_altered_body_or_a_stale_time_are_rejected()
 {
    let mode = Verification::StandardWebhooks;
    let (secret, other) = (mode.new_secret(), mode.new_secret());
    let now = now();
    let answer = reference_library(json!({
        "sign": [
            {"secret": other, "id": "msg_1", "timestamp": now, "body": BODY},
            {"secret": secret, "id": "msg_2", "timestamp": now, "body": BODY},
            {"secret": secret, "id": "msg_3", "timestamp": now - 301, "body": BODY},
            {"secret": secret, "id": "msg_4", "timestamp": now + 301, "body": BODY},
        ],
        "verify": [],
    }));
    let signature = |i: usize| answer["signed"][i].as_str().unwrap().to_owned();
    let keys = mode.keys(&[secret.as_str()]).unwrap();
    let verify = |headers: &[(String, String)], body: &str| {
        mode.verify(&keys, headers, body.as_bytes(), now)
    };

    let other_secret = webhook_headers("msg_1", now, &signature(0));
    assert_eq!(verify(&other_secret, BODY), Err(Rejection::BadSignature));
    let good = webhook_headers("msg_2", now, &signature(1));
    assert!(verify(&good, BODY).is_ok());
    assert_eq!(
        verify(&good, &BODY.replace("Zoë", "Zoe")),
        Err(Rejection::BadSignature)
    );
    assert_eq!(
        verify(&webhook_headers("msg_9", now, &signature(1)), BODY),
        Err(Rejection::BadSignature),
        "another id"
    );
    let old = webhook_headers("msg_3", now - 301, &signature(2));
    assert_eq!(
        verify(&old, BODY),
        Err(Rejection::StaleTimestamp { skew_secs: -301 })
    );
    let ahead = webhook_headers("msg_4", now + 301, &signature(3));
    assert_eq!(
        verify(&ahead, BODY),
        Err(Rejection::StaleTimestamp { skew_secs: 301 })
    );
}

/// `openssl dgst -sha256 -hmac KEY` over a file: the MAC in lowercase hex.
fn openssl_hmac(key: &str, data: &[u8]) -> String {
    let mut file = tempfile::NamedTempFile::new().expect("a temporary file");
    file.write_all(data).expect("the body is written");
    let output = match Command::new("openssl")
        .args(["dgst", "-sha256", "-hmac", key, "-r"])
        .arg(file.path())
        .output()
    {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("openssl is missing: run `scripts/deps.sh test`")
        }
        Err(e) => panic!("cannot run openssl: {e}"),
    };
    assert!(
        output.status.success(),
        "openssl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // `-r`: "<hex> *<file>".
    let text = String::from_utf8(output.stdout).expect("openssl prints ASCII");
    let hex = text
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(hex.len(), 64, "unexpected openssl output: {text}");
    hex
}

#[test]
fn openssl_hmac_hex_signatures_are_accepted_and_rejected_under_another_key() {
    let mode = Verification::HmacHex {
        header: "X-Signature".into(),
        prefix: "sha256=".into(),
        timestamp_header: None,
    };
    // The body is signed as raw bytes, whatever they are.
    let mut body = BODY.as_bytes().to_vec();
    body.extend_from_slice(&[0x00, 0xff, 0x80, b'\r', b'\n']);
    for key in [mode.new_secret(), "k3y_with-symbols!$&'\"`|~%*".to_owned()] {
        let hex = openssl_hmac(&key, &body);
        let headers = vec![("X-Signature".to_owned(), format!("sha256={hex}"))];
        let keys = mode.keys(&[key.as_str()]).unwrap();
        assert_eq!(
            mode.verify(&keys, &headers, &body, 0),
            Ok(Verified {
                message_id: None,
                timestamp: None
            }),
            "key {key}"
        );
        let another = mode.keys(&[mode.new_secret()]).unwrap();
        assert_eq!(
            mode.verify(&another, &headers, &body, 0),
            Err(Rejection::BadSignature)
        );
        // Ours is the same MAC.
        let ours = mode.sign(&key, "m1", 0, &body).unwrap();
        assert_eq!(
            ours.as_slice().header("x-signature"),
            Some(format!("sha256={hex}").as_str())
        );
    }

    // With a timestamp header, "{timestamp}.{body}" is what is signed.
    let mode = Verification::HmacHex {
        header: "X-Signature".into(),
        prefix: String::new(),
        timestamp_header: Some("X-Signature-Timestamp".into()),
    };
    let key = mode.new_secret();
    let now = now();
    let mut signed = format!("{now}.").into_bytes();
    signed.extend_from_slice(&body);
    let headers = vec![
        ("X-Signature".to_owned(), openssl_hmac(&key, &signed)),
        ("X-Signature-Timestamp".to_owned(), now.to_string()),
        ("Idempotency-Key".to_owned(), "evt_77".to_owned()),
    ];
    let keys = mode.keys(&[key.as_str()]).unwrap();
    assert_eq!(
        mode.verify(&keys, &headers, &body, now),
        Ok(Verified {
            message_id: Some("evt_77".into()),
            timestamp: Some(now)
        })
    );
    assert_eq!(
        mode.verify(&keys, &headers, BODY.as_bytes(), now),
        Err(Rejection::BadSignature)
    );
}

//! The intake listener over TLS, through the real binary (`serve --intake-bind … --tls-cert …
//! --tls-key …`) and a client that trusts only a test CA: a signed message accepted over HTTPS,
//! plain HTTP on the TLS port refused; with TLS a non-loopback intake bind needs no
//! `--allow-remote`, without it one is refused; flags and files that cannot be used stop
//! `serve` at start, naming the flag and the file and quoting no key; a renewed certificate
//! (files replaced by rename, as certbot does) is served to new connections without a restart,
//! and a half-written one is not.

mod common;

use common::ChildGuard;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a change may take to show (the files are checked every 2 s).
const PATIENCE: Duration = Duration::from_secs(15);

/// A private CA and the server certificates it signs.
struct Ca {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

/// A server certificate: its PEM, its key's PEM, and its DER (what a client is shown).
struct ServerCert {
    pem: String,
    key_pem: String,
    der: Vec<u8>,
}

impl Ca {
    fn new() -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Intake test CA");
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let key = rcgen::KeyPair::generate().unwrap();
        Self {
            issuer: rcgen::CertifiedIssuer::self_signed(params, key).unwrap(),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate for 127.0.0.1 and localhost, with a key of its own.
    fn server(&self) -> ServerCert {
        let mut params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "clinic intake");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &*self.issuer).unwrap();
        ServerCert {
            pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }
}

/// Writes `content` beside `path` and renames it over `path`, as certbot's renewals do.
fn replace(path: &Path, content: &str) {
    let fresh = path.with_extension("new");
    std::fs::write(&fresh, content).unwrap();
    std::fs::rename(&fresh, path).unwrap();
}

/// A console's data dir (secrets in the vault) and the files of its certificate (in a dir of
/// their own, as the console wants its data dir to itself).
struct Console {
    dir: tempfile::TempDir,
    _certs: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
}

impl Console {
    fn new(cert: &ServerCert) -> Self {
        let certs = tempfile::tempdir().unwrap();
        let (cert_path, key_path) = (
            certs.path().join("intake.pem"),
            certs.path().join("intake.key"),
        );
        std::fs::write(&cert_path, &cert.pem).unwrap();
        std::fs::write(&key_path, &cert.key_pem).unwrap();
        Self {
            dir: tempfile::tempdir().unwrap(),
            _certs: certs,
            cert: cert_path,
            key: key_path,
        }
    }

    fn cert(&self) -> &str {
        self.cert.to_str().unwrap()
    }

    fn key(&self) -> &str {
        self.key.to_str().unwrap()
    }

    fn cli(&self) -> Command {
        let mut cmd = common::cli();
        cmd.args([
            "--data-dir",
            self.dir.path().to_str().unwrap(),
            "--secrets",
            "vault",
        ])
        .env("HANDOFF_VAULT_PASSPHRASE", "test passphrase");
        cmd
    }

    /// Adds an intakeKey source named `name`; answers its key.
    fn add_source(&self, name: &str) -> String {
        let added = self
            .cli()
            .args(["--json", "source", "add", name, "--kind", "voice"])
            .args(["--verification", "intakeKey"])
            .output()
            .unwrap();
        assert!(
            added.status.success(),
            "{}",
            String::from_utf8_lossy(&added.stderr)
        );
        serde_json::from_slice::<Value>(&added.stdout).unwrap()["secret"]
            .as_str()
            .expect("the source's key")
            .to_string()
    }

    /// `serve` with these arguments after it, expected to stop at once: its exit code and
    /// stderr.
    fn refused(&self, args: &[&str]) -> (Option<i32>, String) {
        let out = self
            .cli()
            .args(["serve", "--bind", "127.0.0.1:0", "--no-worker"])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `serve --json` with the certificate files, the intake listener on `intake_bind`.
    fn serve(&self, intake_bind: &str) -> Serving {
        let mut child = ChildGuard(
            self.cli()
                .args(["--json", "serve", "--bind", "127.0.0.1:0", "--no-worker"])
                .args(["--intake-bind", intake_bind])
                .args(["--tls-cert", self.cert(), "--tls-key", self.key()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let kept = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let mut log = kept.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let printed = serde_json::Deserializer::from_reader(stdout)
            .into_iter::<Value>()
            .next();
        let Some(Ok(printed)) = printed else {
            panic!(
                "serve printed no address; its stderr: {}",
                log.lock().unwrap()
            );
        };
        let intake = printed["intake"]
            .as_str()
            .expect("the intake listener's address")
            .to_string();
        Serving {
            _child: child,
            intake,
            log,
        }
    }
}

/// A running `serve`: its intake address as printed, and its stderr so far.
struct Serving {
    _child: ChildGuard,
    intake: String,
    log: Arc<Mutex<String>>,
}

impl Serving {
    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log has a line with all of `words`.
    fn wait_for_log(&self, words: &[&str]) -> String {
        let started = Instant::now();
        loop {
            let log = self.log();
            if let Some(line) = log.lines().find(|l| words.iter().all(|w| l.contains(w))) {
                return line.to_string();
            }
            assert!(
                started.elapsed() < PATIENCE,
                "no log line with {words:?}; the log: {log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A client on a connection of its own that trusts only `ca` and keeps what TLS showed it.
fn client(ca: &Ca) -> reqwest::Client {
    handoff_console::targets::api::install_crypto_provider();
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap()])
        .tls_info(true)
        .build()
        .unwrap()
}

/// Posts `{}` with the source's key to `<intake><source>`; answers the status and the
/// certificate the listener showed.
async fn post(ca: &Ca, intake: &str, source: &str, key: &str) -> (u16, Vec<u8>) {
    let response = client(ca)
        .post(format!("{intake}{source}"))
        .bearer_auth(key)
        .body("{}")
        .send()
        .await
        .expect("the intake listener answers over TLS");
    let shown = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|t| t.peer_certificate())
        .expect("the peer certificate")
        .to_vec();
    (response.status().as_u16(), shown)
}

/// The certificate a new connection is shown.
async fn shown(ca: &Ca, intake: &str) -> Vec<u8> {
    post(ca, intake, "nobody", "hik_nothing").await.1
}

#[tokio::test]
async fn a_message_is_accepted_over_tls_and_plain_http_on_the_tls_port_is_not() {
    let ca = Ca::new();
    let cert = ca.server();
    let console = Console::new(&cert);
    let key = console.add_source("voice");
    let serving = console.serve("127.0.0.1:0");
    assert!(
        serving.intake.starts_with("https://127.0.0.1:") && serving.intake.ends_with("/intake/v1/"),
        "{}",
        serving.intake
    );

    handoff_console::targets::api::install_crypto_provider();
    let plain = serving.intake.replacen("https://", "http://", 1);
    let answered = reqwest::Client::new()
        .post(format!("{plain}voice"))
        .bearer_auth(&key)
        .body("{}")
        .send()
        .await;
    assert!(
        answered.is_err(),
        "plain HTTP was answered on the TLS port: {answered:?}"
    );

    // The failed handshake stopped nothing: the next connection is served.
    let (status, shown) = post(&ca, &serving.intake, "voice", &key).await;
    assert_eq!(status, 202);
    assert_eq!(shown, cert.der, "the listener showed another certificate");
    let (status, _) = post(&ca, &serving.intake, "voice", "hik_not-the-key").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn with_tls_a_non_loopback_intake_bind_needs_no_allow_remote_and_without_it_is_refused() {
    let ca = Ca::new();
    let console = Console::new(&ca.server());
    let key = console.add_source("voice");

    let (code, stderr) = console.refused(&["--intake-bind", "0.0.0.0:0"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--intake-bind")
            && stderr.contains("--tls-cert")
            && stderr.contains("--allow-remote"),
        "{stderr}"
    );

    let serving = console.serve("0.0.0.0:0");
    let port = serving
        .intake
        .strip_prefix("https://0.0.0.0:")
        .unwrap_or_else(|| panic!("{}", serving.intake));
    let (status, _) = post(&ca, &format!("https://127.0.0.1:{port}"), "voice", &key).await;
    assert_eq!(status, 202);
}

#[test]
fn tls_flags_and_files_that_cannot_be_used_stop_serve_naming_the_flag_and_the_file() {
    let ca = Ca::new();
    let cert = ca.server();
    let console = Console::new(&cert);
    let (cert_file, key_file) = (console.cert(), console.key());
    let bind = ["--intake-bind", "127.0.0.1:0"];
    let refused = |args: &[&str], flag: &str, words: &[&str]| {
        let (code, stderr) = console.refused(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(flag),
            "{args:?} does not name {flag}: {stderr}"
        );
        for w in words {
            assert!(stderr.contains(w), "{args:?} does not say {w:?}: {stderr}");
        }
        // No line of any key's PEM body is ever printed.
        for line in cert.key_pem.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!stderr.contains(line), "key material printed: {stderr}");
        }
    };

    // The flags go together, and with the intake listener.
    refused(
        &[&bind[..], &["--tls-cert", cert_file]].concat(),
        "--tls-key",
        &[],
    );
    refused(
        &[&bind[..], &["--tls-key", key_file]].concat(),
        "--tls-cert",
        &[],
    );
    refused(
        &["--tls-cert", cert_file, "--tls-key", key_file],
        "--intake-bind",
        &[],
    );

    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, content: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.to_str().unwrap().to_string()
    };
    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    let half = file("half.pem", &cert.pem[..cert.pem.len() / 2]);
    let not_pem = file("not.pem", "this is not a certificate\n");
    let half_key = file("half.key", &cert.key_pem[..cert.key_pem.len() / 2]);
    let other_key = file("other.key", &ca.server().key_pem);
    fn with<'a>(cert: &'a str, key: &'a str) -> Vec<&'a str> {
        vec![
            "--intake-bind",
            "127.0.0.1:0",
            "--tls-cert",
            cert,
            "--tls-key",
            key,
        ]
    }
    refused(
        &with(missing, key_file),
        "--tls-cert",
        &[missing, "cannot be read"],
    );
    refused(&with(&half, key_file), "--tls-cert", &[&half]);
    refused(
        &with(&not_pem, key_file),
        "--tls-cert",
        &[&not_pem, "no PEM certificate"],
    );
    refused(
        &with(cert_file, missing),
        "--tls-key",
        &[missing, "cannot be read"],
    );
    refused(&with(cert_file, &half_key), "--tls-key", &[&half_key]);
    // A certificate where the key should be: no private key in it.
    refused(
        &with(cert_file, cert_file),
        "--tls-key",
        &["no unencrypted PEM private key"],
    );
    refused(
        &with(cert_file, &other_key),
        "--tls-key",
        &[&other_key, "not the private key", cert_file],
    );
}

/// An EC key in SEC1 form (`-----BEGIN EC PRIVATE KEY-----`, what `openssl ec` writes) serves
/// as well as PKCS#8.
#[tokio::test]
async fn an_ec_key_in_sec1_form_is_accepted() {
    let ca = Ca::new();
    let cert = ca.server();
    let console = Console::new(&cert);
    let sec1_path = console.key.with_extension("sec1");
    let converted = Command::new("openssl")
        .args(["ec", "-in", console.key(), "-out"])
        .arg(&sec1_path)
        .output()
        .unwrap_or_else(|e| panic!("openssl is missing ({e}): run `scripts/deps.sh test`"));
    assert!(
        converted.status.success(),
        "{}",
        String::from_utf8_lossy(&converted.stderr)
    );
    let sec1 = std::fs::read_to_string(&sec1_path).unwrap();
    assert!(sec1.contains("-----BEGIN EC PRIVATE KEY-----"), "{sec1}");
    std::fs::rename(&sec1_path, &console.key).unwrap();

    let serving = console.serve("127.0.0.1:0");
    assert_eq!(shown(&ca, &serving.intake).await, cert.der);
}

#[tokio::test]
async fn a_renewed_certificate_is_served_without_a_restart_and_a_half_written_one_is_not() {
    let ca = Ca::new();
    let first = ca.server();
    let console = Console::new(&first);
    let key = console.add_source("voice");
    let serving = console.serve("127.0.0.1:0");
    assert_eq!(shown(&ca, &serving.intake).await, first.der);

    // A renewal caught half-written: refused, said so in the log, the first one still served.
    let renewed = ca.server();
    assert_ne!(renewed.der, first.der);
    std::fs::write(&console.cert, &renewed.pem[..renewed.pem.len() / 2]).unwrap();
    let warning = serving.wait_for_log(&["previous certificate is still served", console.cert()]);
    assert!(warning.contains("--tls-cert"), "{warning}");
    let (status, shown_now) = post(&ca, &serving.intake, "voice", &key).await;
    assert_eq!(status, 202);
    assert_eq!(
        shown_now, first.der,
        "a half-written certificate was served"
    );

    // The whole renewal, both files replaced by rename: new connections get it.
    replace(&console.key, &renewed.key_pem);
    replace(&console.cert, &renewed.pem);
    let started = Instant::now();
    while shown(&ca, &serving.intake).await != renewed.der {
        assert!(
            started.elapsed() < PATIENCE,
            "the renewed certificate was not served; the log: {}",
            serving.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, shown_now) = post(&ca, &serving.intake, "voice", &key).await;
    assert_eq!((status, shown_now), (202, renewed.der.clone()));

    let log = serving.log();
    for pem in [&first.key_pem, &renewed.key_pem] {
        for line in pem.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!log.contains(line), "key material in the log: {log}");
        }
    }
}

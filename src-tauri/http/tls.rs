//! TLS on the intake listener (`serve --tls-cert FILE --tls-key FILE`): the certificate chain and
//! private key come from PEM files, checked at start (a file that cannot be used, or a key that
//! is not the certificate's, stops `serve`), and are read again when either file changes, so a
//! renewal (certbot replaces the files by rename) is served without a restart. A renewal that
//! cannot be used (a half-written file, a key that does not match) keeps the previous
//! certificate and is tried again on the next change. rustls with the ring provider, as
//! everywhere else in the console; each connection's handshake runs in a task of its own,
//! bounded in time, so a slow or broken client holds up no one.

use crate::error::AppError;
use axum::Router;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, ServerConfig};
use rustls::sign::CertifiedKey;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How often the certificate and key files are checked for a change, by default.
pub const RELOAD_EVERY: Duration = Duration::from_secs(2);
/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes under way at once; beyond it, connections wait in the kernel's backlog.
const MAX_HANDSHAKES: usize = 512;

/// The certificate and key files of the intake listener.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The certificate chain (PEM), the server's own certificate first.
    pub cert: PathBuf,
    /// Its private key (PEM: PKCS#8, RSA or EC), unencrypted.
    pub key: PathBuf,
    /// How often the files are checked for a change.
    pub reload_every: Duration,
}

impl TlsFiles {
    pub fn new(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        Self {
            cert: cert.into(),
            key: key.into(),
            reload_every: RELOAD_EVERY,
        }
    }
}

/// Why a certificate or key could not be used: which flag's file, and what is wrong with it
/// (never the file's content).
#[derive(Debug)]
struct Unusable {
    flag: &'static str,
    path: PathBuf,
    reason: String,
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.flag, self.path.display(), self.reason)
    }
}

impl From<Unusable> for AppError {
    fn from(u: Unusable) -> Self {
        AppError::invalid(u.flag, format!("{}: {}", u.path.display(), u.reason))
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads the chain and key and checks that the key is the certificate's.
fn load(files: &TlsFiles, provider: &CryptoProvider) -> Result<CertifiedKey, Unusable> {
    let cert_problem = |reason: String| Unusable {
        flag: "--tls-cert",
        path: files.cert.clone(),
        reason,
    };
    let key_problem = |reason: String| Unusable {
        flag: "--tls-key",
        path: files.key.clone(),
        reason,
    };
    let chain = read_chain(&files.cert).map_err(cert_problem)?;
    let key = read_key(&files.key).map_err(key_problem)?;
    let signing_key = provider.key_provider.load_private_key(key).map_err(|_| {
        key_problem("is not an RSA, ECDSA or Ed25519 private key the console can sign with".into())
    })?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        // A key that cannot tell its public half cannot be compared (ring's keys all can).
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(certified)
        }
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            Err(key_problem(format!(
                "is not the private key of the certificate in {}",
                files.cert.display()
            )))
        }
        Err(e) => Err(cert_problem(format!(
            "its first certificate cannot be read as X.509 ({e})"
        ))),
    }
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
    let chain = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_problem)?;
    if chain.is_empty() {
        return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    // The file's bytes are key material: wiped when dropped.
    let text =
        zeroize::Zeroizing::new(std::fs::read(path).map_err(|e| format!("cannot be read: {e}"))?);
    PrivateKeyDer::from_pem_slice(&text).map_err(|e| match e {
        pem::Error::NoItemsFound => {
            "holds no unencrypted PEM private key (PKCS#8, RSA or EC)".into()
        }
        e => pem_problem(e),
    })
}

/// What is wrong with a PEM file, in words that quote none of it (pki-types' own messages
/// quote the offending line, which may be key material).
fn pem_problem(e: pem::Error) -> String {
    match e {
        pem::Error::MissingSectionEnd { .. } => {
            "is not complete PEM: a section has no -----END line".into()
        }
        pem::Error::IllegalSectionStart { .. } => {
            "is not valid PEM: a -----BEGIN line is malformed".into()
        }
        pem::Error::Base64Decode(_) => {
            "is not valid PEM: a section's base64 does not decode".into()
        }
        pem::Error::Io(e) => format!("cannot be read: {e}"),
        pem::Error::SectionTooLarge => "is not valid PEM: a section is too large".into(),
        _ => "is not valid PEM".into(),
    }
}

/// What tells a file's change: a renewal that replaces the file by rename gets a new inode, an
/// edit in place a new modification time or size. A file that cannot be read is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64),
    #[cfg(unix)]
    changed: (i64, i64),
}

fn stamp(path: &Path) -> Option<Stamp> {
    // Follows symbolic links: certbot's live/ names are links into archive/, repointed on renewal.
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    use std::os::unix::fs::MetadataExt;
    Some(Stamp {
        len: meta.len(),
        modified: meta.modified().ok(),
        #[cfg(unix)]
        inode: (meta.dev(), meta.ino()),
        #[cfg(unix)]
        changed: (meta.ctime(), meta.ctime_nsec()),
    })
}

type Stamps = (Option<Stamp>, Option<Stamp>);

fn stamps(files: &TlsFiles) -> Stamps {
    (stamp(&files.cert), stamp(&files.key))
}

/// Hands every new handshake the certificate in force; [`ServerCert::watch`] replaces it.
struct CurrentCert(RwLock<Arc<CertifiedKey>>);

impl CurrentCert {
    fn get(&self) -> Arc<CertifiedKey> {
        Arc::clone(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }
    fn set(&self, cert: CertifiedKey) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(cert);
    }
}

// rustls asks for Debug; the key is not shown.
impl std::fmt::Debug for CurrentCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurrentCert").finish_non_exhaustive()
    }
}

impl ResolvesServerCert for CurrentCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

/// The intake listener's certificate, loaded at start, and what keeps it current.
pub struct ServerCert {
    current: Arc<CurrentCert>,
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    /// The files' stamps when they were last read.
    read_at: Stamps,
}

impl ServerCert {
    /// Reads and checks the files: an error names the flag and the file.
    pub fn load(files: &TlsFiles) -> Result<Self, AppError> {
        let provider = provider();
        // Stamped before reading: a change while reading is then seen as a change next time.
        let read_at = stamps(files);
        let cert = load(files, &provider)?;
        Ok(Self {
            current: Arc::new(CurrentCert(RwLock::new(Arc::new(cert)))),
            files: files.clone(),
            provider,
            read_at,
        })
    }

    fn acceptor(&self) -> Result<TlsAcceptor, AppError> {
        let mut config = ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()
            .map_err(AppError::internal)?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(&self.current) as Arc<dyn ResolvesServerCert>);
        // The intake listener speaks HTTP/1.1 only.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }

    /// Checks the files every `reload_every` and loads them again when either changed. Runs
    /// until dropped (aborted).
    async fn watch(self) {
        let Self {
            current,
            files,
            provider,
            mut read_at,
        } = self;
        // A zero interval would make tokio's interval panic, and checking more often is waste.
        let mut tick = tokio::time::interval(files.reload_every.max(Duration::from_millis(100)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is at once
        loop {
            tick.tick().await;
            let now = stamps(&files);
            if now == read_at {
                continue;
            }
            read_at = now;
            let (reading, provider) = (files.clone(), Arc::clone(&provider));
            let loaded = tokio::task::spawn_blocking(move || load(&reading, &provider)).await;
            match loaded {
                Ok(Ok(cert)) => {
                    current.set(cert);
                    tracing::info!(
                        "intake TLS: new handshakes use the certificate now in {}",
                        files.cert.display()
                    );
                }
                Ok(Err(unusable)) => tracing::warn!(
                    "intake TLS: the changed certificate or key is not used, the previous \
                     certificate is still served (tried again on the next change): {unusable}"
                ),
                Err(e) => tracing::error!("intake TLS: reading the certificate failed: {e}"),
            }
        }
    }
}

/// Connections whose handshake is done, in the order they finished, for `axum::serve`.
struct TlsListener {
    handshaken: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.handshaken.recv().await {
            Some(connection) => connection,
            // The accepting task is gone (it ends only when this listener is dropped, or by a
            // panic): nothing more will come, and the shutdown signal still ends `serve`.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// Accepts TCP connections and runs each handshake in a task of its own, until the listener
/// `handshaken` feeds is dropped.
async fn accept_connections(
    mut listener: TcpListener,
    acceptor: TlsAcceptor,
    handshaken: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let under_way = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let accepted = tokio::select! {
            _ = handshaken.closed() => return,
            accepted = async {
                let permit = Arc::clone(&under_way).acquire_owned().await;
                // axum's accept logs and waits out errors such as too many open files.
                (permit, axum::serve::Listener::accept(&mut listener).await)
            } => accepted,
        };
        let (Ok(permit), (tcp, peer)) = accepted else {
            return; // the semaphore is never closed
        };
        let _ = tcp.set_nodelay(true);
        let (acceptor, handshaken) = (acceptor.clone(), handshaken.clone());
        tokio::spawn(async move {
            let shaken = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await;
            drop(permit);
            match shaken {
                Ok(Ok(tls)) => {
                    let _ = handshaken.send((tls, peer)).await;
                }
                // Scanners and clients that do not trust the certificate end up here: not the
                // console's problem, so not above debug.
                Ok(Err(e)) => tracing::debug!(%peer, "intake TLS handshake failed: {e}"),
                Err(_) => tracing::debug!(%peer, "intake TLS handshake timed out"),
            }
        });
    }
}

/// Serves `router` over TLS on `listener` until `shutdown` completes: then no new connection is
/// taken, and requests under way finish.
pub(super) async fn serve(
    listener: TcpListener,
    cert: ServerCert,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), AppError> {
    let local = listener.local_addr().map_err(AppError::internal)?;
    let acceptor = cert.acceptor()?;
    let (sender, handshaken) = mpsc::channel(64);
    let accepting = tokio::spawn(accept_connections(listener, acceptor, sender));
    let watching = tokio::spawn(cert.watch());
    let served = axum::serve(TlsListener { handshaken, local }, router)
        .with_graceful_shutdown(shutdown)
        .await;
    watching.abort();
    accepting.abort();
    served.map_err(|e| AppError::new(crate::ErrorKind::Unavailable, format!("intake: {e}")))
}

//! `serve`: the web UI and its JSON API (axum) over the service layer, for headless machines
//! and browser tests. Every `/api/v1` request needs the console's bearer token (loopback
//! included); the UI's files are embedded in the binary (see `build.rs`). A thin adapter: its routes
//! are generated from the operation list and call one `Console` method each (operations.rs), and
//! so is the API's OpenAPI document (openapi.rs). The intake listener (intake.rs) serves the
//! routes of its table (intake_routes.rs), which also makes its document.

mod assets;
mod error;
mod extract;
pub mod intake;
pub mod intake_listener;
pub mod intake_routes;
pub mod openapi;
mod operations;
mod routes;
pub mod tls;
pub mod token;
mod transfers;

use crate::error::AppError;
use crate::service::{App, Console, ExportPlace, Jobs};
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use error::ApiError;

/// Where and how `serve` listens.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub bind: SocketAddr,
    /// Listen on a non-loopback address although the console speaks plain HTTP there (a TLS
    /// proxy in front is the caller's job): `bind` always, `intake_bind` without `intake_tls`.
    pub allow_remote: bool,
    /// Run due automatic retries in the background while serving.
    pub worker: bool,
    /// Where the intake listener (`/intake/v1/...` only) listens, if anywhere.
    pub intake_bind: Option<SocketAddr>,
    /// The intake listener speaks TLS with this certificate (reloaded when its files change).
    pub intake_tls: Option<tls::TlsFiles>,
}

/// Where `serve` ended up listening (ports given as 0 are chosen by the OS).
#[derive(Debug, Clone, Copy)]
pub struct Listening {
    pub admin: SocketAddr,
    pub intake: Option<SocketAddr>,
    /// The intake listener speaks TLS (https).
    pub intake_tls: bool,
}

/// What every handler can reach.
#[derive(Clone)]
pub struct ApiState {
    pub console: Arc<Console>,
    token: Arc<str>,
}

/// The router: `/api/v1/...` behind the token, the UI's files for everything else.
pub fn router(app: Arc<App>, token: String) -> Router {
    router_with_jobs(app, token, Jobs::default())
}

/// As [`router`], with the jobs registry the caller waits on at shutdown.
pub fn router_with_jobs(app: Arc<App>, token: String, jobs: Jobs) -> Router {
    let state = ApiState {
        // Exports are kept in the data dir, for their download.
        console: Arc::new(Console::new(app, jobs, ExportPlace::DataDir)),
        token: token.into(),
    };
    routes::api(state.clone())
        .fallback(assets::serve_ui)
        .layer(axum::middleware::from_fn(assets::security_headers))
}

/// Refuses a non-loopback address where the console would speak plain HTTP, unless explicitly
/// allowed (a TLS proxy in front); the intake listener with TLS may bind any address.
pub fn check_bind(options: &ServeOptions) -> Result<(), AppError> {
    let remote = |addr: SocketAddr| !addr.ip().is_loopback() && !options.allow_remote;
    if remote(options.bind) {
        return Err(AppError::invalid(
            "--bind",
            format!(
                "{} is not a loopback address and the admin API speaks plain HTTP, so the \
                 token and patient data would cross the network unencrypted; put a TLS proxy \
                 in front and pass --allow-remote, or bind to 127.0.0.1",
                options.bind.ip()
            ),
        ));
    }
    let Some(intake) = options.intake_bind else {
        if options.intake_tls.is_some() {
            return Err(AppError::invalid(
                "--intake-bind",
                "--tls-cert and --tls-key are for the intake listener: give its address \
                 (--intake-bind ADDR:PORT)",
            ));
        }
        return Ok(());
    };
    if options.intake_tls.is_none() && remote(intake) {
        return Err(AppError::invalid(
            "--intake-bind",
            format!(
                "{} is not a loopback address and without TLS the intake listener speaks \
                 plain HTTP, so the senders' secrets and patient data would cross the network \
                 unencrypted; pass --tls-cert and --tls-key, or put a TLS proxy in front and \
                 pass --allow-remote, or bind to 127.0.0.1",
                intake.ip()
            ),
        ));
    }
    if intake == options.bind && intake.port() != 0 {
        return Err(AppError::invalid(
            "--intake-bind",
            "must differ from --bind: the intake listener is apart from the admin API",
        ));
    }
    Ok(())
}

pub(crate) async fn listen(
    flag: &str,
    addr: SocketAddr,
) -> Result<tokio::net::TcpListener, AppError> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        AppError::new(
            crate::ErrorKind::Unavailable,
            format!("cannot listen on {addr} ({flag}): {e}"),
        )
    })
}

/// Serves until `shutdown` completes; `on_ready` gets the bound addresses (a port may be 0).
pub async fn serve(
    app: Arc<App>,
    options: ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    on_ready: impl FnOnce(Listening),
) -> Result<(), AppError> {
    check_bind(&options)?;
    // Before anything listens: a certificate that cannot be used stops `serve` at once.
    let intake_cert = options
        .intake_tls
        .as_ref()
        .map(tls::ServerCert::load)
        .transpose()?;
    let token = token::load_or_create(app.data_dir())?;
    let listener = listen("--bind", options.bind).await?;
    let intake_listener = match options.intake_bind {
        Some(addr) => Some(listen("--intake-bind", addr).await?),
        None => None,
    };
    let local = Listening {
        admin: listener.local_addr().map_err(AppError::internal)?,
        intake: intake_listener
            .as_ref()
            .map(|l| l.local_addr())
            .transpose()
            .map_err(AppError::internal)?,
        intake_tls: intake_cert.is_some(),
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut stop: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    let worker = options.worker.then(|| {
        let app = Arc::clone(&app);
        let stopped = stopped(stop_rx.clone());
        tokio::spawn(async move {
            if let Err(e) = app.run_worker(Duration::from_secs(1), stopped).await {
                tracing::error!("the retry worker stopped: {e}");
            }
        })
    });
    let intake = intake_listener.map(|listener| {
        let router = intake::router(Arc::clone(&app));
        let stopped = stopped(stop_rx.clone());
        tokio::spawn(async move {
            match intake_cert {
                Some(cert) => tls::serve(listener, cert, router, stopped).await,
                None => axum::serve(listener, router)
                    .with_graceful_shutdown(stopped)
                    .await
                    .map_err(|e| {
                        AppError::new(crate::ErrorKind::Unavailable, format!("intake: {e}"))
                    }),
            }
        })
    });
    let mut local = local;
    if let Some(intake) = local.intake {
        let scheme = if local.intake_tls { "https" } else { "http" };
        app.set_intake_url(Some(format!("{scheme}://{intake}/intake/v1/")));
    }
    // Without --intake-bind, the listener's setting decides (and a change applies at once).
    let setting_listener = match options.intake_bind {
        Some(_) => None,
        None => {
            let host = intake_listener::SettingListener::start(&app).await;
            if let Some(url) = app.intake_url() {
                local.intake_tls = url.starts_with("https://");
                local.intake = url
                    .split("://")
                    .nth(1)
                    .and_then(|rest| rest.split('/').next())
                    .and_then(|addr| addr.parse().ok());
            }
            Some(host)
        }
    };
    on_ready(local);
    let jobs = Jobs::default();
    let router = router_with_jobs(Arc::clone(&app), token, jobs.clone());
    let waits = Arc::clone(&app);
    let mut result = axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
            // A live view's long wait for changes would hold the graceful stop up.
            waits.store().stop_change_waits();
        })
        .await
        .map_err(|e| AppError::new(crate::ErrorKind::Unavailable, format!("serve: {e}")));
    if let Some(intake) = intake {
        let served = intake.await.map_err(AppError::internal).and_then(|r| r);
        result = result.and(served);
    }
    if let Some(host) = setting_listener {
        host.stop().await;
    }
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    // A bulk retry still under way finishes recording its attempts before the store closes.
    jobs.wait_running(Duration::from_secs(30)).await;
    result
}

/// The address to open in a browser: the token rides in the fragment, which browsers never
/// send to the server (the UI reads it and drops it from the address bar).
pub fn sign_in_url(addr: SocketAddr, token: &str) -> String {
    format!("http://{addr}/#token={token}")
}

//! `serve` (the web UI and its JSON API) and `token` (the key to them).

use super::output::{Output, print_json};
use crate::error::AppError;
use crate::service::App;
use clap::Args;
use serde_json::json;
use std::sync::Arc;

#[derive(Debug, Args)]
pub(super) struct ServeArgs {
    /// Where to listen; a non-loopback address needs --allow-remote.
    #[arg(long, default_value = "127.0.0.1:7878", value_name = "ADDR:PORT")]
    bind: std::net::SocketAddr,
    /// Also listen for intake (`POST /intake/v1/<source>`, nothing else) on this address,
    /// apart from the admin API; a non-loopback address needs --tls-cert/--tls-key (or
    /// --allow-remote behind a TLS proxy).
    #[arg(long, value_name = "ADDR:PORT")]
    intake_bind: Option<std::net::SocketAddr>,
    /// The intake listener speaks TLS with this certificate chain (PEM, the server's own
    /// first); read again when the file changes. Needs --tls-key.
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<std::path::PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, RSA or EC, unencrypted); read again when
    /// the file changes.
    #[arg(long, value_name = "FILE")]
    tls_key: Option<std::path::PathBuf>,
    /// Listen beyond loopback where the console speaks plain HTTP (put a TLS proxy in front):
    /// --bind, and --intake-bind without --tls-cert.
    #[arg(long)]
    allow_remote: bool,
    /// Do not run automatic retries in this process.
    #[arg(long)]
    no_worker: bool,
}

/// Serves until Ctrl-C, then closes `app`.
pub(super) async fn serve(app: App, args: ServeArgs, out: &Output) -> Result<u8, AppError> {
    let options = crate::http::ServeOptions {
        bind: args.bind,
        allow_remote: args.allow_remote,
        worker: !args.no_worker,
        intake_bind: args.intake_bind,
        intake_tls: intake_tls(args.tls_cert, args.tls_key)?,
    };
    crate::http::check_bind(&options)?;
    let token = crate::http::token::load_or_create(app.data_dir())?;
    let app = Arc::new(app);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let served = crate::http::serve(Arc::clone(&app), options, shutdown, |at| {
        out.serving(&crate::http::sign_in_url(at.admin, &token), at);
    })
    .await;
    app.close().await;
    served.map(|()| 0)
}

/// `--tls-cert` and `--tls-key` go together.
fn intake_tls(
    cert: Option<std::path::PathBuf>,
    key: Option<std::path::PathBuf>,
) -> Result<Option<crate::http::tls::TlsFiles>, AppError> {
    match (cert, key) {
        (Some(cert), Some(key)) => Ok(Some(crate::http::tls::TlsFiles::new(cert, key))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(AppError::invalid(
            "--tls-key",
            "--tls-cert needs --tls-key: the certificate's private key (PEM)",
        )),
        (None, Some(_)) => Err(AppError::invalid(
            "--tls-cert",
            "--tls-key needs --tls-cert: the certificate chain (PEM) the key belongs to",
        )),
    }
}

pub(super) fn token(app: &App, out: &Output) -> Result<u8, AppError> {
    out.token(&crate::http::token::load_or_create(app.data_dir())?);
    Ok(0)
}

impl Output {
    /// The token alone (plain), so that `$(handoff-console token)` works.
    pub(super) fn token(&self, token: &str) {
        if self.is_json() {
            return print_json(&json!({ "token": token }));
        }
        println!("{token}");
    }

    /// Where `serve` listens: the sign-in URL (token in the fragment) on stdout.
    pub(super) fn serving(&self, url: &str, at: crate::http::Listening) {
        let scheme = if at.intake_tls { "https" } else { "http" };
        let intake = at.intake.map(|a| format!("{scheme}://{a}/intake/v1/"));
        if self.is_json() {
            return print_json(&json!({
                "url": url,
                "address": at.admin.to_string(),
                "intake": intake,
            }));
        }
        println!("{url}");
        eprintln!(
            "serving the console on http://{} (Ctrl-C stops); open the URL above",
            at.admin
        );
        if let Some(intake) = intake {
            eprintln!("intake listener: {intake}<source>");
        }
    }
}

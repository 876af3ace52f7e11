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
    /// Listen beyond loopback although the console speaks plain HTTP (put a TLS proxy in
    /// front).
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
    };
    crate::http::check_bind(&options)?;
    let token = crate::http::token::load_or_create(app.data_dir())?;
    let app = Arc::new(app);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let served = crate::http::serve(Arc::clone(&app), options, shutdown, |addr| {
        out.serving(&crate::http::sign_in_url(addr, &token), addr);
    })
    .await;
    app.close().await;
    served.map(|()| 0)
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
    pub(super) fn serving(&self, url: &str, addr: std::net::SocketAddr) {
        if self.is_json() {
            return print_json(&json!({ "url": url, "address": addr.to_string() }));
        }
        println!("{url}");
        eprintln!("serving the console on http://{addr} (Ctrl-C stops); open the URL above");
    }
}

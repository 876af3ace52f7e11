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
    /// apart from the admin API; a non-loopback address needs --allow-remote.
    #[arg(long, value_name = "ADDR:PORT")]
    intake_bind: Option<std::net::SocketAddr>,
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
        intake_bind: args.intake_bind,
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
        let intake = at.intake.map(|a| format!("http://{a}/intake/v1/"));
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

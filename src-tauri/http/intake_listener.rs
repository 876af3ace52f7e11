//! The intake listener as its setting says (`intakeListener`, [`ListenerSettings`]): started at
//! start when it is on, and stopped and started again when the setting changes — for the
//! window, and for a `serve` started without `--intake-bind`. The listener is the same router
//! (`intake::router`) and TLS (`tls`) `--intake-bind` serves.

use super::{intake, tls};
use crate::error::AppError;
use crate::intake::listener::ListenerSettings;
use crate::service::{App, ListenerHost};
use futures_util::future::BoxFuture;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::{Mutex, watch};

/// How long a stopping listener's requests may take to finish.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Runs the intake listener as the setting says. Cheap to clone (one shared state).
#[derive(Clone)]
pub struct SettingListener(Arc<Inner>);

struct Inner {
    /// Weak: the app holds its host.
    app: Weak<App>,
    running: Mutex<Option<Running>>,
}

struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl SettingListener {
    pub fn new(app: &Arc<App>) -> Self {
        Self(Arc::new(Inner {
            app: Arc::downgrade(app),
            running: Mutex::new(None),
        }))
    }

    /// Hosts the listener for `app` and starts it when its setting is on. A setting that cannot
    /// be applied (a port in use) is logged: the rest of the console runs without it.
    pub async fn start(app: &Arc<App>) -> Self {
        let host = Self::new(app);
        if let Err(e) = app.host_intake_listener(Arc::new(host.clone())).await {
            tracing::warn!("the intake listener (its setting) did not start: {e}");
        }
        host
    }

    /// Stops the listener, if it runs (at exit).
    pub async fn stop(&self) {
        let running = self.0.running.lock().await.take();
        if let Some(r) = running {
            let _ = r.stop.send(true);
            let _ = tokio::time::timeout(STOP_GRACE, r.task).await;
        }
        if let Some(app) = self.0.app.upgrade() {
            app.set_intake_url(None);
        }
    }

    async fn apply_now(&self, settings: ListenerSettings) -> Result<Option<String>, AppError> {
        self.stop().await;
        if !settings.enabled {
            return Ok(None);
        }
        let addr = settings.check()?;
        let cert = match (&settings.tls_cert, &settings.tls_key) {
            (Some(cert), Some(key)) => Some(tls::ServerCert::load(&tls::TlsFiles::new(
                cert.trim(),
                key.trim(),
            ))?),
            _ => None,
        };
        let listener = super::listen("bind", addr).await?;
        let local = listener.local_addr().map_err(AppError::internal)?;
        let app = self
            .0
            .app
            .upgrade()
            .ok_or_else(|| AppError::internal("the console is closing"))?;
        let router = intake::router(app);
        let (stop, mut stopped) = watch::channel(false);
        let stopped = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        let tls = cert.is_some();
        let task = tokio::spawn(async move {
            let served = match cert {
                Some(cert) => tls::serve(listener, cert, router, stopped).await,
                None => axum::serve(listener, router)
                    .with_graceful_shutdown(stopped)
                    .await
                    .map_err(|e| AppError::new(crate::ErrorKind::Unavailable, e.to_string())),
            };
            if let Err(e) = served {
                tracing::error!("the intake listener stopped: {e}");
            }
        });
        *self.0.running.lock().await = Some(Running { stop, task });
        let scheme = if tls { "https" } else { "http" };
        tracing::info!(address = %local, "intake listener started (its setting)");
        Ok(Some(format!("{scheme}://{local}/intake/v1/")))
    }
}

impl ListenerHost for SettingListener {
    fn apply(
        &self,
        settings: ListenerSettings,
    ) -> BoxFuture<'static, Result<Option<String>, AppError>> {
        let this = self.clone();
        Box::pin(async move { this.apply_now(settings).await })
    }
}

//! The desktop window (feature `desktop`): a Tauri 2 shell around the same web UI `serve`
//! embeds, talking to the service layer through Tauri commands ([`commands`], generated from the
//! operation list) instead of HTTP.
//! This module owns the window's life: plugins (single instance per workspace, remembered
//! window size and position, notifications), the background work while it is open (due
//! automatic retries, failure notifications) and its orderly stop. docs/desktop.md tells the
//! whole story.

pub mod commands;
pub mod notify;
mod smoke;

use crate::error::AppError;
use crate::service::{App, Console, ExportPlace, Jobs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tauri::{Manager, RunEvent};

/// How often the retry worker looks for retries scheduled by other processes.
const WORKER_POLL: Duration = Duration::from_secs(1);
/// The most the window's exit waits for the background work to wind down.
/// Longer than a delivery's default budget (10 s timeout plus room), so that an attempt started
/// just before closing is still recorded.
const STOP_GRACE: Duration = Duration::from_secs(30);
const MAIN: &str = "main";

pub const NO_DISPLAY: &str = "no display: the window needs a graphical session (DISPLAY or \
    WAYLAND_DISPLAY is unset); run `handoff-console serve` and open the printed URL, or use the \
    commands (`handoff-console --help`)";

/// JavaScriptCore's switch for its JIT compilers, read from the environment by the window's web
/// process (WebKitGTK), which inherits the app's.
pub const JIT_ENV: &str = "JSC_useJIT";

/// Runs the window's JavaScript in JavaScriptCore's interpreter, without its JIT compilers,
/// unless [`JIT_ENV`] is set already (`JSC_useJIT=1` turns them back on). The UI is a form and
/// a paged table, whose scripts run briefly; the JIT's code and compiler threads cost the web
/// process about 8 MB of its idle memory (BENCHMARKS.md, "Desktop window"), and no code is
/// generated at run time in a process that renders clinic data (as in Apple's Lockdown Mode).
///
/// # Safety
/// Sets an environment variable: call it before the process has other threads (the window's
/// command does, before its log and runtime start).
pub unsafe fn interpret_javascript() {
    if std::env::var_os(JIT_ENV).is_none() {
        // SAFETY: the caller guarantees that no other thread reads or writes the environment.
        unsafe { std::env::set_var(JIT_ENV, "0") };
    }
}

/// Whether a window can be shown: on Linux and the BSDs, an X11 or Wayland display.
pub fn display_available() -> bool {
    if cfg!(any(target_os = "windows", target_os = "macos")) {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

/// Where the window's log file lives: `HANDOFF_LOG_DIR`, else the platform's local data dir
/// (`~/.local/share/handoff-console/logs` on Linux); none without a home folder (never the
/// shared temp dir).
pub fn log_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("HANDOFF_LOG_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    dirs::data_local_dir().map(|d| d.join("handoff-console").join("logs"))
}

/// The window's log file (appended; the previous one is kept as `desktop.log.1` once it passes
/// a few MB). Nothing secret is logged anywhere: commands' arguments are never logged.
pub fn open_log_file() -> std::io::Result<(PathBuf, std::fs::File)> {
    let dir = log_dir().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "there is no home folder to keep it in: set HANDOFF_LOG_DIR",
        )
    })?;
    open_log_in(&dir)
}

/// The log file in `dir`. It names integrations and handoffs: its user's alone, like the store.
fn open_log_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    const ROTATE_AT: u64 = 5 * 1024 * 1024;
    // Made private; a folder that exists (HANDOFF_LOG_DIR may name a shared one) is left as
    // it is: the file itself is private.
    crate::files::create_private_dir(dir)?;
    let path = dir.join("desktop.log");
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > ROTATE_AT) {
        let _ = std::fs::rename(&path, dir.join("desktop.log.1"));
    }
    let file = crate::files::private_options()
        .create(true)
        .append(true)
        .open(&path)?;
    crate::files::tighten_open(&file)?;
    Ok((path, file))
}

/// The single-instance D-Bus name's workspace part: one window per data dir, so a second launch
/// on the same workspace focuses the first window while another workspace (a smoke test's
/// temporary one, say) opens its own.
fn instance_id(identifier: &str, data_dir: &Path) -> String {
    use sha2::Digest;
    let dir = data_dir
        .canonicalize()
        .unwrap_or_else(|_| data_dir.to_path_buf());
    let digest = sha2::Sha256::digest(dir.to_string_lossy().as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{identifier}.w{hex}")
}

fn focus_main(app: &tauri::AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// Resolves on Ctrl-C or (Unix) SIGTERM, so that the window closes in order (the worker
/// finishes its attempts, the store is closed) when a terminal or a session manager stops it.
async fn close_on_signal() {
    // A signal that cannot be listened to never resolves (it must not close the window).
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

fn tauri_error(e: tauri::Error) -> AppError {
    AppError::new(
        crate::ErrorKind::Unavailable,
        format!("the window could not start: {e}"),
    )
}

/// Opens the window on `app` and returns when it is closed (the process's exit code). The
/// Tauri event loop runs on this (the main) thread; async work runs on `runtime`.
pub fn run(app: Arc<App>, runtime: &tokio::runtime::Runtime) -> Result<i32, AppError> {
    tauri::async_runtime::set(runtime.handle().clone());
    let smoke = smoke::from_env();
    let context = tauri::generate_context!();
    let identifier = context.config().identifier.clone();
    let single_instance = tauri_plugin_single_instance::Builder::new()
        .callback(|handle, _argv, _cwd| focus_main(handle))
        .dbus_id(instance_id(&identifier, app.data_dir()))
        .build();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let background = Arc::new(std::sync::Mutex::new(Vec::new()));
    let jobs = Jobs::default();

    let setup_app = Arc::clone(&app);
    let setup_background = Arc::clone(&background);
    let setup_smoke = smoke.clone();
    let tauri_app = tauri::Builder::default()
        // First, so that a second launch stops before anything else starts.
        .plugin(single_instance)
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_notification::init())
        // The window writes exports into the user's Downloads folder.
        .manage(Arc::new(Console::new(
            Arc::clone(&app),
            jobs.clone(),
            ExportPlace::Downloads,
        )))
        .invoke_handler(commands::handler(smoke.is_some()))
        .setup(move |tauri_app| {
            let config = tauri_app
                .config()
                .app
                .windows
                .iter()
                .find(|w| w.label == MAIN)
                .cloned()
                .ok_or("tauri.conf.json has no `main` window")?;
            let mut window = tauri::WebviewWindowBuilder::from_config(tauri_app.handle(), &config)?;
            if let Some(smoke) = setup_smoke {
                tracing::info!("smoke mode: the report goes to {}", smoke.report.display());
                tauri_app.add_capability(smoke::CAPABILITY)?;
                window = window.initialization_script(smoke.script());
                tauri_app.manage(smoke);
            }
            window.build()?;

            let worker_app = Arc::clone(&setup_app);
            let mut worker_stop = stop_rx.clone();
            let worker = tauri::async_runtime::spawn(async move {
                let stopped = async move {
                    let _ = worker_stop.wait_for(|s| *s).await;
                };
                if let Err(e) = worker_app.run_worker(WORKER_POLL, stopped).await {
                    tracing::error!("the retry worker stopped: {e}");
                }
            });
            let watcher = tauri::async_runtime::spawn(notify::watch(
                Arc::clone(&setup_app),
                tauri_app.handle().clone(),
                stop_rx.clone(),
            ));
            // The intake listener, when its setting is on (Sources screen); it stops with the
            // rest of the background work.
            let listener_app = Arc::clone(&setup_app);
            let mut listener_stop = stop_rx.clone();
            let listener = tauri::async_runtime::spawn(async move {
                let host =
                    crate::http::intake_listener::SettingListener::start(&listener_app).await;
                let _ = listener_stop.wait_for(|s| *s).await;
                host.stop().await;
            });
            let handle = tauri_app.handle().clone();
            tauri::async_runtime::spawn(async move {
                close_on_signal().await;
                tracing::info!("signal received: closing the window");
                handle.exit(0);
            });
            let mut tasks = setup_background.lock().unwrap_or_else(|e| e.into_inner());
            tasks.extend([worker, watcher, listener]);
            tracing::info!(data_dir = %setup_app.data_dir().display(), "window open");
            Ok(())
        })
        .build(context)
        .map_err(tauri_error)?;

    let code = tauri_app.run_return(|_, event| {
        if let RunEvent::ExitRequested { .. } = event {
            tracing::info!("window closing");
        }
    });

    // The worker finishes the attempts under way (it starts no new batch), then the store is
    // closed by the caller.
    let _ = stop_tx.send(true);
    let tasks = std::mem::take(&mut *background.lock().unwrap_or_else(|e| e.into_inner()));
    runtime.block_on(async {
        let all = futures_util::future::join_all(tasks);
        if tokio::time::timeout(STOP_GRACE, all).await.is_err() {
            tracing::warn!("the background work did not stop within {STOP_GRACE:?}; leaving it");
        }
        // A bulk retry started from the window records its attempts before the store closes.
        jobs.wait_running(STOP_GRACE).await;
    });
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_instance_per_workspace() {
        let a = instance_id("app.x", Path::new("/tmp/a"));
        assert_eq!(a, instance_id("app.x", Path::new("/tmp/a")));
        assert_ne!(a, instance_id("app.x", Path::new("/tmp/b")));
        // A D-Bus name element must not start with a digit.
        assert!(a.starts_with("app.x.w"));
    }

    #[cfg(unix)]
    #[test]
    fn the_log_file_and_its_folder_are_the_users_alone() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("logs");
        let (path, _) = open_log_in(&dir).unwrap();
        assert_eq!((mode(&dir), mode(&path)), (0o700, 0o600));
        // A log an older console left open to others is tightened.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (path, _) = open_log_in(&dir).unwrap();
        assert_eq!(mode(&path), 0o600);
        // A folder HANDOFF_LOG_DIR names that exists keeps its mode; the file is private.
        let shared = root.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
        let (path, _) = open_log_in(&shared).unwrap();
        assert_eq!((mode(&shared), mode(&path)), (0o755, 0o600));
    }
}

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

/// A rectangle on the screen in physical pixels: its top-left corner and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ScreenRect {
    x: i32,
    y: i32,
    width: u32,
    height: u32,
}

impl ScreenRect {
    /// Where a window at `self` moves so that as much of it as can be is inside `area`: its
    /// corner as it is when it fits there, else as far in as it can be (a window larger than
    /// the area starts at the area's corner). `None` when it is inside already.
    fn moved_inside(self, area: ScreenRect) -> Option<(i32, i32)> {
        let place = |at: i32, start: i32, room: u32, size: u32| {
            let last = start.saturating_add(i32::try_from(room.saturating_sub(size)).unwrap_or(0));
            at.clamp(start, last.max(start))
        };
        let corner = (
            place(self.x, area.x, area.width, self.width),
            place(self.y, area.y, area.height, self.height),
        );
        (corner != (self.x, self.y)).then_some(corner)
    }
}

/// The largest content size (logical pixels) for a window on a screen whose work area is
/// `area` (logical), never below the window's minimum size.
fn largest_inner(area: (f64, f64), min: (Option<f64>, Option<f64>)) -> (f64, f64) {
    (
        area.0.max(min.0.unwrap_or(0.0)),
        area.1.max(min.1.unwrap_or(0.0)),
    )
}

/// Keeps the window on its screen. The default size (1280×800) or a size remembered on a larger
/// monitor may not fit the screen the window opens on: on a 1024-px-wide screen the actions
/// column would open off screen. The window-state plugin's restored size reaches the window
/// system after `build` returns, in the same queue as the window's other requests, so the window
/// gets a largest size (the screen's work area, never below its minimum) queued after it; the
/// window system shrinks it to that. Once it has its first size that fits, the largest size is
/// lifted (the user may enlarge the window on another screen) and the window is moved into the
/// work area if it stands out of it. The window-state plugin remembers what it became.
fn fit_to_work_area(window: &tauri::WebviewWindow, min: (Option<f64>, Option<f64>)) {
    let monitor = match window.current_monitor() {
        Ok(Some(m)) => Some(m),
        _ => window.primary_monitor().ok().flatten(),
    };
    let Some(monitor) = monitor else {
        return;
    };
    let work = *monitor.work_area();
    let scale = monitor.scale_factor();
    let area = ScreenRect {
        x: work.position.x,
        y: work.position.y,
        width: work.size.width,
        height: work.size.height,
    };
    let logical = work.size.to_logical::<f64>(scale);
    let largest = largest_inner((logical.width, logical.height), min);
    if let Err(e) = window.set_max_size(Some(tauri::LogicalSize::new(largest.0, largest.1))) {
        tracing::warn!("the window could not be fitted to its screen: {e}");
        return;
    }
    let largest = tauri::LogicalSize::new(largest.0, largest.1).to_physical::<u32>(scale);
    let fitted = std::sync::atomic::AtomicBool::new(false);
    let shown = window.clone();
    window.on_window_event(move |event| {
        let tauri::WindowEvent::Resized(size) = event else {
            return;
        };
        // Rounding may leave the content a pixel over the limit in one direction.
        if size.width > largest.width + 1
            || size.height > largest.height + 1
            || fitted.swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        let placed = (|| -> tauri::Result<Option<(i32, i32)>> {
            shown.set_max_size(None::<tauri::Size>)?;
            let (corner, outer) = (shown.outer_position()?, shown.outer_size()?);
            let outer = ScreenRect {
                x: corner.x,
                y: corner.y,
                width: outer.width,
                height: outer.height,
            };
            let moved = outer.moved_inside(area);
            if let Some((x, y)) = moved {
                shown.set_position(tauri::PhysicalPosition::new(x, y))?;
            }
            Ok(moved)
        })();
        match placed {
            Ok(moved) => tracing::info!(
                "the window fits the screen's work area ({}x{}): {}x{}{}",
                area.width,
                area.height,
                size.width,
                size.height,
                moved
                    .map(|(x, y)| format!(", moved to {x},{y}"))
                    .unwrap_or_default()
            ),
            Err(e) => tracing::warn!("the window could not be fitted to its screen: {e}"),
        }
    });
}

fn tauri_error(e: tauri::Error) -> AppError {
    AppError::new(
        crate::ErrorKind::Unavailable,
        format!("the window could not start: {e}"),
    )
}

/// The console the window's commands call, there once the store and the secrets backend are
/// open. The window opens them beside WebKit's start (which they used to precede), so a command
/// the UI sends in its first moments waits here for them.
#[derive(Clone)]
pub struct ConsoleSlot(tokio::sync::watch::Receiver<Option<Arc<Console>>>);

impl ConsoleSlot {
    /// The console, once open; `unavailable` if it failed to open (the window is closing then).
    pub async fn console(&self) -> Result<Arc<Console>, AppError> {
        let mut opened = self.0.clone();
        let closed = || AppError::unavailable("the store did not open: the window is closing");
        let console = opened
            .wait_for(Option::is_some)
            .await
            .map_err(|_| closed())?;
        console.as_ref().map(Arc::clone).ok_or_else(closed)
    }
}

/// Opens the window on the workspace in `data_dir` and returns when it is closed (the process's
/// exit code). The Tauri event loop runs on this (the main) thread; async work runs on `runtime`.
/// `opening` opens the store and the secrets backend meanwhile: the window and its web process
/// start without waiting for it, the commands and the background work (retry worker, failure
/// notices, intake listener) once it is done. If it fails, the window closes and its error is
/// returned; the store is closed here once the window and its work have stopped.
pub fn run(
    data_dir: &Path,
    opening: tokio::task::JoinHandle<Result<App, AppError>>,
    runtime: &tokio::runtime::Runtime,
) -> Result<i32, AppError> {
    tauri::async_runtime::set(runtime.handle().clone());
    let smoke = smoke::from_env();
    let context = tauri::generate_context!();
    let identifier = context.config().identifier.clone();
    let single_instance = tauri_plugin_single_instance::Builder::new()
        .callback(|handle, _argv, _cwd| focus_main(handle))
        .dbus_id(instance_id(&identifier, data_dir))
        .build();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (console_tx, console_rx) = tokio::sync::watch::channel(None);
    // The task that waits for the store and starts the background work (set in `setup`).
    let starting = Arc::new(std::sync::Mutex::new(None));
    let jobs = Jobs::default();

    let setup_starting = Arc::clone(&starting);
    let setup_jobs = jobs.clone();
    let setup_smoke = smoke.clone();
    let tauri_app = tauri::Builder::default()
        // First, so that a second launch stops before anything else starts.
        .plugin(single_instance)
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_notification::init())
        .manage(ConsoleSlot(console_rx))
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
            if let Some(smoke) = &setup_smoke {
                tracing::info!("smoke mode: the report goes to {}", smoke.report.display());
                tauri_app.add_capability(smoke::CAPABILITY)?;
                window = window.initialization_script(smoke.script());
                tauri_app.manage(smoke.clone());
            }
            let min_size = (config.min_width, config.min_height);
            let window = window.build()?;
            fit_to_work_area(&window, min_size);

            let handle = tauri_app.handle().clone();
            let signal_handle = handle.clone();
            tauri::async_runtime::spawn(async move {
                close_on_signal().await;
                tracing::info!("signal received: closing the window");
                signal_handle.exit(0);
            });
            let (jobs, smoke) = (setup_jobs, setup_smoke);
            let task = tauri::async_runtime::spawn(async move {
                let opened = match opening.await {
                    Ok(opened) => opened,
                    Err(e) => Err(AppError::internal(format!("opening the store: {e}"))),
                };
                let app = match opened {
                    Ok(app) => Arc::new(app),
                    Err(e) => {
                        handle.exit(1);
                        return Err(e);
                    }
                };
                if let Some(smoke) = &smoke {
                    smoke.store_opened();
                }
                // The window writes exports into the user's Downloads folder.
                let console = Console::new(Arc::clone(&app), jobs, ExportPlace::Downloads);
                console_tx.send_replace(Some(Arc::new(console)));
                let tasks = start_background(&app, &handle, &stop_rx);
                tracing::info!(data_dir = %app.data_dir().display(), "window open");
                Ok((app, tasks))
            });
            *setup_starting.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
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
    // closed. A window closed before the store had opened waits for it here (the background
    // work then starts already stopped).
    let _ = stop_tx.send(true);
    let starting = starting.lock().unwrap_or_else(|e| e.into_inner()).take();
    runtime.block_on(async {
        let (app, tasks) = match starting {
            Some(task) => task
                .await
                .map_err(|e| AppError::internal(format!("the window's start: {e}")))??,
            None => return Ok(code),
        };
        let all = futures_util::future::join_all(tasks);
        if tokio::time::timeout(STOP_GRACE, all).await.is_err() {
            tracing::warn!("the background work did not stop within {STOP_GRACE:?}; leaving it");
        }
        // A bulk retry started from the window records its attempts before the store closes.
        jobs.wait_running(STOP_GRACE).await;
        app.close().await;
        Ok(code)
    })
}

/// The work the window does in the background while it is open, each part until `stop`: the
/// retry worker, the failure notices and (when its setting is on) the intake listener.
fn start_background(
    app: &Arc<App>,
    handle: &tauri::AppHandle,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> [tauri::async_runtime::JoinHandle<()>; 3] {
    let worker_app = Arc::clone(app);
    let mut worker_stop = stop.clone();
    let worker = tauri::async_runtime::spawn(async move {
        let stopped = async move {
            let _ = worker_stop.wait_for(|s| *s).await;
        };
        if let Err(e) = worker_app.run_worker(WORKER_POLL, stopped).await {
            tracing::error!("the retry worker stopped: {e}");
        }
    });
    let watcher =
        tauri::async_runtime::spawn(notify::watch(Arc::clone(app), handle.clone(), stop.clone()));
    // The intake listener, when its setting is on (Sources screen).
    let listener_app = Arc::clone(app);
    let mut listener_stop = stop.clone();
    let listener = tauri::async_runtime::spawn(async move {
        let host = crate::http::intake_listener::SettingListener::start(&listener_app).await;
        let _ = listener_stop.wait_for(|s| *s).await;
        host.stop().await;
    });
    [worker, watcher, listener]
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

    fn rect(x: i32, y: i32, width: u32, height: u32) -> ScreenRect {
        ScreenRect {
            x,
            y,
            width,
            height,
        }
    }

    #[test]
    fn a_window_inside_its_screen_stays_where_it_is() {
        let screen = rect(0, 0, 1366, 900);
        assert_eq!(rect(10, 10, 1280, 837).moved_inside(screen), None);
        assert_eq!(rect(86, 63, 1280, 837).moved_inside(screen), None);
    }

    #[test]
    fn a_window_standing_out_of_the_work_area_is_moved_into_it() {
        // 1024x768 with a 32-px panel on top.
        let area = rect(0, 32, 1024, 736);
        // Remembered at a corner that puts it partly off screen, or under the panel.
        assert_eq!(
            rect(300, 200, 1000, 637).moved_inside(area),
            Some((24, 131))
        );
        assert_eq!(rect(10, 0, 1024, 700).moved_inside(area), Some((0, 32)));
        // Larger than the area (at its minimum size): at the area's corner.
        let right = rect(1920, 0, 800, 600);
        assert_eq!(
            rect(1900, -20, 960, 600).moved_inside(right),
            Some((1920, 0))
        );
    }

    #[test]
    fn the_largest_size_is_the_work_area_never_below_the_minimum() {
        let min = (Some(960.0), Some(600.0));
        assert_eq!(largest_inner((1024.0, 736.0), min), (1024.0, 736.0));
        assert_eq!(largest_inner((800.0, 560.0), min), (960.0, 600.0));
        assert_eq!(largest_inner((800.0, 560.0), (None, None)), (800.0, 560.0));
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

//! No command: the desktop window (with the `desktop` feature), on the store that
//! `--data-dir` and `--secrets` choose.

use super::{Cli, EXIT_USAGE};
#[cfg(feature = "desktop")]
use super::{EXIT_FAILED, exit_code, output::Output, runtime};
#[cfg(feature = "desktop")]
use crate::{error::AppError, service::App};
use std::process::ExitCode;

/// No command: the desktop window, when this binary has one and a display exists.
#[cfg(not(feature = "desktop"))]
pub(super) fn window(_cli: Cli) -> ExitCode {
    eprintln!(
        "this handoff-console was built without the desktop window (feature `desktop`): run \
         `handoff-console serve` and open the printed URL, or see `handoff-console --help` for \
         the commands"
    );
    ExitCode::from(EXIT_USAGE)
}

/// No command: the desktop window on the store `--data-dir`/`--secrets` choose, until closed.
#[cfg(feature = "desktop")]
pub(super) fn window(cli: Cli) -> ExitCode {
    let out = Output::new(cli.json);
    if cli.history_file.is_some() {
        out.error(&AppError::invalid(
            "--history-file",
            "the window works on the store; read a history file with history, handoffs, stats, \
             show-attempt or audit",
        ));
        return ExitCode::from(EXIT_USAGE);
    }
    if !crate::desktop::display_available() {
        eprintln!("{}", crate::desktop::NO_DISPLAY);
        return ExitCode::from(EXIT_USAGE);
    }
    // SAFETY: nothing has started a thread yet (the log's writer and the runtime come next).
    unsafe { crate::desktop::interpret_javascript() };
    let log_file = match crate::desktop::open_log_file() {
        Ok((_, file)) => Some(file),
        Err(e) => {
            let place = crate::desktop::log_dir()
                .map(|d| format!(" in {}", d.display()))
                .unwrap_or_default();
            eprintln!("warning: no log file{place}: {e}");
            None
        }
    };
    // The window's log says at least what it did (opened, closed, retried, notified).
    super::logging::init_logging(cli.verbose.max(1), log_file);
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let data_dir = match cli
        .data_dir
        .map_or_else(crate::service::default_data_dir, Ok)
    {
        Ok(dir) => dir,
        Err(e) => {
            out.error(&e);
            return ExitCode::from(exit_code(&e));
        }
    };
    // A flag or setting that names no store or backend is refused before the window opens;
    // then they open on the runtime while the window and its web process start (the commands
    // wait for them), so WebKit's start does not wait for the store's.
    let choice = match App::choose(&data_dir, cli.secrets, cli.store.as_deref()) {
        Ok(choice) => choice,
        Err(e) => {
            out.error(&e);
            return ExitCode::from(exit_code(&e));
        }
    };
    let opening = {
        let data_dir = data_dir.clone();
        runtime.spawn(async move { App::open_choice(&data_dir, choice).await })
    };
    let result = crate::desktop::run(&data_dir, opening, &runtime);
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(EXIT_FAILED)),
        Err(e) => {
            tracing::error!("{e}");
            out.error(&e);
            ExitCode::from(exit_code(&e))
        }
    }
}
